"""Money, percent and escaping helpers."""

from __future__ import annotations

from app.components.format import md, money, percent, points


def test_money_is_compact_from_a_million() -> None:
    assert money(12345.4) == "$12,345"
    assert money(1_234_567) == "$1.2M"
    assert money(-2500) == "-$2,500"
    assert money(float("nan")) == "n/a"


def test_percent_and_points() -> None:
    assert percent(0.423) == "42%"
    assert percent(0.4236, 1) == "42.4%"
    assert points(-0.042) == "-4.2 pts"


def test_md_makes_markdown_html_and_latex_inert() -> None:
    assert md("**bold**") == r"\*\*bold\*\*"
    assert md("<script>alert(1)</script>") == r"\<script\>alert\(1\)\</script\>"
    assert md("$5 and $6") == r"\$5 and \$6"
