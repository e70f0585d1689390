"""Formatting for sales leaders: money as $1.2M / $12,345, probabilities as %, and escaping of data text."""

from __future__ import annotations

import math
import re

import pandas as pd

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$=:])")


def money(value: float | None) -> str:
    """$1.2M from a million up, $12,345 below (negative amounts keep their sign)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    sign = "-" if value < 0 else ""
    amount = abs(float(value))
    if amount >= 1e9:
        return f"{sign}${amount / 1e9:,.1f}B"
    if amount >= 1e6:
        return f"{sign}${amount / 1e6:,.1f}M"
    return f"{sign}${amount:,.0f}"


def whole_dollars(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with money ``columns`` rounded to whole dollars, for tables shown with ``format="dollar"``
    and ``step=1``: that display truncates ($2,642.63 shows as $2,642) while :func:`money` rounds ($2,643),
    and one deal must not show two amounts on one page."""
    present = [c for c in columns if c in frame.columns]
    return frame.assign(**{c: frame[c].astype(float).round(0) for c in present})


def money_range(low: float, high: float) -> str:
    """A range in one unit: $969,111 - $1.3M reads badly, $0.97M - $1.30M does not."""
    if max(abs(low), abs(high)) >= 1e6:
        return f"${low / 1e6:,.2f}M - ${high / 1e6:,.2f}M"
    return f"{money(low)} - {money(high)}"


def percent(value: float | None, digits: int = 0) -> str:
    """A fraction as a percentage: 0.423 -> 42%; a tiny non-zero chance reads <1%, not 0%."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    scaled = float(value) * 100
    if digits == 0 and 0 < scaled < 0.5:
        return "<1%"
    if digits == 0 and 99.5 <= scaled < 100:
        return ">99%"
    return f"{scaled:.{digits}f}%"


def feature_value(text: object) -> str:
    """A feature value as a person reads it: 0.4526036 -> 0.45, 26768.0 -> 26,768."""
    raw = str(text).strip()
    try:
        number = float(raw)
    except ValueError:
        return raw
    if math.isnan(number):
        return "unknown"
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:.2f}" if abs(number) < 10 else f"{number:,.1f}"


def points(value: float) -> str:
    """A probability difference in signed percentage points: 0.042 -> +4.2 pts."""
    return f"{float(value) * 100:+.1f} pts"


def md(text: object) -> str:
    """Data text made inert for st.markdown: every Markdown, HTML and LaTeX ($) character is escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")
