"""Reading a quotas file: ours (quotas.csv) and Salesforce's ForecastingQuota.csv through the shipped Data
Export mapping, rows left out and counted, and the one-line errors a quotas file can give."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.data import load_crm, load_mapping
from core.data.synthetic import generate_crm
from core.data.synthetic_quotas import synthetic_quotas
from core.errors import DataContractError
from core.forecast.quotas import quarter_targets, unmatched_owners
from models.generate import write_crm
from tests.conftest import VALID_FILES, write_export

ROOT = Path(__file__).resolve().parents[3]
DATA_EXPORT = ROOT / "dataset" / "mappings" / "salesforce-data-export.toml"


@pytest.fixture(scope="module")
def generated():
    return generate_crm(n_deals=1500, seed=5)


def _items(crm) -> dict[str, object]:
    return {item.code: item for item in crm.quality.items}


def test_our_quotas_file_rolls_up_to_the_managers_quotas(generated, tmp_path: Path) -> None:
    write_crm(generated, tmp_path)
    crm = load_crm(tmp_path)
    written = synthetic_quotas(generated)
    assert len(crm.quotas) == len(written)
    assert crm.quotas["quota"].sum() == pd.to_numeric(written["quota"]).sum()
    quarter = crm.as_of.to_period("Q")
    table = quarter_targets(
        crm.quotas, crm.deals, crm.sales_teams, pd.period_range(quarter, quarter, freq="Q")
    )
    in_quarter = written[written["period_start"].eq(f"{quarter.start_time:%Y-%m-%d}")]
    managers = in_quarter[in_quarter["owner"].isin(generated.sales_teams["manager"])]
    whole = table[table["segment_type"].eq("all")].iloc[0]
    assert whole["target"] == pd.to_numeric(managers["quota"]).sum()
    assert whole["source"] == f"sum of {len(managers)} managers' targets"
    assert unmatched_owners(crm.quotas, crm.deals, crm.sales_teams) == []


def test_salesforce_forecasting_quota_reads_through_the_shipped_mapping(generated, tmp_path: Path) -> None:
    write_crm(generated, tmp_path / "ours")
    write_crm(generated, tmp_path / "sf", "salesforce-data-export")
    ours = load_crm(tmp_path / "ours")
    crm = load_crm(tmp_path / "sf", None, load_mapping(DATA_EXPORT))
    raw = pd.read_csv(tmp_path / "sf" / "ForecastingQuota.csv", dtype=str, encoding="latin-1")
    assert len(crm.quotas) == len(raw)  # monthly rows, owners resolved through User.csv
    assert set(crm.quotas["period_start"].dt.day) == {1}
    quarter = crm.as_of.to_period("Q")
    quarters = pd.period_range(quarter - 1, quarter, freq="Q")
    sf = quarter_targets(crm.quotas, crm.deals, crm.sales_teams, quarters)
    mine = quarter_targets(ours.quotas, ours.deals, ours.sales_teams, quarters)
    for start in sf["period_start"].unique():
        here, there = sf[sf["period_start"].eq(start)], mine[mine["period_start"].eq(start)]
        vp = crm.quotas[
            crm.quotas["owner"].eq("Hélène Laurent")
            & crm.quotas["period_start"].dt.to_period("Q").eq(start.to_period("Q"))
        ]
        whole = here[here["segment_type"].eq("all")].iloc[0]
        assert whole["target"] == vp["quota"].sum() > 0  # three months of the VP of sales' quota
        assert whole["source"] == "quota of Hélène Laurent, to whom every manager reports"
        # the managers' and regions' targets are ours: monthly thirds add up to the quarter's
        for kind in ("manager", "regional_office"):
            assert sorted(here.loc[here["segment_type"].eq(kind), "target"]) == sorted(
                there.loc[there["segment_type"].eq(kind), "target"]
            )
    assert unmatched_owners(crm.quotas, crm.deals, crm.sales_teams) == []


def test_quantity_quotas_are_left_out_and_counted(tmp_path: Path) -> None:
    quotas = "period_start,owner,quota\n2017-01-01,Bob Ray,900\n2017-02-01,Bob Ray,\n2017-03-01,,1,200\n"
    quotas = quotas.replace("1,200", '"1,200"')
    crm = load_crm(write_export(tmp_path, {**VALID_FILES, "quotas.csv": quotas}))
    assert crm.quotas["quota"].tolist() == [900.0, 1200.0]
    assert crm.quotas["owner"].tolist() == ["Bob Ray", ""]
    item = _items(crm)["quota_no_amount"]
    assert (item.file, item.column, item.count, item.action) == ("quotas.csv", "quota", 1, "left out")


def test_several_forecast_types_need_the_mappings_choice(tmp_path: Path) -> None:
    quotas = (
        "period_start,owner,quota,forecast_type\n"
        "2017-01-01,Bob Ray,900,revenue\n2017-01-01,Bob Ray,4,units\n2017-01-01,Anna Snelling,700,revenue\n"
    )
    folder = write_export(tmp_path / "export", {**VALID_FILES, "quotas.csv": quotas})
    with pytest.raises(DataContractError) as caught:
        load_crm(folder)
    assert str(caught.value) == (
        "quotas.csv, column 'forecast_type': quotas of 2 forecast types (revenue, units) would add up twice; "
        "name the one to read as [options] quota_forecast_type in the mapping"
    )
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[options]\nquota_forecast_type = "revenue"\n', encoding="utf-8")
    crm = load_crm(folder, None, load_mapping(mapping))
    assert crm.quotas["quota"].tolist() == [900.0, 700.0]
    assert _items(crm)["quota_other_type"].count == 1
    mapping.write_text('[options]\nquota_forecast_type = "bookings"\n', encoding="utf-8")
    with pytest.raises(DataContractError, match="no quota of the forecast type 'bookings'"):
        load_crm(folder, None, load_mapping(mapping))


def test_quotas_in_another_currency_are_converted(tmp_path: Path) -> None:
    files = {
        **VALID_FILES,
        "quotas.csv": (
            "period_start,owner,quota,currency\n2017-01-01,Bob Ray,920,EUR\n2017-01-01,Anna Snelling,500,\n"
        ),
        "currencies.csv": "currency,rate_to_corporate\nEUR,1.25\n",
    }
    crm = load_crm(write_export(tmp_path, files))
    assert crm.quotas["quota"].tolist() == [1150.0, 500.0]
    files["quotas.csv"] = files["quotas.csv"].replace("EUR", "JPY")
    with pytest.raises(DataContractError) as caught:
        load_crm(write_export(tmp_path / "jpy", files))
    assert str(caught.value).startswith(
        "quotas.csv, column 'currency', row 2: currency 'JPY' has no exchange rate to USD"
    )
