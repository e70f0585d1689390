"""How an amount in the corporate currency is written: the symbol a leader knows, else the ISO code."""

from __future__ import annotations

# The corporate currencies a leader knows by their symbol (Unicode CLDR's English symbols); any other ISO 4217
# code reads as the code and a space ("CHF 1.2M"), never as a dollar.
CURRENCY_SYMBOLS: dict[str, str] = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "CN¥",
    "INR": "₹",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "HKD": "HK$",
    "MXN": "MX$",
    "BRL": "R$",
    "KRW": "₩",
}


def currency_code(currency: str | None) -> str:
    """The ISO 4217 code, upper case ("eur " -> "EUR"; blank -> "USD", as older runs read)."""
    return str(currency or "").strip().upper() or "USD"


def currency_prefix(currency: str | None) -> str:
    """What goes before a number: the symbol ("€") or the code and a space ("CHF ")."""
    code = currency_code(currency)
    return CURRENCY_SYMBOLS.get(code, f"{code} ")
