"""Closing a round: its published award's allocations still waiting for a fleet's (or a backup OEM's) decision.

Kept apart from `contracting` (which reads and locks rounds) so that `rounds`, which closes a round,
can use it without an import cycle: this module imports no other use-case module.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.filters import count_of, plural
from marketplace.models import Allocation, ConfirmationStatus, Round
from marketplace.services import audit, clock
from marketplace.services.access import Actor


def pending_of(rnd: Round) -> tuple[int, int]:
    """(allocations, vehicles) of the published award still waiting for the fleet's decision."""
    if rnd.published_scenario_id is None:
        return 0, 0
    count, vehicles = db.session.execute(
        sa.select(sa.func.count(Allocation.id), sa.func.coalesce(sa.func.sum(Allocation.quantity), 0)).where(
            Allocation.scenario_id == rnd.published_scenario_id,
            Allocation.confirmation == ConfirmationStatus.PENDING,
        )
    ).one()
    return int(count), int(vehicles)


def decline_pending(rnd: Round, actor: Actor | None, at: datetime, *, reason: str) -> int:
    """Mark every pending allocation of the published award declined (the round is closing); returns how many.

    rounds._move calls this in its transaction; each allocation gets its audit entry with the reason,
    and the deposits follow the declined outcome when the round's settlement runs after the commit.
    """
    if rnd.published_scenario_id is None:
        return 0
    lapse_offers(rnd, actor, reason=reason)  # an unanswered backup offer is a refusal
    pending = db.session.execute(
        sa.select(Allocation)
        .where(
            Allocation.scenario_id == rnd.published_scenario_id,
            Allocation.confirmation == ConfirmationStatus.PENDING,
        )
        .order_by(Allocation.id)
        .with_for_update()
    ).scalars()
    count = 0
    for allocation in pending:
        allocation.confirmation = ConfirmationStatus.DECLINED
        allocation.decided_at = at
        allocation.decided_by_id = actor.id if actor is not None else None
        audit.record(
            actor,
            "allocation.decline",
            allocation,
            round_id=rnd.id,
            summary=f"Treated as declined when the round closed ({allocation.quantity} "
            f"{plural(allocation.quantity, 'vehicle')} for line {allocation.demand_line_id}): {reason}",
            before={"confirmation": "pending"},
            after={"confirmation": "declined", "reason": reason},
        )
        count += 1
    return count


def lapse_offers(rnd: Round, actor: Actor | None, *, reason: str) -> int:
    """Offers still open when the round closes count as refused (rounds' close move, in its transaction)."""
    if rnd.published_scenario_id is None:
        return 0
    open_offers = db.session.execute(
        sa.select(Allocation)
        .where(
            Allocation.scenario_id == rnd.published_scenario_id, Allocation.confirmation == ConfirmationStatus.OFFERED
        )
        .order_by(Allocation.id)
        .with_for_update()
    ).scalars()
    count = 0
    for a in open_offers:
        a.confirmation = ConfirmationStatus.REFUSED
        a.decided_at = clock.now()
        audit.record(
            actor,
            "backup.lapse",
            a,
            round_id=rnd.id,
            summary=f"Backup offer of {count_of(a.quantity, 'vehicle')} for line {a.demand_line_id} not answered "
            f"when the round closed: counted as refused. {reason}",
            before={"confirmation": "offered"},
            after={"confirmation": "refused"},
        )
        count += 1
    return count
