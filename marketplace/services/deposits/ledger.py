"""The deposit ledger: its transition table and the one place a deposit changes.

A deposit's state changes only through `_change`, which checks the transition table, writes the
audit entry in the same transaction and does nothing when the deposit is already there (so every
path is idempotent). `_decide` records what the round's outcome asks of a deposit; a job carries
it out at the gateway after the commit.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from marketplace import gateways
from marketplace.extensions import db
from marketplace.filters import count_of
from marketplace.models import DemandStatus, Deposit, DepositOutcome, DepositState, Round, RoundPhase
from marketplace.services import audit, clock, events
from marketplace.services.access import Actor
from marketplace.services.errors import Conflict, NotFound

S = DepositState


OUT = DepositOutcome


# The deposit's transition table: state -> the states it may move to.
TRANSITIONS: dict[DepositState, frozenset[DepositState]] = {
    S.PENDING: frozenset({S.HELD, S.FAILED, S.RELEASED}),
    S.FAILED: frozenset({S.HELD, S.RELEASED}),  # the fleet may try another card
    S.HELD: frozenset({S.CAPTURED, S.FORFEITED, S.RELEASED}),
    S.CAPTURED: frozenset({S.REFUNDED}),
    S.FORFEITED: frozenset({S.REFUNDED}),
    S.RELEASED: frozenset(),
    S.REFUNDED: frozenset(),
}


UNPAID = (S.PENDING, S.FAILED)


def payments_on() -> bool:
    return gateways.payments_on()


def deposit_amount(rnd: Round, quantity: int) -> Decimal:
    """Deposit per vehicle x quantity, exact to the cent."""
    return (rnd.deposit_per_vehicle * quantity).quantize(Decimal("0.01"))


def _lock(deposit_id: int) -> Deposit:
    dep = db.session.execute(sa.select(Deposit).where(Deposit.id == deposit_id).with_for_update()).scalar_one_or_none()
    if dep is None:
        raise NotFound("No such deposit.")
    return dep


def _change(
    dep: Deposit,
    target: DepositState,
    actor: Actor | None,
    *,
    summary: str,
    failure: str | None = None,
    **amounts: Decimal,
) -> bool:
    """Move a deposit to `target` with new amounts, if the table allows it; audit it. False when nothing changed."""
    if target is not dep.state and target not in TRANSITIONS[dep.state]:
        raise Conflict(f"A deposit that is {dep.state.label} cannot become {target.label}.")
    before = dep.amounts()
    dep.state = target
    if failure is not None:
        dep.failure_message = failure[:500]
    for name, value in amounts.items():
        setattr(dep, f"{name}_amount", value)
    if dep.still_held < 0:
        raise Conflict("The deposit's parts would exceed its hold.")  # the check constraint's twin
    after = dep.amounts()
    if after == before:
        return False
    at = clock.now()
    if target is S.HELD and dep.held_at is None:
        dep.held_at = at
    if target.final or target is S.RELEASED:
        dep.settled_at = at
    audit.record(
        actor, f"deposit.{target.value}", dep, summary=summary, before=before, after=after, round_id=dep.round_id
    )
    events.record(events.DepositChanged(dep.id, dep.round_id, dep.organization_id, target.value, at.isoformat()))
    return True


def _commit_line(dep: Deposit, *, release_if_late: bool) -> None:
    """The hold succeeded: the line is committed, if demand is still open (else the hold goes back)."""
    line = dep.demand_line
    if line.status is not DemandStatus.DRAFT:
        if line.status is DemandStatus.WITHDRAWN and release_if_late:
            _decide(dep, OUT.RELEASE, None, "the line was withdrawn before its deposit was held")
        return
    if dep.round.phase is not RoundPhase.DEMAND_OPEN or (
        dep.round.demand_deadline is not None and clock.now() >= dep.round.demand_deadline
    ):
        if release_if_late:
            _decide(dep, OUT.RELEASE, None, "the hold arrived after demand closed, so the line was not committed")
        return
    line.status = DemandStatus.COMMITTED
    line.committed_at = clock.now()
    audit.record(
        None,
        "demand.commit",
        line,
        summary=f"Committed a demand line of {count_of(line.quantity, 'vehicle')}: its deposit of "
        f"{dep.amount} {dep.currency} is held.",
        before={"status": "draft"},
        after={"status": "committed", "deposit_id": dep.id},
        round_id=dep.round_id,
    )
    events.record(events.DemandCommitted(dep.round_id, line.organization_id, (line.id,)))


def _decide(
    dep: Deposit, outcome: DepositOutcome, keep: Decimal | None, reason: str, *, overrides: bool = False
) -> bool:
    """Record what the round's outcome asks of the deposit and schedule it.

    The first decision stands, except that giving everything back (`overrides`, a cancelled
    round) replaces any other.
    """
    if dep.state in (S.RELEASED, S.REFUNDED) or dep.outcome is outcome:
        return False
    if dep.outcome is not None and not overrides:
        return False
    before = dep.outcome.value if dep.outcome else None
    dep.outcome = outcome
    dep.outcome_amount = keep
    dep.outcome_reason = reason[:300]
    audit.record(
        None,
        "deposit.decide",
        dep,
        summary=f"Deposit to {outcome.value}"
        + (f" ({keep} {dep.currency} kept)" if keep is not None else "")
        + f": {reason}.",
        before={"outcome": before},
        after={"outcome": outcome.value, "keep": str(keep) if keep is not None else None},
        round_id=dep.round_id,
    )
    # Carried out at Stripe by a job after the commit (marketplace.handlers).
    events.record(events.DepositDecided(dep.id, dep.round_id, dep.organization_id, outcome.value))
    return True
