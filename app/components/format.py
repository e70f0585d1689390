"""Formatting for sales leaders: money in the run's currency (€1.2M / €12,345), probabilities as %, and
escaping of data text."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd

from core.money import currency_code, currency_prefix

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$=:])")


@dataclass(frozen=True)
class Money:
    """Amounts in the run's corporate currency (``RunMetadata.currency``), as a sales leader reads them.

    Each page builds one from its run's metadata and hands it to the components that show money, so two
    sessions looking at runs in different currencies never share a setting. USD when a run names none.
    """

    currency: str = "USD"

    @property
    def code(self) -> str:
        """The ISO 4217 code, upper case ("eur " -> "EUR"; blank -> "USD", as older runs read)."""
        return currency_code(self.currency)

    @property
    def prefix(self) -> str:
        """What goes before a number: the symbol ("€") or the code and a space ("CHF ")."""
        return currency_prefix(self.code)

    @property
    def unit(self) -> str:
        """The currency in a label: "€", "CHF"."""
        return self.prefix.strip()

    @property
    def name(self) -> str:
        """The currency named in full: "EUR (€)", "CHF"."""
        return self.code if self.unit == self.code else f"{self.code} ({self.unit})"

    def __call__(self, value: float | None) -> str:
        """€1.2M from a million up, €12,345 below (negative amounts keep their sign); "n/a" for none."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        amount = abs(float(value))
        sign = "-" if float(value) < 0 else ""
        if amount >= 1e9:
            return f"{sign}{self.prefix}{amount / 1e9:,.1f}B"
        if amount >= 1e6:
            return f"{sign}{self.prefix}{amount / 1e6:,.1f}M"
        return self.exact(value)

    def exact(self, value: float) -> str:
        """Whole units however large (€12,345,678), for a figure the reader typed, such as a target."""
        return f"{'-' if float(value) < 0 else ''}{self.prefix}{abs(float(value)):,.0f}"

    def range(self, low: float, high: float) -> str:
        """A range in one unit: €969,111 - €1.3M reads badly, €0.97M - €1.30M does not."""
        return " - ".join(self.pair(low, high))

    def pair(self, first: float, second: float) -> tuple[str, str]:
        """Two amounts read side by side, in one unit: €1.66M and €1.65M, where €1.7M and €1.6M would hide a
        €9,764 move between them."""
        first_text, second_text = self.same_unit(first, second)
        return first_text, second_text

    def same_unit(self, *values: float) -> tuple[str, ...]:
        """Amounts read together, in one unit: the whole quarter's expected €2.10M beside its likely range
        €1.99M - €2.22M, where €2.1M would read as a coarser figure than the range around it."""
        if max((abs(v) for v in values), default=0.0) >= 1e6:
            return tuple(f"{self.prefix}{v / 1e6:,.2f}M" for v in values)
        return tuple(self(v) for v in values)

    @property
    def table_format(self) -> str:
        """printf format of a money column (``st.column_config.NumberColumn``): "€%,.0f" shows €12,345.

        Streamlit's named formats cover only dollar, euro and yen, and its sprintf reads any text before
        the placeholder as a prefix. A negative amount would read "€-2,500"; the money columns the app
        shows are never negative."""
        return f"{self.prefix}%,.0f"

    def hover(self, axis: str = "y") -> str:
        """A Plotly hovertemplate piece for an amount on ``axis``: "€%{y:,.0f}"."""
        return f"{self.prefix}%{{{axis}:,.0f}}"

    @property
    def axis(self) -> dict[str, str]:
        """Plotly axis settings for amounts: the currency before compact ticks (€200k, €1.5M)."""
        return {"tickprefix": self.prefix, "tickformat": "~s"}


def whole_amounts(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with money ``columns`` rounded to whole units, for tables shown with
    :attr:`Money.table_format`: its printf rounds half away from zero (€2,642.50 would show €2,643) while
    :class:`Money` rounds half to even (€2,642), and one deal must not show two amounts on one page."""
    present = [c for c in columns if c in frame.columns]
    return frame.assign(**{c: frame[c].astype(float).round(0) for c in present})


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
    """A feature value as a person reads it: 0.4526036 -> 0.45, 26768.0 -> 26,768; "unknown" for a missing
    one (blank, as the batch step writes it, or NaN), as the driver sentences say it."""
    raw = str(text).strip()
    if raw == "":
        return "unknown"
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


def step_points(value: float) -> str:
    """A step of the deal's path as its driver sentence reads it (the batch step's rule): whole points from
    one point up, one decimal below, "0 pts" for less than 0.05. The waterfall showed -2.5 pts beside a
    driver saying -2 pts for the same step."""
    pts = float(value) * 100
    if abs(pts) < 0.05:
        return "0 pts"
    return f"{pts:+.1f} pts" if abs(pts) < 1 else f"{pts:+.0f} pts"


RATE_WORDS = ("rate", "share", "ratio", "percent", "probability", "change")
_RATE = re.compile(rf"\b({'|'.join(RATE_WORDS)})\b")


def is_rate(feature: str, label: str = "") -> bool:
    """True for a feature read as a percentage (a win rate, a share, the amount's change), as the driver
    sentences read it (``core.explain.drivers``: whole words of the feature and its label)."""
    return bool(_RATE.search(f"{feature} {label}".lower().replace("_", " ")))


def feature_value_as_rate(text: object) -> str:
    """A rate feature's value as a percentage (0.5718 -> 57%), like its driver sentence; other text (and a
    blank) as :func:`feature_value` reads it."""
    try:
        number = float(str(text).strip())
    except ValueError:
        return feature_value(text)
    if math.isnan(number):
        return "unknown"
    return f"{number:.0%}"


TABLE_PLACEHOLDER = "–"  # what a table shows for a missing value (Streamlit's default is "None")
NO_ACCOUNT = "(no account in the CRM)"  # a deal's blank account in a table, as the drill-down heading says


def account_names(accounts: pd.Series) -> pd.Series:
    """Account names for a table: a blank or missing account reads :data:`NO_ACCOUNT`, not an empty cell."""
    names = accounts.astype(object).where(accounts.notna(), "").astype(str)
    return names.where(names.str.strip().ne(""), NO_ACCOUNT)


def md(text: object) -> str:
    """Data text made inert for st.markdown: every Markdown, HTML and LaTeX ($) character is escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


