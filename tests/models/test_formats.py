"""Every shipped mapping end to end: one generated CRM written in each CRM's own format
(``python -m models.generate --format``) loads through the shipped mapping, unchanged, as the same deals as
that CRM in our own schema holding the same information (``same_information``: the format's ids and names,
no products, teams or account attributes where the format has none), and scores with the same win
probabilities; the truth written beside it joins on the format's ids."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from core.data import load_mapping, read_crm
from core.data.export_formats import OPPORTUNITY_FIELDS, STAGES, same_information
from core.data.synthetic import generate_crm
from models.evaluation.backtest import main as backtest
from models.generate import main as generate
from models.generate import write_crm
from models.inference.predict import main as predict
from models.training.train import main as train

MAPPINGS = Path(__file__).resolve().parents[2] / "dataset" / "mappings"
FORMATS = ("salesforce-report", "salesforce-data-export", "hubspot")
DEALS, SEED = 2000, 21
# columns that legitimately differ: the CRM's own stage name, the spreadsheet row (deleted rows sit between
# deals in a data export), and the deal's own currency (ours has none; its values are compared converted)
OWN_TO_EACH_CRM = ["stage", "source_row", "deal_currency", "flag_other_currency"]


def _train_and_predict(data: Path, out: Path, *flags: str) -> Path:
    """train.py, then predict.py with that model, both with ``flags``; the out folder. The model's short
    backtest only adds metrics (the fit is the same), so it is skipped to keep this file under a minute."""
    models = ("--model-dir", str(out / "models"), "--no-mlflow")
    assert train(["--data-dir", str(data), *models, "--backtest-dates", "none", *flags]) == 0
    code = predict(
        [
            "--data-dir",
            str(data),
            "--out-dir",
            str(out / "out"),
            *models,
            "--simulations",
            "300",
            "--quiet",
            *flags,
        ]
    )
    assert code == 0
    return out / "out"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Per format: the export the CLI writes, and the same CRM with the same information in our schema."""
    crm = generate_crm(n_deals=DEALS, seed=SEED)
    written = {}
    for fmt in FORMATS:
        export = tmp_path_factory.mktemp(fmt)
        args = ["--deals", str(DEALS), "--seed", str(SEED), "--format", fmt, "--out-dir", str(export)]
        assert generate(args) == 0
        ours = tmp_path_factory.mktemp(f"{fmt}-ours")
        write_crm(same_information(crm, fmt), ours)
        written[fmt] = (export, ours)
    return written


@pytest.fixture(scope="module")
def predictions(folders, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Per format: predict.py's out folder on the export (through its mapping) and on our schema."""
    runs = {}
    for fmt, (export, ours) in folders.items():
        mapping = ("--mapping", str(MAPPINGS / f"{fmt}.toml"))
        runs[fmt] = (
            _train_and_predict(export, tmp_path_factory.mktemp(f"{fmt}-run"), *mapping),
            _train_and_predict(ours, tmp_path_factory.mktemp(f"{fmt}-ours-run")),
        )
    return runs


def _loaded(folders, fmt: str):
    export, ours = folders[fmt]
    return read_crm(export, load_mapping(MAPPINGS / f"{fmt}.toml")), read_crm(ours)


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_export_loads_through_its_shipped_mapping_as_the_same_deals(folders, fmt: str) -> None:
    mapped, ours = _loaded(folders, fmt)
    assert len(mapped.deals) == len(ours.deals) == DEALS
    assert (mapped.export_end, mapped.as_of) == (ours.export_end, ours.as_of)
    left = mapped.deals.drop(columns=OWN_TO_EACH_CRM).sort_values("opportunity_id", ignore_index=True)
    right = ours.deals.drop(columns=OWN_TO_EACH_CRM).sort_values("opportunity_id", ignore_index=True)
    # ids, reps and their teams, accounts, outcome states, dates, values (converted), is_open, is_won, claims
    pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=0, atol=1e-6)
    assert left["is_won"].any() and left["is_open"].any() and left["rep_close_date"].notna().any()
    # the stage column keeps the CRM's own names: closed deals under its won and lost stages
    stages = STAGES[fmt]
    deals = mapped.deals
    assert set(deals["stage"]) == {stage.name for stage in stages.values()}
    assert (deals.loc[deals["deal_stage"].eq("Won"), "stage"] == stages["won"].name).all()
    assert (deals.loc[deals["deal_stage"].eq("Lost"), "stage"] == stages["lost"].name).all()
    open_names = [stages[step].name for step in ("prospecting", "early", "late")]
    assert mapped.stage_order == tuple(open_names)
    assert mapped.currency == "USD"


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_export_scores_exactly_like_our_schema(folders, predictions, fmt: str) -> None:
    mapped_out, ours_out = predictions[fmt]
    mapped = pd.read_csv(mapped_out / "latest_predictions.csv", dtype={"opportunity_id": str})
    ours = pd.read_csv(ours_out / "latest_predictions.csv", dtype={"opportunity_id": str})
    joined = mapped.merge(ours, on="opportunity_id", suffixes=("", "_ours"), validate="one_to_one")
    assert len(joined) == len(mapped) == len(ours) > 100
    assert joined["win_probability"].notna().sum() > 100
    assert (joined["win_probability"] - joined["win_probability_ours"]).abs().max() <= 1e-9
    assert (joined["deal_value"] - joined["deal_value_ours"]).abs().max() <= 1e-6
    # the truth written with the export joins on the ids the predictions carry
    truth = pd.read_csv(folders[fmt][0] / "truth.csv", dtype={"opportunity_id": str})
    assert set(mapped["opportunity_id"]) <= set(truth["opportunity_id"])
    metadata = json.loads((mapped_out / "predictions_metadata.json").read_text())
    assert metadata["currency"] == "USD" and metadata["data"]["mapping_file"].endswith(f"{fmt}.toml")


