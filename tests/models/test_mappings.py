"""--mapping on every command: a generated CRM written as a Salesforce opportunity report
(``core.data.export_formats``: the shipped mapping's columns, US dates, Salesforce stage names and ids)
scores exactly like the same CRM in our own schema (the stage column keeps each CRM's own stage names);
a revintel.toml inside the data folder is used without the flag; the mapping is recorded in the metadata.
Every shipped mapping, end to end, is in test_formats.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from core.data import load_mapping, mapping_for, read_crm
from core.data.export_formats import same_information
from core.data.mapping import DATA_DIR_MAPPING, DEFAULT_MAPPING
from core.data.synthetic import generate_crm
from core.errors import DataContractError
from models.generate import write_crm
from models.inference.predict import main as predict
from models.training.train import main as train
from models.validate import main as validate

SALESFORCE = Path(__file__).resolve().parents[2] / "dataset" / "mappings" / "salesforce-report.toml"
SALESFORCE_STAGES = {"Prospecting": "Prospecting", "Engaging": "Qualification", "Won": "Closed Won"}


def _us_dates(values: pd.Series) -> pd.Series:
    """YYYY-MM-DD to the MM/DD/YYYY of a US Salesforce report (blank stays blank)."""
    parsed = pd.to_datetime(values.replace("", None), format="%Y-%m-%d")
    return parsed.dt.strftime("%m/%d/%Y").fillna("")


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 2,000-deal generated CRM in our schema and as a Salesforce report, with the same information."""
    crm = generate_crm(n_deals=2000, seed=21)
    ours, report = tmp_path_factory.mktemp("ours"), tmp_path_factory.mktemp("salesforce_report")
    write_crm(same_information(crm, "salesforce-report"), ours)
    write_crm(crm, report, "salesforce-report")
    for folder in (ours, report):
        (folder / "truth.csv").unlink()
    return ours, report


def _predict(data: Path, out: Path, *flags: str) -> int:
    return predict(
        [
            "--data-dir",
            str(data),
            "--out-dir",
            str(out / "out"),
            "--model-dir",
            str(out / "models"),
            "--simulations",
            "300",
            "--no-mlflow",
            "--quiet",
            *flags,
        ]
    )


def test_the_mapping_comes_from_the_flag_else_the_data_folder_else_our_schema(tmp_path: Path) -> None:
    assert mapping_for(tmp_path) is DEFAULT_MAPPING
    shutil.copy(SALESFORCE, tmp_path / DATA_DIR_MAPPING)
    beside = mapping_for(tmp_path)
    assert beside.name == "Salesforce report" and beside.source == str(
        (tmp_path / DATA_DIR_MAPPING).resolve()
    )
    (tmp_path / "other.toml").write_text('name = "Other"\n')
    assert mapping_for(tmp_path, tmp_path / "other.toml").name == "Other"  # the flag wins
    with pytest.raises(DataContractError, match=r"^missing.toml: mapping file not found"):
        mapping_for(tmp_path, tmp_path / "missing.toml")


def test_a_salesforce_report_scores_exactly_like_our_schema(exports, tmp_path: Path) -> None:
    ours, report = exports
    same = read_crm(report, load_mapping(SALESFORCE)).deals.drop(columns="stage")
    assert same.equals(read_crm(ours).deals.drop(columns="stage"))
    assert _predict(ours, tmp_path / "ours") == 0
    assert _predict(report, tmp_path / "flag", "--mapping", str(SALESFORCE)) == 0
    for name in ("forecast.csv", "shap_values.csv"):
        assert (tmp_path / "ours" / "out" / name).read_bytes() == (
            tmp_path / "flag" / "out" / name
        ).read_bytes()
    ours_table = pd.read_csv(tmp_path / "ours" / "out" / "latest_predictions.csv", dtype=str)
    mapped = pd.read_csv(tmp_path / "flag" / "out" / "latest_predictions.csv", dtype=str)
    # the same predictions; only the stage column names each deal's stage as its own CRM does
    pd.testing.assert_frame_equal(ours_table.drop(columns="stage"), mapped.drop(columns="stage"))
    assert set(mapped["stage"]) == {"Negotiation/Review", "Qualification", "Prospecting"}
    assert set(ours_table["stage"]) == {"Engaging", "Prospecting"}
    data = json.loads((tmp_path / "flag" / "out" / "predictions_metadata.json").read_text())["data"]
    assert data["mapping"] == "Salesforce report" and data["mapping_file"] == str(SALESFORCE.resolve())
    ours_data = json.loads((tmp_path / "ours" / "out" / "predictions_metadata.json").read_text())["data"]
    assert ours_data["mapping"] == "MavenTech" and ours_data["mapping_file"] == ""


