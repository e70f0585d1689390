"""Data tests on the bundled demo export dataset/: it is the generator's output and passes the contract."""

from __future__ import annotations

import pandas as pd

from core.data import read_crm
from core.data.contract import DEAL_COLUMNS
from core.data.synthetic import generate_crm
from core.data.synthetic_history import with_history
from models.generate import write_crm


def test_dataset_is_the_generators_output(demo_dir, tmp_path) -> None:
    # what `make generate-demo` writes (python -m models.generate --deals 15000 --seed 7 --history)
    write_crm(with_history(generate_crm(n_deals=15_000, seed=7), seed=7), tmp_path)
    for name in (
        "sales_pipeline.csv",
        "deal_history.csv",
        "accounts.csv",
        "products.csv",
        "sales_teams.csv",
        "truth.csv",
    ):
        assert (tmp_path / name).read_bytes() == (demo_dir / name).read_bytes(), name


def test_dataset_loads_cleanly_and_passes_the_contract(demo_dir) -> None:
    crm = read_crm(demo_dir)
    deals = crm.deals
    assert crm.missing_files == () and list(deals.columns) == list(DEAL_COLUMNS)
    assert crm.as_of == pd.Timestamp("2026-08-14") and len(deals) == 15_000
    assert deals["opportunity_id"].is_unique
    assert set(deals["deal_stage"]) == {"Prospecting", "Engaging", "Won", "Lost"}
    closed = deals["deal_stage"].isin(["Won", "Lost"])
    assert deals.loc[closed, "close_date"].notna().all() and deals.loc[~closed, "close_date"].isna().all()
    assert (deals.loc[closed, "close_date"] >= deals.loc[closed, "engage_date"]).all()
    assert deals.loc[deals["is_won"], "close_value"].gt(0).all()
    assert deals["engage_date"].min() >= pd.Timestamp("2024-08-14")
    counts = {item.code: item.count for item in crm.quality.items}
    assert counts["product_alias"] == 1770 and counts["stale_open_deal"] == 292
    assert (crm.quality.n_deals, crm.quality.n_open) == (15_000, 1970)
