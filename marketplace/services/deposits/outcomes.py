"""The deposit outcome rules: what a withdrawal, the award, a confirmation or a decline and a
cancelled round ask of each deposit, and settling a round or a line by them.

Each rule first records the decision on the deposit (committed), then the gateway is asked, then
its answer applied: a re-run finds the decision and asks the same question; a final deposit is
left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.gateways import GatewayError, share_of
from marketplace.models import Allocation, ConfirmationStatus, DemandLine, DemandStatus, Deposit, Round, RoundPhase
from marketplace.services import access, events
from marketplace.services.access import Actor
from marketplace.services.deposits.holds import execute
from marketplace.services.deposits.ledger import OUT, S, _decide, _lock
from marketplace.services.errors import NotFound


def line_withdrawn(line: DemandLine, actor: Actor | None) -> None:
    """demand.withdraw_line calls this in its transaction: the round's withdrawal rule applies to the deposit."""
    dep = db.session.execute(sa.select(Deposit).where(Deposit.demand_line_id == line.id)).scalar_one_or_none()
    if dep is None:
        return
    _withdrawal_rule(dep)


def _withdrawal_rule(dep: Deposit) -> bool:
    percent = dep.round.withdrawal_forfeit_percent
    if dep.state is S.HELD and percent > 0:
        keep = share_of(dep.held_amount, percent, dep.currency)
        return _decide(dep, OUT.FORFEIT, keep, f"the line was withdrawn ({percent.normalize():f} % forfeit)")
    return _decide(dep, OUT.RELEASE, None, "the line was withdrawn")


def _outcome_rule(dep: Deposit) -> bool:
    """Decide a deposit by its round's outcome, if the round has decided it yet."""
    rnd, line = dep.round, dep.demand_line
    if rnd.phase is RoundPhase.CANCELLED:
        return _decide(dep, OUT.RELEASE, None, "the round was cancelled", overrides=True)
    if line.status is DemandStatus.WITHDRAWN:
        return _withdrawal_rule(dep)
    if rnd.phase is RoundPhase.DRAFT or rnd.phase is RoundPhase.DEMAND_OPEN:
        return False
    if line.status is DemandStatus.DRAFT:
        return _decide(dep, OUT.RELEASE, None, "the line was not committed before demand closed")
    if rnd.phase not in (RoundPhase.AWARDED, RoundPhase.CONTRACTING, RoundPhase.CLOSED):
        return False
    if rnd.published_scenario_id is None:
        return False
    decisions = list(
        db.session.execute(
            sa.select(Allocation.confirmation).where(
                Allocation.scenario_id == rnd.published_scenario_id, Allocation.demand_line_id == line.id
            )
        ).scalars()
    )
    if not decisions:
        return _decide(dep, OUT.RELEASE, None, "the line was not awarded")
    # A supplier that dropped out (services.backups): only what is still live counts, and the fleet loses nothing.
    replaced = not all(d.live for d in decisions)
    if replaced:
        if ConfirmationStatus.OFFERED in decisions and rnd.phase is not RoundPhase.CLOSED:
            return False  # the backup supplier has not answered yet
        decisions = [d for d in decisions if d.live and d is not ConfirmationStatus.OFFERED]
        if not decisions:
            return _decide(dep, OUT.RELEASE, None, "the supplier dropped out and nobody replaced it", overrides=True)
    if ConfirmationStatus.CONFIRMED in decisions:
        if ConfirmationStatus.PENDING in decisions and rnd.phase is not RoundPhase.CLOSED:
            return False
        return _decide(dep, OUT.APPLY, None, "the allocation was confirmed")
    if ConfirmationStatus.PENDING in decisions and rnd.phase is not RoundPhase.CLOSED:
        return False
    # Every allocation declined, or not confirmed by the confirmation deadline (a lapse is a decline).
    if replaced:
        return _decide(dep, OUT.RELEASE, None, "the replacement supply was declined (no forfeit)", overrides=True)
    percent = rnd.decline_forfeit_percent
    if dep.state is not S.HELD or percent == 0:
        return _decide(dep, OUT.RELEASE, None, "the allocation was declined (no forfeit)")
    keep = share_of(dep.held_amount, percent, dep.currency)
    return _decide(dep, OUT.FORFEIT, keep, f"the allocation was declined ({percent.normalize():f} % forfeit)")


@dataclass
class Settlement:
    decided: int = 0
    settled: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def settle_round(round_id: int) -> Settlement:
    """Apply the round's outcome to every deposit it has decided; safe to run again at any time.

    The coordinator side calls this when a round is awarded, closes, or is cancelled (a handler of
    events.RoundMoved enqueues it), and the periodic sweep runs it for rounds with deposits still open.
    """
    result = Settlement()
    ids = (
        db.session.execute(sa.select(Deposit.id).where(Deposit.round_id == round_id).order_by(Deposit.id))
        .scalars()
        .all()
    )
    for deposit_id in ids:
        dep = _lock(deposit_id)
        if _outcome_rule(dep):
            result.decided += 1
        _carried_out_here(deposit_id)  # executed just below, not as separate jobs
        db.session.commit()
    for deposit_id in ids:
        try:
            if execute(deposit_id):
                result.settled.append(deposit_id)
        except GatewayError as exc:
            result.failed[deposit_id] = exc.message
    return result


def settle_line(line_id: int) -> bool:
    """Settle one line's deposit now (after a confirmation or a decline); False if its outcome is not decided yet."""
    dep = db.session.execute(sa.select(Deposit).where(Deposit.demand_line_id == line_id)).scalar_one_or_none()
    if dep is None:
        return False
    dep = _lock(dep.id)
    _outcome_rule(dep)
    _carried_out_here(dep.id)
    db.session.commit()
    return execute(dep.id)


def _carried_out_here(deposit_id: int) -> None:
    """This use case executes the deposit's decided outcome itself: no job needs to after the commit."""
    waiting = events.pending()
    for i, event in enumerate(waiting):
        if isinstance(event, events.DepositDecided) and event.deposit_id == deposit_id:
            waiting[i] = replace(event, settle=False)


def ask_settlement(round_id: int, actor: Actor | None) -> Round:
    """A coordinator asks to settle a round's deposits by its outcome now (a job does it after the commit)."""
    access.require_coordinator(actor)
    rnd = db.session.get(Round, round_id)
    if rnd is None:
        raise NotFound("No such round.")
    events.record(events.SettlementAsked(rnd.id, actor.id if actor else None))
    db.session.commit()
    return rnd


def rounds_to_sweep() -> list[int]:
    """Rounds whose outcome may still owe deposits a move (for the periodic sweep)."""
    return list(
        db.session.execute(
            sa.select(Deposit.round_id)
            .join(Round, Round.id == Deposit.round_id)
            .where(
                sa.or_(
                    # Unpaid once demand closed; held once the round has an outcome.
                    sa.and_(
                        Deposit.state.in_([S.PENDING, S.FAILED]),
                        Round.phase.not_in([RoundPhase.DRAFT, RoundPhase.DEMAND_OPEN]),
                    ),
                    sa.and_(
                        Deposit.state == S.HELD,
                        Round.phase.in_(
                            [RoundPhase.AWARDED, RoundPhase.CONTRACTING, RoundPhase.CLOSED, RoundPhase.CANCELLED]
                        ),
                    ),
                    # A cancelled round gives back even what a withdrawal forfeited.
                    sa.and_(Deposit.state.in_([S.CAPTURED, S.FORFEITED]), Round.phase == RoundPhase.CANCELLED),
                )
            )
            .distinct()
        ).scalars()
    )