def test_a_revintel_toml_in_the_data_folder_needs_no_flag(exports, tmp_path: Path, capsys) -> None:
    _, report = exports
    folder = tmp_path / "export"
    shutil.copytree(report, folder)
    shutil.copy(SALESFORCE, folder / DATA_DIR_MAPPING)
    assert validate(["--data-dir", str(folder)]) == 0
    assert "(Salesforce report schema)" in capsys.readouterr().out
    assert _predict(folder, tmp_path / "beside") == 0
    metadata = json.loads((tmp_path / "beside" / "out" / "predictions_metadata.json").read_text())
    assert metadata["data"]["mapping"] == "Salesforce report"
    assert metadata["counts"]["open_deals"] == read_crm(folder, load_mapping(SALESFORCE)).quality.n_open
    code = train(
        [
            "--data-dir",
            str(folder),
            "--model-dir",
            str(tmp_path / "trained"),
            "--no-mlflow",
            "--backtest-dates",
            "none",
        ]
    )
    assert code == 0 and (tmp_path / "trained" / "LATEST").exists()


def test_without_its_mapping_a_salesforce_report_is_a_one_line_error(exports, capsys) -> None:
    _, report = exports
    assert validate(["--data-dir", str(report)]) == 2
    assert capsys.readouterr().err.startswith("error: sales_pipeline.csv")


def test_a_report_without_a_product_column_is_scored_with_products_unknown(exports, tmp_path: Path) -> None:
    """Many CRMs have no product per deal: the report loads and scores, every product reads Unknown, and the
    quality report says so."""
    _, report = exports
    folder = tmp_path / "no_product"
    shutil.copytree(report, folder)
    opportunities = pd.read_csv(folder / "opportunities.csv", dtype=str, keep_default_na=False)
    opportunities.drop(columns="Product Name").to_csv(folder / "opportunities.csv", index=False)
    crm = read_crm(folder, load_mapping(SALESFORCE))
    assert set(crm.deals["product"]) == {"Unknown"} and not crm.deals["flag_unknown_product"].any()
    (finding,) = [item for item in crm.quality.items if item.code == "no_product_column"]
    assert finding.count == len(crm.deals)
    assert _predict(folder, tmp_path / "run", "--mapping", str(SALESFORCE)) == 0
    predictions = pd.read_csv(tmp_path / "run" / "out" / "latest_predictions.csv", dtype=str)
    assert set(predictions["product"]) == {"Unknown"} and len(predictions) == crm.quality.n_open
    assert predictions["value_source"].isin(["amount", "median_won_value"]).all()


def test_the_reps_own_call_reaches_the_predictions(exports, tmp_path: Path) -> None:
    """A report's expected close date, forecast category and probability on open deals are kept as the rep's
    call (never outcomes) and written beside the model's numbers."""
    _, report = exports
    folder, without = tmp_path / "with_calls", tmp_path / "without_calls"
    shutil.copytree(report, folder)
    shutil.copytree(report, without)
    opportunities = pd.read_csv(folder / "opportunities.csv", dtype=str, keep_default_na=False)
    open_deals = ~opportunities["Stage"].isin(["Closed Won", "Closed Lost"])
    # the same report without the claims: no forecast category or probability, open deals' close dates blank
    opportunities.drop(columns=["Forecast Category", "Probability (%)"]).assign(
        **{"Close Date": opportunities["Close Date"].where(~open_deals, "")}
    ).to_csv(without / "opportunities.csv", index=False)
    opportunities.loc[open_deals, "Close Date"] = "12/31/2026"
    opportunities["Forecast Category"] = open_deals.map({True: "Best Case", False: ""})
    opportunities["Probability (%)"] = open_deals.map({True: "40", False: ""})
    opportunities.to_csv(folder / "opportunities.csv", index=False)
    assert _predict(folder, tmp_path / "run", "--mapping", str(SALESFORCE)) == 0
    predictions = pd.read_csv(
        tmp_path / "run" / "out" / "latest_predictions.csv", dtype=str, keep_default_na=False
    )
    assert (predictions["rep_close_date"] == "2026-12-31").all()
    assert (predictions["forecast_category"] == "Best Case").all()
    assert (predictions["rep_probability"].astype(float) == 0.4).all()
    # the claims are not outcomes (a rep's future close date never dates the export): the same scores
    assert _predict(without, tmp_path / "plain", "--mapping", str(SALESFORCE)) == 0
    plain = pd.read_csv(
        tmp_path / "plain" / "out" / "latest_predictions.csv", dtype=str, keep_default_na=False
    )
    assert predictions["win_probability"].tolist() == plain["win_probability"].tolist()
    assert (plain["rep_close_date"] == "").all() and (plain["forecast_category"] == "").all()


