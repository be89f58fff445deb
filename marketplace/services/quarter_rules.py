"""The rule that keeps an OEM's capacities by quarter consistent with its round total (no imports of
other services: both the total's form (bidding) and the quarters' form (quarter_capacity) check it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import QuarterCapacity


def shortfall(rows: Sequence[Any], total: int | None) -> int | None:
    """The quarters' sum when every stated quarter is capped over all segments and the sum is below the total.

    Rows have .quarter, .segment_id (None: all segments) and .capacity.
    """
    if total is None or not rows:
        return None
    quarters = {r.quarter for r in rows}
    overall = {r.quarter: r.capacity for r in rows if r.segment_id is None}
    if set(overall) != quarters:
        return None  # a quarter capped only by segment: its other segments are not capped, nothing to add up
    summed = sum(overall.values())
    return summed if summed < total else None


def total_refusal(round_id: int, organization_id: int, total: int) -> str | None:
    """Why a new round total does not fit the quarters stated (the total's form refuses it), or None."""
    rows = db.session.execute(
        sa.select(QuarterCapacity).where(
            QuarterCapacity.round_id == round_id, QuarterCapacity.organization_id == organization_id
        )
    ).scalars()
    short = shortfall(list(rows), total)
    if short is None:
        return None
    return (
        f"must be at most {short:,}: your capacities by quarter add up to {short:,} vehicles "
        "(raise them first to state a larger total)"
    )
