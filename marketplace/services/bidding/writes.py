"""What every bid write shares: the round locked and open for bids, and races turned into messages.

Writes lock the round row (SELECT ... FOR UPDATE) and then the bid or package row, so the bid
deadline, a coordinator closing bids and two submits racing are serialised: revision numbers are
computed inside the lock, and the unique constraints (one bid per lot and OEM, one number per
revision) are the backstop, turned into a Conflict message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from marketplace.models import Round
from marketplace.services import access, clock, rounds
from marketplace.services.access import Actor, require_oem
from marketplace.services.bidding.reads import AWARD_PHASES, P
from marketplace.services.errors import Conflict, ValidationFailed

T = TypeVar("T")


def open_for_bids(round_id: int, actor: Actor, doing: str = "bid") -> Round:
    """The round, locked for this transaction, after its deadlines: refused unless it is in tendering.

    The lock serialises this write with the coordinator's "Close bids" and with the deadline
    move, so a bid is either in before the round closes or refused with a message.
    """
    require_oem(actor)
    rnd = access.visible(actor, rounds.lock(round_id))
    if rnd.phase is not P.TENDERING:
        deadline = rnd.bid_deadline
        if rnd.phase in AWARD_PHASES and deadline is not None and clock.now() >= deadline:
            raise Conflict(
                f"Bids closed at {deadline:%Y-%m-%d %H:%M:%S} UTC (the bid deadline): you cannot {doing} any more. "
                "Nothing was saved."
            )
        rounds.require_phase(rnd, P.TENDERING, doing=doing)
    if rnd.published_pooling_run_id is None:
        raise Conflict("The lots of this round are not published yet.")
    return rnd


def _conflict(what: str) -> Conflict:
    return Conflict(
        f"Another submission of this {what} was saved at the same moment, so this one was not: "
        "reload the page to see what counts now, and submit again if needed."
    )


def commit_or_conflict(what: str) -> None:
    """Commit; a unique constraint that a racing submit hit first becomes a clear message."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _conflict(what) from None


def _next_number(model: Any, key: Any, owner_id: int) -> int:
    highest = db.session.execute(sa.select(sa.func.max(model.number)).where(key == owner_id)).scalar_one_or_none()
    return (highest or 0) + 1


def _refuse(message: str, errors: dict[str, str]) -> None:
    raise ValidationFailed(message, field_errors=errors)


def guarded(what: str, work: Callable[[], T]) -> T:
    """Run a write whose flushes may hit a unique constraint a racing submit took first."""
    try:
        return work()
    except IntegrityError:
        db.session.rollback()
        raise _conflict(what) from None
