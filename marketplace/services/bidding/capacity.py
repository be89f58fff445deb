"""An OEM's capacity for a round: the most vehicles it can deliver over all its bids and packages.

Stated before the first bid (the award needs one for every supplier that bid), changed while
bids are open, and compared with the bids it must serve.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Bid, BidRevision, Lot, Round, RoundCapacity
from marketplace.services import audit, quarter_rules
from marketplace.services.access import Actor, require_oem
from marketplace.services.bidding.reads import _latest_numbers
from marketplace.services.bidding.writes import _refuse, commit_or_conflict, guarded, open_for_bids
from marketplace.services.errors import Conflict
from marketplace.services.values import CAPACITY_MAX, number_format_of, whole


def capacity_of(rnd: Round, actor: Actor) -> int | None:
    require_oem(actor)
    return db.session.execute(
        sa.select(RoundCapacity.capacity).where(
            RoundCapacity.round_id == rnd.id, RoundCapacity.organization_id == actor.organization_id
        )
    ).scalar_one_or_none()


def _require_capacity(rnd: Round, actor: Actor) -> None:
    if capacity_of(rnd, actor) is None:
        raise Conflict(
            "State your capacity for this round first (the most vehicles you can deliver over all your "
            "bids and packages), then bid."
        )


def set_capacity(round_id: int, value: Any, actor: Actor | None) -> RoundCapacity:
    """State (or change) the most vehicles the OEM can deliver over all its bids and packages in the round."""
    actor = require_oem(actor)
    rnd = open_for_bids(round_id, actor, doing="change your capacity")
    errors: dict[str, str] = {}
    capacity = whole(
        value, errors, "capacity", minimum=0, maximum=CAPACITY_MAX,
        message="must be a whole number of vehicles, 0 or more", fmt=number_format_of(actor),
    )  # fmt: skip
    if capacity is not None:
        refusal = quarter_rules.total_refusal(rnd.id, actor.organization_id, capacity)
        if refusal:
            errors["capacity"] = refusal
    if errors or capacity is None:
        _refuse("The capacity has a problem.", errors)
    assert capacity is not None
    row = db.session.execute(
        sa.select(RoundCapacity)
        .where(RoundCapacity.round_id == rnd.id, RoundCapacity.organization_id == actor.organization_id)
        .with_for_update()
    ).scalar_one_or_none()
    before = {"capacity": row.capacity} if row else None
    if row is None:
        row = RoundCapacity(round_id=rnd.id, organization_id=actor.organization_id, capacity=capacity)
        db.session.add(row)
    row.capacity = capacity
    guarded("capacity", db.session.flush)
    if before != {"capacity": capacity}:
        audit.record(
            actor,
            "bid.capacity",
            row,
            summary=f"Stated a capacity of {capacity} vehicles for the round.",
            before=before,
            after={"capacity": capacity},
            round_id=rnd.id,
        )
    commit_or_conflict("capacity")
    return row


def capacity_warnings(rnd: Round, actor: Actor) -> list[str]:
    """A capacity below what one live bid asks at least: that bid could never be served in full."""
    capacity = capacity_of(rnd, actor)
    if capacity is None:
        return []
    latest = _latest_numbers(rnd, actor)
    # One statement over the revisions that count (not the history, not one lot at a time).
    rows = db.session.execute(
        sa.select(Lot.code, BidRevision.min_quantity)
        .join(Bid, Bid.id == BidRevision.bid_id)
        .join(Lot, Lot.id == Bid.lot_id)
        .join(latest, sa.and_(latest.c.bid_id == BidRevision.bid_id, latest.c.number == BidRevision.number))
        .where(BidRevision.withdrawn.is_(False), BidRevision.min_quantity > capacity)
        .order_by(Bid.id)
    ).all()
    short = [f"{code} (at least {minimum})" for code, minimum in rows]
    if not short:
        return []
    return [
        f"Your capacity of {capacity:,} vehicles is below the minimum quantity of your bids on "
        + ", ".join(short)
        + ": those bids cannot win. Raise the capacity or lower their minimum quantities."
    ]
