"""Lists of delivery quarters as people type them ("2027Q1-2027Q4, 2028Q2"): the quarters a bid or a
package can deliver in. One quarter is read by values.read_quarter; this module reads lists and ranges."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from marketplace.services.values import _SPACES, Invalid, read_quarter

QUARTERS_MAX = 40  # quarters one bid or package can name: ten years of deliveries
_QUARTER_RANGE = re.compile(r"\s*(?:–|—|\.\.|\bto\b)\s*", re.IGNORECASE)


def _quarter_ordinal(quarter: str) -> int:
    return int(quarter[:4]) * 4 + int(quarter[5]) - 1


def _quarter_text(ordinal: int) -> str:
    return f"{ordinal // 4}Q{ordinal % 4 + 1}"


def _quarter_span(part: str) -> list[str]:
    """One item of a quarter list: a quarter, or a range "2027Q1-2027Q4" (also an en dash, "..", "to")."""
    try:
        return [read_quarter(part)]
    except Invalid as single:
        ends = [p for p in _QUARTER_RANGE.split(part) if p]
        if len(ends) != 2:  # "2027Q1-2027Q4": try each hyphen as the range's mark
            splits = [(part[:i], part[i + 1 :]) for i, ch in enumerate(part) if ch == "-"]
            for first, last in splits:
                try:
                    ends = [str(read_quarter(first)), str(read_quarter(last))]
                    break
                except Invalid:
                    continue
            else:
                raise single from None
        first, last = read_quarter(ends[0]), read_quarter(ends[1])
        if _quarter_ordinal(first) > _quarter_ordinal(last):
            raise Invalid(f"the range {first}–{last} ends before it starts: write it as {last}–{first}") from None
        if _quarter_ordinal(last) - _quarter_ordinal(first) >= QUARTERS_MAX:
            raise Invalid(f"names more than {QUARTERS_MAX} quarters: give the quarters you can deliver in") from None
        return [_quarter_text(n) for n in range(_quarter_ordinal(first), _quarter_ordinal(last) + 1)]


def read_quarters(value: Any) -> list[str] | None:
    """The quarters a bid or package can deliver in: "2027Q1-2027Q4, 2028Q2", sorted and distinct.

    Blank is None: any quarter. Items are separated by commas, semicolons or line breaks.
    """
    text = "" if value is None else str(value).translate(_SPACES).strip()
    if not text:
        return None
    if len(text) > 400:
        raise Invalid("is too long: give ranges such as 2027Q1-2027Q4")
    found: set[str] = set()
    for part in re.split(r"[,;\n]+", text):
        if part.strip():
            found.update(_quarter_span(part.strip()))
    if len(found) > QUARTERS_MAX:
        raise Invalid(f"names more than {QUARTERS_MAX} quarters: give the quarters you can deliver in")
    return sorted(found, key=_quarter_ordinal) or None


def quarters_text(quarters: Iterable[str] | None) -> str:
    """A sorted quarter list written back as read_quarters reads it, runs as ranges: "2027Q1 to 2027Q4 with an en dash"."""
    ordinals = sorted(_quarter_ordinal(q) for q in quarters or [])
    runs: list[list[int]] = []
    for n in ordinals:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(_quarter_text(a) if a == b else f"{_quarter_text(a)}–{_quarter_text(b)}" for a, b in runs)
