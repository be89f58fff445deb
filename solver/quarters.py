"""Delivery quarters such as "2027Q2", as ordinal numbers that compare and subtract."""

from __future__ import annotations

import re

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def parse_quarter(text: object) -> int | None:
    """The ordinal of a quarter string (year * 4 + quarter - 1), or None if it is not one."""
    if not isinstance(text, str):
        return None
    m = _QUARTER.match(text)
    if not m:
        return None
    return int(m.group(1)) * 4 + int(m.group(2)) - 1


def format_quarter(ordinal: int) -> str:
    return f"{ordinal // 4}Q{ordinal % 4 + 1}"