# Codes the batch step writes, in the sales leader's words: the one place every page takes them from.
DATA_FLAGS: dict[str, str] = {
    "blank_account": "no account in the CRM",
    "unknown_account": "account not in the accounts list",
    "unknown_agent": "rep not in the sales-team list",
    "unknown_product": "product not in the product list",
    "product_alias": "product name spelled differently from the product list (corrected)",
    "no_engage_date": "no engage date yet",
    "unlisted_stage": "stage not listed in the column mapping (kept as open)",
    "rep_without_team": "rep without a manager or region in the sales-team list",
}
VALUE_SOURCES: dict[str, str] = {
    "amount": "the deal's amount in the CRM",
    "list_price": "the product's list price less the usual discount on won deals (no amount in the CRM)",
    "median_won_value": "the median value of won deals (no amount or list price in the CRM)",
}
# Data-quality findings (metadata data_quality.items[*].code): (what was found, what was done); an empty
# finding keeps the report's own, which names the rule a rejected row broke, and an empty action the report's
# own, which names the currency amounts were converted to or the encoding a file was read in
QUALITY_FINDINGS: dict[str, tuple[str, str]] = {
    "rejected_row": ("", "left out of every figure; each row and its reason are in rejected_rows.csv"),
    "product_alias": (
        "Product name spelled differently from the product list",
        "corrected to the list's name",
    ),
    "blank_account": ("Open deal with no account in the CRM", "kept; scored without the account's history"),
    "blank_account_closed": (
        "Closed deal with no account in the CRM",
        "kept; its account's history is unknown",
    ),
    "unknown_account": ("Account not in the accounts list", "kept; scored without the account's details"),
    "unknown_sales_agent": ("Rep not in the sales-team list", "kept; manager and region shown as Unknown"),
    "unknown_product": ("Product not in the product list", "kept; value from the amount or past won deals"),
    "prospecting_without_engage_date": (
        "Prospecting deal with no engage date",
        "kept, not scored: no past deal was scored before engagement",
    ),
    "no_product_column": (
        "No product on the deals in this export",
        "product shown as Unknown; values from amounts or past won deals",
    ),
    "unlisted_stage": (
        "Stage the column mapping does not list",
        "kept as an open deal under its own stage name",
    ),
    "undated_prospecting_excluded": (
        "Prospecting deal with no engage date, left out of this past date",
        "its creation date is unknown",
    ),
    "deleted_record": (
        "Record deleted in the CRM, which the export still lists",
        "left out of every figure",
    ),
    "other_currency": ("Deal in another currency than the corporate one", ""),
    "rep_without_team": (
        "Rep in the sales-team list without a manager or region",
        "kept; the missing manager or region shown as Unknown",
    ),
    "closed_before_created": (
        "Deal entered in the CRM after it closed",
        "kept as closed; its age is unknown, so it adds nothing to cycle times",
    ),
    "closed_after_export": (
        "Closed deal dated after the export's date",
        "kept closed as the CRM has it",
    ),
    "report_layout_rows": ("Report title, subtotal or footer rows", "skipped: they are not deals"),
    "not_utf8_file": ("File saved in an older character encoding, not UTF-8", ""),
    "history_unknown_deal": (
        "Field-history row of a deal the export's deal list does not have",
        "left out of every figure",
    ),
    "history_after_close": (
        "Field-history row dated after its deal closed",
        "left out: the deal's close is its last fact",
    ),
    "history_same_day": (
        "Several changes to one deal on the same day in the field history",
        "applied in the order the export lists them",
    ),
    "history_stage_not_in_order": (
        "Stage in the field history that no open deal is in",
        "kept; it has no place in the stage order",
    ),
}


def _readable_code(code: str) -> str:
    """An unknown code made readable rather than shown raw: 'some_new_flag' -> 'some new flag'."""
    return code.replace("_", " ").strip()


def data_flags_text(flags: object) -> str:
    """A deal's data flags ('blank_account;no_engage_date') in words, '' when there are none."""
    if not isinstance(flags, str):
        return ""
    codes = [c.strip() for c in re.split(r"[;|,]", flags) if c.strip()]
    return ", ".join(DATA_FLAGS.get(c, _readable_code(c)) for c in codes)


def data_flags_column(flags: pd.Series) -> pd.Series:
    """:func:`data_flags_text` of a whole column (each distinct value translated once)."""
    return flags.map({value: data_flags_text(value) for value in flags.dropna().unique()})


def value_source_text(source: object) -> str:
    """Where a deal's value comes from ('list_price'), in words."""
    code = str(source or "").strip()
    if not code or code.lower() in ("nan", "none"):
        return "not recorded"
    return VALUE_SOURCES.get(code, _readable_code(code))


def quality_finding(code: str, description: str, action: str) -> tuple[str, str]:
    """A data-quality finding in words: the plain (finding, action) for a known code, else the report's own
    text (which for the stale-deal finding already carries its threshold in days, and for a rejected row
    the rule it broke)."""
    finding, done = QUALITY_FINDINGS.get(code, (description, action))
    return finding or description, done or action
