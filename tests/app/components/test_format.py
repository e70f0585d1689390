"""Money, percent and escaping helpers."""

from __future__ import annotations

import pandas as pd

from app.components.format import (
    Money,
    data_flags_column,
    data_flags_text,
    feature_value,
    feature_value_as_rate,
    is_rate,
    md,
    percent,
    points,
    quality_finding,
    step_points,
    value_source_text,
    whole_amounts,
)

USD = Money("USD")


def test_money_is_compact_from_a_million() -> None:
    assert USD(12345.4) == "$12,345"
    assert USD(1_234_567) == "$1.2M"
    assert USD(2_500_000_000) == "$2.5B"
    assert USD(-2500) == "-$2,500"
    assert USD(float("nan")) == "n/a" and USD(None) == "n/a"
    assert Money() == USD  # a run that names no currency reads as dollars


def test_money_names_the_run_currency() -> None:
    euro = Money("EUR")
    assert euro(12345.4) == "€12,345"
    assert euro(1_234_567) == "€1.2M"
    assert euro(-2500) == "-€2,500"
    assert euro.range(969_111, 1_300_000) == "€0.97M - €1.30M"
    assert euro.range(87_230, 198_377) == "€87,230 - €198,377"
    assert euro.exact(12_345_678.4) == "€12,345,678"
    assert (euro.code, euro.unit, euro.name) == ("EUR", "€", "EUR (€)")
    assert Money("GBP")(950) == "£950" and Money("JPY")(1_500_000) == "¥1.5M"
    assert Money("CAD")(12_000) == "CA$12,000" and Money("INR")(12_000) == "₹12,000"
    assert Money(" eur ")(5) == "€5" and Money("")(5) == "$5"


def test_a_currency_without_a_symbol_reads_as_its_code() -> None:
    franc = Money("CHF")
    assert franc(1_234_567) == "CHF 1.2M"
    assert Money("SEK")(12_345) == "SEK 12,345"
    assert franc(-2500) == "-CHF 2,500"
    assert franc.range(87_230, 198_377) == "CHF 87,230 - CHF 198,377"
    assert franc.unit == franc.name == "CHF"


def test_tables_and_charts_carry_the_same_currency() -> None:
    euro, franc = Money("EUR"), Money("CHF")
    assert USD.table_format == "$%,.0f"
    assert euro.table_format == "€%,.0f" and franc.table_format == "CHF %,.0f"
    assert euro.hover() == "€%{y:,.0f}" and franc.hover("x") == "CHF %{x:,.0f}"
    assert euro.axis == {"tickprefix": "€", "tickformat": "~s"}


def test_percent_and_points() -> None:
    assert percent(0.423) == "42%"
    assert percent(0.4236, 1) == "42.4%"
    assert points(-0.042) == "-4.2 pts"


def test_md_makes_markdown_html_and_latex_inert() -> None:
    assert md("**bold**") == r"\*\*bold\*\*"
    assert md("<script>alert(1)</script>") == r"\<script\>alert\(1\)\</script\>"
    assert md("$5 and $6") == r"\$5 and \$6"


def test_ranges_share_a_unit_and_tiny_chances_are_not_zero() -> None:
    assert USD.range(969_111, 1_300_000) == "$0.97M - $1.30M"
    assert USD.range(87_230, 198_377) == "$87,230 - $198,377"
    # the whole quarter's expected, middle estimate and range read in the range's unit: $2.1M beside
    # $1.99M - $2.22M looked coarser than the range around it
    assert USD.same_unit(2_104_306.77, 2_103_813.81, 1_990_362.77, 2_220_624.18) == (
        "$2.10M",
        "$2.10M",
        "$1.99M",
        "$2.22M",
    )
    assert USD.same_unit(902_388.21, 504_846.72) == ("$902,388", "$504,847")
    assert percent(0.0019) == "<1%"
    assert percent(0.0) == "0%"


def test_feature_values_read_like_a_person_wrote_them() -> None:
    assert feature_value("0.4526036994318425") == "0.45"
    assert feature_value("26768.0") == "26,768"
    assert feature_value("finance") == "finance"
    assert feature_value("nan") == "unknown"
    assert feature_value("") == "unknown"  # how the batch step writes a missing value


def test_table_amounts_round_like_the_metrics() -> None:
    frame = pd.DataFrame({"value_at_risk": [2642.63, 10.49, 7.5], "deal": ["a", "b", "c"]})
    shown = whole_amounts(frame, ["value_at_risk", "not_there"])
    assert shown["value_at_risk"].tolist() == [2643.0, 10.0, 8.0]
    assert [USD(v) for v in shown["value_at_risk"]] == [USD(v) for v in frame["value_at_risk"]]
    assert shown["deal"].tolist() == ["a", "b", "c"] and frame["value_at_risk"].iloc[0] == 2642.63


def test_codes_read_as_words() -> None:
    assert data_flags_text("blank_account;no_engage_date") == "no account in the CRM, no engage date yet"
    assert data_flags_text("product_alias|unknown_agent") == (
        "product name spelled differently from the product list (corrected), rep not in the sales-team list"
    )
    assert data_flags_text("a_future_flag") == "a future flag"  # never the raw code
    assert data_flags_text("") == "" and data_flags_text(float("nan")) == ""
    flags = pd.Series(["blank_account", "", "blank_account"])
    assert data_flags_column(flags).tolist() == ["no account in the CRM", "", "no account in the CRM"]
    assert value_source_text("amount") == "the deal's amount in the CRM"
    assert value_source_text("list_price").startswith("the product's list price less the usual discount")
    assert value_source_text(None) == "not recorded"
    assert quality_finding("prospecting_without_engage_date", "raw", "raw action") == (
        "Prospecting deal with no engage date",
        "kept, not scored: no past deal was scored before engagement",
    )
    assert quality_finding("stale_open_deal", "open deal older than ... (301 days)", "flagged stale") == (
        "open deal older than ... (301 days)",
        "flagged stale",
    )
    rule = "row breaks the data contract: close_date '...' is before engage_date"
    assert quality_finding("rejected_row", rule, "set aside in rejected_rows.csv (--drop-invalid)") == (
        rule,  # the rule the row broke stays; the command-line flag does not
        "left out of every figure; each row and its reason are in rejected_rows.csv",
    )


def test_waterfall_steps_read_like_the_driver_sentences() -> None:
    """The waterfall showed -2.5 pts where the driver beside it said -2 pts (same step, -0.024847)."""
    assert step_points(-0.024847) == "-2 pts"
    assert step_points(-0.047236) == "-5 pts"
    assert step_points(0.0041) == "+0.4 pts"
    assert step_points(-0.0003) == "0 pts"  # not "-0.0 pts"


def test_rates_read_as_percentages() -> None:
    """A win rate of 0.5718 read "0.57" in the waterfall and "57%" in the driver sentence."""
    assert is_rate("rep_win_rate", "rep's win rate")
    assert is_rate("rep_stalled_share", "share of the rep's deals still open 90 days after engagement")
    assert not is_rate("account_revenue", "account's revenue")
    assert is_rate("amount_change", "change of the amount since it was first entered")  # "up 7%"
    assert not is_rate("stage_regressions", "times the deal went back a stage")  # whole words: no "rate"
    assert is_rate("rep_probability", "rep's probability")
    assert feature_value_as_rate("0.5718580171867369") == "57%"
    assert feature_value_as_rate("nan") == "unknown"
    assert feature_value_as_rate(" ") == "unknown"
    assert feature_value_as_rate("GTX") == "GTX"
