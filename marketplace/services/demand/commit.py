"""Committing draft demand lines: at once, or waiting for a paid deposit when the round asks one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import DemandLine, DemandStatus, Round
from marketplace.services import audit, clock, deposits, events
from marketplace.services.access import Actor
from marketplace.services.demand.queries import locked_open_round, open_round
from marketplace.services.errors import Conflict, ValidationFailed


def payments_on() -> bool:
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def deposit_due(rnd: Round) -> bool:
    """Whether committing a line in this round waits for a paid deposit."""
    return rnd.asks_deposit and payments_on()


@dataclass
class CommitResult:
    committed: list[DemandLine] = field(default_factory=list)
    awaiting_deposit: list[DemandLine] = field(default_factory=list)
    without_deposit: bool = False  # the round asks a deposit but payments are off

    @property
    def vehicles(self) -> int:
        return sum(line.quantity for line in self.committed)


def _chosen_drafts(rnd: Round, line_ids: Iterable[int] | None, actor: Actor, *, lock: bool) -> list[DemandLine]:
    """The actor's draft lines to commit (all when line_ids is None); refused if any chosen one is not."""
    query = sa.select(DemandLine).where(
        DemandLine.round_id == rnd.id,
        DemandLine.organization_id == actor.organization_id,
        DemandLine.status == DemandStatus.DRAFT,
    )
    if line_ids is not None:
        wanted = {int(i) for i in line_ids}
        if not wanted:
            raise ValidationFailed("Choose the lines to commit.")
        query = query.where(DemandLine.id.in_(wanted))
    query = query.order_by(DemandLine.id)
    if lock:
        query = query.with_for_update()
    else:
        query = query.options(joinedload(DemandLine.segment), joinedload(DemandLine.region))
    lines = list(db.session.execute(query).scalars())
    if line_ids is not None and len(lines) != len(wanted):
        # Someone else's id, a withdrawn or an already committed line: say so, commit nothing.
        raise Conflict("Some of the chosen lines are not draft lines of yours: reload the page and choose again.")
    if not lines:
        raise Conflict("There are no draft lines to commit.")
    return lines


@dataclass
class CommitSummary:
    """What committing these lines puts at stake, shown before the fleet commits them."""

    round: Round
    lines: list[DemandLine]
    deposit: Decimal  # to hold on the card, over the lines (0 when the round asks none or payments are off)
    deposit_held: bool  # whether a hold is actually taken (the round asks one and payments are on)

    @property
    def vehicles(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def max_spend(self) -> Decimal:
        """The most the fleet would pay if every vehicle were awarded at its line's maximum unit price."""
        return sum((line.max_unit_price * line.quantity for line in self.lines), Decimal("0"))


def commit_summary(round_id: int, line_ids: Iterable[int] | None, actor: Actor | None) -> CommitSummary:
    """Vehicles, maximum spend and deposit of the lines a fleet is about to commit (nothing changes)."""
    from marketplace.services.deposits import deposit_amount

    rnd = open_round(round_id, actor, doing="commit demand")
    assert actor is not None
    lines = _chosen_drafts(rnd, line_ids, actor, lock=False)
    held = deposit_due(rnd)
    deposit = (
        sum((deposit_amount(rnd, line.quantity) for line in lines), Decimal("0")) if rnd.asks_deposit else Decimal("0")
    )
    return CommitSummary(rnd, lines, deposit, held)


def commit_lines(round_id: int, line_ids: Iterable[int] | None, actor: Actor | None) -> CommitResult:
    """Commit the actor's draft lines (all of them when line_ids is None).

    This is the one place where a line becomes committed. A round that asks no deposit commits
    at once; with payments off a round that asks one commits at once too, marked as such.
    The deposit path (issue 8) plugs in here: with payments on, the lines wait for their deposit
    and the payment gateway's confirmed hold commits them.
    """
    rnd = locked_open_round(round_id, actor, doing="commit demand")
    assert actor is not None
    lines = _chosen_drafts(rnd, line_ids, actor, lock=True)
    result = CommitResult(without_deposit=rnd.asks_deposit and not payments_on())
    if deposit_due(rnd):
        # A hold (PaymentIntent, manual capture) per line; each line commits when Stripe confirms its hold.
        deposits.open_deposits(lines, actor)
        result.awaiting_deposit = lines
        return result
    at = clock.now()
    for line in lines:
        line.status = DemandStatus.COMMITTED
        line.committed_at = at
    result.committed = lines
    summary = f"Committed {len(lines)} demand line(s), {result.vehicles} vehicles"
    summary += " (payments off: committed without a deposit)." if result.without_deposit else "."
    audit.record(
        actor,
        "demand.commit",
        rnd,
        summary=summary,
        before={"status": "draft", "line_ids": [line.id for line in lines]},
        after={"status": "committed", "line_ids": [line.id for line in lines], "deposit": not result.without_deposit},
        round_id=rnd.id,
    )
    events.record(events.DemandCommitted(rnd.id, lines[0].organization_id, tuple(line.id for line in lines)))
    db.session.commit()
    return result
