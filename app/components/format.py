"""Formatting for sales leaders: money as $1.2M / $12,345, probabilities as %, and escaping of data text."""

from __future__ import annotations

import math
import re

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


def percent(value: float | None, digits: int = 0) -> str:
    """A fraction as a percentage: 0.423 -> 42%."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{float(value) * 100:.{digits}f}%"


def points(value: float) -> str:
    """A probability difference in signed percentage points: 0.042 -> +4.2 pts."""
    return f"{float(value) * 100:+.1f} pts"


def md(text: object) -> str:
    """Data text made inert for st.markdown: every Markdown, HTML and LaTeX ($) character is escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")