def test_a_messy_standard_report_runs_through_the_shipped_mapping_unchanged(exports, tmp_path: Path) -> None:
    """One file with the standard report columns only (no product, no enrichment files), a custom stage in
    another language, extra columns the mapping ignores, and deals entered after they closed: scored through
    salesforce-report.toml as shipped, the back-filled deals kept as closed and counted."""
    ours, _ = exports
    pipeline = pd.read_csv(ours / "sales_pipeline.csv", dtype=str, keep_default_na=False)
    folder = tmp_path / "report"
    folder.mkdir()
    stage = pipeline["deal_stage"].map(SALESFORCE_STAGES).fillna("Closed Lost")
    engaging = stage.eq("Qualification")
    stage = stage.where(~(engaging & pipeline.index.to_series().mod(2).eq(0)), "Verhandlung")
    closed = pipeline["deal_stage"].isin(["Won", "Lost"])
    backfilled = closed & pipeline.index.to_series().mod(25).eq(0)
    entered = pd.to_datetime(pipeline["close_date"].replace("", None)) + pd.Timedelta(days=3)
    created = _us_dates(pipeline["engage_date"]).where(~backfilled, entered.dt.strftime("%m/%d/%Y"))
    pd.DataFrame(
        {
            "Opportunity ID": pipeline["opportunity_id"],
            "Opportunity Name": "Deal " + pipeline["opportunity_id"],
            "Account Name": pipeline["account"],
            "Opportunity Owner": pipeline["sales_agent"],
            "Stage": stage,
            "Amount": pipeline["close_value"].where(pipeline["deal_stage"].eq("Won"), ""),
            "Probability (%)": engaging.map({True: "50", False: ""}),
            "Close Date": _us_dates(pipeline["close_date"]),
            "Created Date": created,
            "Type": "New Business",
            "Lead Source": "Web",
            "Forecast Category": engaging.map({True: "Pipeline", False: ""}),
        }
    ).to_csv(folder / "opportunities.csv", index=False)
    assert _predict(folder, tmp_path / "run", "--mapping", str(SALESFORCE)) == 0
    out = tmp_path / "run" / "out"
    assert not (out / "rejected_rows.csv").exists()
    quality = json.loads((out / "predictions_metadata.json").read_text())["data_quality"]["items"]
    counts = {item["code"]: item["count"] for item in quality}
    # the back-filled deals are kept as closed, counted, with their age unknown
    late = backfilled & (entered <= pd.Timestamp(read_crm(ours).export_end))
    assert counts["closed_before_created"] == int(late.sum()) > 0 and counts["no_product_column"] > 0
    assert counts["unlisted_stage"] == int((stage == "Verhandlung").sum())
    predictions = pd.read_csv(out / "latest_predictions.csv", dtype=str, keep_default_na=False)
    assert set(predictions["stage"]) == {"Verhandlung", "Qualification", "Prospecting"}
    assert set(predictions["product"]) == {"Unknown"}


def test_a_formatted_xlsx_report_predicts_exactly_like_its_csv(
    exports, tmp_path: Path, write_report_xlsx
) -> None:
    """The report saved as a Formatted XLSX (title rows, deals grouped by stage with group header and subtotal
    rows, Grand Totals, a footer; dates and amounts as Excel cells) beside the CSV enrichment files gives the
    very predictions of the same report as CSV, and the run's quality report counts the rows it skipped."""
    _, report = exports
    opportunities = pd.read_csv(report / "opportunities.csv", dtype=str, keep_default_na=False)
    opportunities = opportunities.sort_values(
        "Stage", kind="stable"
    )  # as a report grouped by stage lists them
    as_csv, as_xlsx = tmp_path / "csv", tmp_path / "xlsx"
    for folder in (as_csv, as_xlsx):
        shutil.copytree(report, folder, ignore=shutil.ignore_patterns("opportunities.csv"))
    opportunities.to_csv(as_csv / "opportunities.csv", index=False)
    write_report_xlsx(
        as_xlsx / "opportunities.xlsx",
        opportunities,
        dates=("Created Date", "Close Date"),
        numbers=("Amount",),
        title=("Opportunities by Stage", "As of 08/31/2026"),
        group_by="Stage",
        total_of="Amount",
        footer=("Confidential Information - Do Not Distribute",),
    )
    assert _predict(as_csv, tmp_path / "from_csv", "--mapping", str(SALESFORCE)) == 0
    assert _predict(as_xlsx, tmp_path / "from_xlsx", "--mapping", str(SALESFORCE)) == 0
    for name in ("latest_predictions.csv", "forecast.csv", "shap_values.csv"):
        assert (tmp_path / "from_csv" / "out" / name).read_bytes() == (
            tmp_path / "from_xlsx" / "out" / name
        ).read_bytes(), name
    metadata = json.loads((tmp_path / "from_xlsx" / "out" / "predictions_metadata.json").read_text())
    (layout,) = [item for item in metadata["data_quality"]["items"] if item["code"] == "report_layout_rows"]
    stages = opportunities["Stage"].nunique()
    assert (layout["file"], layout["count"]) == ("opportunities.xlsx", 2 + 2 * stages + 1 + 1)
    assert metadata["counts"]["open_deals"] == read_crm(as_csv, load_mapping(SALESFORCE)).quality.n_open
