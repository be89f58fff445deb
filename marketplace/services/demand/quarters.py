"""Delivery quarters as fleets type them ("2027Q2"), on the solver's ordinals (solver/quarters.py).

The solver owns the one reading of a quarter; here are only what the fleet's pages add to it: the
current quarter by the server clock and the quarters a form suggests.
"""

from __future__ import annotations

from datetime import datetime

from marketplace.services import clock
from solver.quarters import format_quarter, parse_quarter

quarter_of_index = format_quarter


def quarter_index(text: str) -> int:
    """ "2027Q2" -> a number that grows by one per quarter (for windows and comparisons)."""
    index = parse_quarter(text)
    if index is None:
        raise ValueError(f"not a quarter: {text!r}")
    return index


def current_quarter(at: datetime | None = None) -> str:
    at = at or clock.now()
    return f"{at.year}Q{(at.month - 1) // 3 + 1}"


def upcoming_quarters(count: int = 28) -> list[str]:
    """The quarters a fleet may choose from, starting with the current one (for the form's suggestions)."""
    start = quarter_index(current_quarter())
    return [quarter_of_index(start + i) for i in range(count)]