def test_the_truth_beside_an_export_backs_a_backtest_against_the_true_probabilities(
    folders, tmp_path: Path
) -> None:
    """truth.csv holds the format's ids: every deal scored at a past date has its true probability, also the
    deals the CRM shows open before they were engaged (a CRM dates deals by their creation)."""
    export, _ = folders["salesforce-data-export"]
    args = ["--data-dir", str(export), "--mapping", str(MAPPINGS / "salesforce-data-export.toml")]
    args += ["--as-of-dates", "2026-05-01", "--sections", "win_probability", "--variants", "none"]
    assert backtest([*args, "--out-dir", str(tmp_path)]) == 0
    (row,) = json.loads((tmp_path / "backtest.json").read_text())["win_probability"]["per_as_of"]
    assert row["excluded_not_in_truth"] == 0 and row["n"] > 100
    assert row["oracle"]["auc"] > 0.6 and row["model"]["calibration_error_vs_truth"] < 0.1


def test_the_data_export_is_quoted_latin1_with_18_character_ids(folders) -> None:
    export, _ = folders["salesforce-data-export"]
    raw = (export / "Opportunity.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    lines = raw.decode("latin-1").splitlines()
    assert all(re.fullmatch(r'"[^"]*"(,"[^"]*")*', line) for line in lines)
    table = pd.read_csv(export / "Opportunity.csv", dtype=str, keep_default_na=False, encoding="latin-1")
    assert list(table.columns)[: len(OPPORTUNITY_FIELDS)] == OPPORTUNITY_FIELDS
    for column in ("Id", "OwnerId"):
        assert table[column].str.fullmatch(r"[0-9A-Za-z]{18}").all()
    assert table["AccountId"].str.fullmatch(r"([0-9A-Za-z]{18})?").all() and table["AccountId"].ne("").any()
    for flag in ("IsDeleted", "IsClosed", "IsWon"):
        assert set(table[flag]) == {"0", "1"}
    for column in ("CreatedDate", "LastModifiedDate"):
        assert table[column].str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").all()
    assert set(table["CurrencyIsoCode"]) == {"USD", "EUR", "GBP"}


@pytest.mark.parametrize("fmt", ["salesforce-data-export", "hubspot"])
def test_a_record_was_last_modified_after_its_events_and_never_after_the_export(folders, fmt: str) -> None:
    export, _ = folders[fmt]
    if fmt == "hubspot":
        (path,) = export.glob("hubspot-crm-exports-all-deals-*.csv")
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        created, closed, modified = "Create Date", "Close Date", "Last Modified Date"
        is_closed = table["Is Deal Closed?"].eq("true")
    else:
        table = pd.read_csv(export / "Opportunity.csv", dtype=str, keep_default_na=False, encoding="latin-1")
        created, closed, modified = "CreatedDate", "CloseDate", "LastModifiedDate"
        is_closed = table["IsClosed"].eq("1")
    changed = pd.to_datetime(table[modified])
    events = pd.to_datetime(table[created]).dt.normalize()
    events = events.where(~is_closed, pd.concat([events, pd.to_datetime(table[closed])], axis=1).max(axis=1))
    assert (changed.dt.normalize() >= events).all()
    assert changed.max().normalize() <= pd.Timestamp("2026-08-14") < changed.max() + pd.Timedelta(days=30)


def test_the_data_export_converts_currencies_leaves_deleted_rows_out_and_resolves_ids(folders) -> None:
    export, ours_folder = folders["salesforce-data-export"]
    mapped, ours = _loaded(folders, "salesforce-data-export")
    table = pd.read_csv(export / "Opportunity.csv", dtype=str, keep_default_na=False, encoding="latin-1")
    deleted = table["IsDeleted"].eq("1")
    assert mapped.deleted_rows == int(deleted.sum()) >= 3
    (finding,) = [item for item in mapped.quality.items if item.code == "deleted_record"]
    assert finding.count == int(deleted.sum())
    assert not mapped.deals["opportunity_id"].isin(table.loc[deleted, "Id"]).any()
    # won deals in euros and pounds: their Amount differs from the booked US dollars they load as
    deals = mapped.deals.set_index("opportunity_id")
    foreign_won = table.loc[~deleted & table["IsWon"].eq("1") & table["CurrencyIsoCode"].ne("USD")]
    assert len(foreign_won) > 10
    in_usd = deals.loc[foreign_won["Id"], "close_value"].to_numpy()
    assert (abs(foreign_won["Amount"].astype(float).to_numpy() - in_usd) > 1).all()
    assert (
        abs(in_usd - ours.deals.set_index("opportunity_id").loc[foreign_won["Id"], "close_value"]) < 1e-6
    ).all()
    assert deals["flag_other_currency"].sum() == int((~deleted & table["CurrencyIsoCode"].ne("USD")).sum())
    # stages in StageSortOrder's order, not as first seen or alphabetical
    first_seen = tuple(dict.fromkeys(table.loc[table["IsClosed"].eq("0"), "StageName"]))
    assert mapped.stage_order == ("Qualifizierung", "Angebot", "Verhandlung") != first_seen
    # owners and accounts read as names (some in Latin-1), never as ids; managers are users too
    users = pd.read_csv(export / "User.csv", dtype=str, keep_default_na=False, encoding="latin-1")
    names = set(users["FirstName"] + " " + users["LastName"])
    assert set(mapped.deals["sales_agent"]) <= names
    assert any(not name.isascii() for name in mapped.deals["sales_agent"])
    assert not mapped.deals["account"].str.fullmatch(r"001\w{15}").any()
    assert set(mapped.deals["manager"]) <= names | {"Unknown"} and mapped.deals["manager"].ne("Unknown").any()
    assert set(mapped.accounts["subsidiary_of"]) - {""} <= set(mapped.accounts["account"])
    assert {"deleted_record", "other_currency", "no_product_column"} <= {i.code for i in mapped.quality.items}
    assert not (ours_folder / "products.csv").exists()  # the fair comparison: our schema without products


def test_the_hubspot_export_has_no_products_and_no_teams(folders) -> None:
    export, _ = folders["hubspot"]
    (path,) = export.glob("hubspot-crm-exports-all-deals-*.csv")
    assert path.name == "hubspot-crm-exports-all-deals-2026-08-14.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert set(table["Is Deal Closed?"]) == set(table["Is Closed Won"]) == {"true", "false"}
    assert table["Deal probability"].astype(float).between(0, 1).all()
    assert table["Create Date"].str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}").all()
    mapped, _ = _loaded(folders, "hubspot")
    open_deals = mapped.deals.loc[mapped.deals["is_open"]]
    assert open_deals["rep_probability"].isin([0.2, 0.4, 0.8]).all()
    assert set(mapped.deals["manager"]) == set(mapped.deals["regional_office"]) == {"Unknown"}
    assert set(mapped.deals["product"]) == {"Unknown"}


def test_the_report_writes_us_dates_and_amounts(folders) -> None:
    export, _ = folders["salesforce-report"]
    table = pd.read_csv(export / "opportunities.csv", dtype=str, keep_default_na=False)
    assert table["Created Date"].str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}").all()
    assert table["Amount"].str.contains(",").any() and table["Opportunity ID"].str.len().eq(15).all()
    assert sorted(p.name for p in export.iterdir()) == [
        "accounts.csv",
        "opportunities.csv",
        "products.csv",
        "truth.csv",
        "users.csv",
    ]


def test_an_unknown_format_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    assert generate(["--format", "excel", "--out-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: python -m models.generate: argument --format: invalid")
    assert not any(tmp_path.iterdir())
