"""Reading typed values out of form fields and spreadsheet cells, with a message per problem.

Messages name no field and start in lower case: a form shows them next to the field, a sheet
upload prefixes "row N, column:". Cells arrive as str, int, float or None; a spreadsheet's 12.0
is the 12 that was typed.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

PRICE_MAX = Decimal("1000000000")  # Numeric(14, 2) holds far more; no vehicle costs a billion
QUANTITY_MAX = 100_000


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def whole(
    value: Any,
    errors: dict[str, str],
    name: str,
    *,
    minimum: int,
    maximum: int = QUANTITY_MAX,
    message: str,
) -> int | None:
    """A whole number in [minimum, maximum]; on a problem, errors[name] and None."""
    raw = text(value).replace(",", "").replace("_", "")
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", raw):
        errors[name] = message
        return None
    number = int(raw)
    if number < minimum:
        errors[name] = message
        return None
    if number > maximum:
        errors[name] = f"must be at most {maximum:,}"
        return None
    return number


def amount(value: Any, errors: dict[str, str], name: str, *, currency: str, example: str = "185000") -> Decimal | None:
    """A price above 0, exact to the cent (at most 2 decimals), below PRICE_MAX."""
    # A float cell: repr is the shortest decimal that round-trips, so 0.1 stays 0.1.
    raw = repr(value) if isinstance(value, float) else text(value).replace(",", "").replace("_", "")
    try:
        price = Decimal(raw) if raw else None
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite():
        errors[name] = f"must be an amount in {currency} above 0, such as {example} or {example}.50"
        return None
    if price <= 0:
        errors[name] = f"must be above 0 {currency}"
        return None
    if price.as_tuple().exponent < -2:  # type: ignore[operator]
        errors[name] = "more than 2 decimals: prices are exact to the cent"
        return None
    if price >= PRICE_MAX:
        errors[name] = f"must be below {PRICE_MAX:,} {currency}"
        return None
    return price.quantize(Decimal("0.01"))
