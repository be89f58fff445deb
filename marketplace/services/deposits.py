"""Deposits: held when a fleet commits demand, then applied, released, refunded or forfeited by the round's outcome.

One ledger row per demand line (models.deposit). Its state changes only through `_change`,
which checks the transition table, writes the audit entry in the same transaction and does
nothing when the deposit is already there (so every path is idempotent).

Who moves money, and how exactly once:
- `open_deposits` (called by demand.commit_lines) writes a pending deposit, commits, then asks
  the gateway for a hold (a PaymentIntent with manual capture) with an idempotency key made of
  the deposit's `reference` (not its id, which another installation on the same Stripe account
  also has). The line is committed when the hold is confirmed (`apply_payment`).
- Outcome rules (`settle_round`, `settle_line`, `line_withdrawn`) first record the decision on
  the deposit (`outcome`, committed), then ask the gateway with an idempotency key, then apply
  what the gateway answers. A re-run finds the decision and asks the same question; a final
  deposit is left alone.
- Webhooks (`receive_event` + `process_event`) are recorded by event id (a replay is dropped) and
  applied through `apply_payment`, which moves the ledger only forward along the transition
  table with amounts that only grow: arrival order never decides. An event that contradicts the
  ledger (a capture after a release) changes nothing and asks Stripe for the truth (`refresh`).

Nothing here enqueues a job: this module records domain events (services.events) and the
handlers (marketplace.handlers) run the jobs after the commit: `settle_round` when a round is
awarded, closes or is cancelled (RoundMoved) or a coordinator asks (SettlementAsked),
`settle_line` when a fleet confirms or declines an allocation (AllocationDecided), `execute`
for each decided outcome (DepositDecided), `process_event` for each recorded webhook.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from marketplace import gateways
from marketplace.extensions import db
from marketplace.filters import count_of
from marketplace.gateways import GatewayError, Payment, WebhookEvent, from_minor, share_of, to_minor
from marketplace.models import (
    Allocation,
    ConfirmationStatus,
    DemandLine,
    DemandStatus,
    Deposit,
    DepositOutcome,
    DepositState,
    Round,
    RoundPhase,
    StripeEvent,
)
from marketplace.models.deposit import ZERO
from marketplace.services import access, audit, clock, events
from marketplace.services.access import Actor
from marketplace.services.errors import Conflict, NotFound, ValidationFailed

log = logging.getLogger(__name__)
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


# ---------------------------------------------------------------- the one place a deposit changes


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


# ---------------------------------------------------------------- what the gateway says -> the ledger


@dataclass
class Applied:
    changed: bool = False
    conflict: bool = False
    audited: bool = False  # the conflict already has its audit entry
    note: str = ""


def _differs_from_deposit(dep: Deposit, payment: Payment) -> str:
    """How a hold Stripe reports differs from the deposit asked ("" when it is the same money)."""
    if payment.currency.upper() != dep.currency.upper():
        return f"a hold in {payment.currency or 'no currency'} on a deposit in {dep.currency}"
    wanted = gateways.to_minor(dep.amount, dep.currency)
    if payment.amount != wanted:
        return (
            f"a hold of {gateways.from_minor(payment.amount, dep.currency)} {dep.currency} "
            f"on a deposit of {dep.amount} {dep.currency}"
        )
    return ""


def apply_payment(dep: Deposit, payment: Payment, *, source: str) -> Applied:
    """Move the ledger toward what the gateway says about the hold, forward only (see the module docstring).

    Facts only ever add: a hold, a capture, a refund, a release, a failure. A fact the ledger is
    already past changes nothing; one the table cannot reach from here (a capture after a release)
    is a conflict, changes nothing, and is reported.
    """
    cur = dep.currency
    status = payment.status
    result = Applied()
    hold = from_minor(payment.capturable or payment.amount, cur)
    if status == "canceled":
        if dep.state in (*UNPAID, S.HELD):
            result.changed = _change(
                dep,
                S.RELEASED,
                None,
                summary=f"Hold released ({source}): nothing was charged.",
                released=dep.released_amount + dep.still_held,
            )
        elif dep.state is not S.RELEASED:
            result.conflict = True
    elif status in ("requires_capture", "succeeded") and (differs := _differs_from_deposit(dep, payment)):
        # Never "held" for a hold of another amount or currency (1 cent on 1,000.00 USD, or EUR on USD):
        # the line stays uncommitted and people look at it.
        result.conflict = result.audited = True
        audit.record(
            None,
            "deposit.conflict",
            dep,
            summary=f"Stripe reports {differs} ({source}): not counted as held, the line is not committed.",
            after={"stripe_amount": payment.amount, "stripe_currency": payment.currency},
            round_id=dep.round_id,
        )
        return _noted(result, f"hold differs from the deposit: {differs}")
    elif status == "requires_capture":
        if dep.state in UNPAID:
            result.changed = _change(
                dep,
                S.HELD,
                None,
                summary=f"Deposit held on the card ({source}).",
                failure="",
                held=min(hold, dep.amount),
            )
            _commit_line(dep, release_if_late=True)
        elif dep.state is S.RELEASED and dep.held_amount == 0:
            # The release arrived before the hold: it was a hold, released in full.
            result.changed = _change(dep, S.RELEASED, None, summary=f"Hold seen ({source}).", held=hold, released=hold)
    elif status == "succeeded":
        captured = from_minor(payment.captured, cur)
        refunded = from_minor(payment.refunded, cur)
        if dep.state is S.RELEASED:
            result.conflict = True
            return _noted(result, "conflicts with the release")
        if captured <= 0:  # "succeeded" without the amount: ask Stripe rather than guess
            result.conflict = dep.state in (*UNPAID, S.HELD)
            return _noted(result, "capture without an amount")
        if dep.state in UNPAID:  # the capture arrived before the hold: the hold happened first
            _change(dep, S.HELD, None, summary=f"Deposit held on the card ({source}).", held=dep.amount)
            _commit_line(dep, release_if_late=False)
        if dep.state is S.HELD:
            captured = min(captured, dep.held_amount)
            forfeit = dep.outcome is OUT.FORFEIT
            parts: dict[str, Any] = {
                "forfeited" if forfeit else "applied": captured,
                "released": dep.held_amount - captured,
            }
            result.changed = _change(
                dep,
                S.FORFEITED if forfeit else S.CAPTURED,
                None,
                summary=f"{captured} {cur} {'captured as forfeit' if forfeit else 'captured and applied'}"
                + (f", {dep.held_amount - captured} {cur} released" if captured < dep.held_amount else "")
                + f" ({source}).",
                **parts,
            )
        if refunded > dep.refunded_amount and dep.state in (S.CAPTURED, S.FORFEITED, S.REFUNDED):
            more = refunded - dep.refunded_amount
            from_applied = min(more, dep.applied_amount)
            from_forfeited = min(more - from_applied, dep.forfeited_amount)  # never more than was charged
            result.changed = (
                _change(
                    dep,
                    S.REFUNDED,
                    None,
                    summary=f"{from_applied + from_forfeited} {cur} refunded ({source}).",
                    refunded=dep.refunded_amount + from_applied + from_forfeited,
                    applied=dep.applied_amount - from_applied,
                    forfeited=dep.forfeited_amount - from_forfeited,
                )
                or result.changed
            )
    elif status == "requires_payment_method" and payment.failure and dep.state in UNPAID:
        result.changed = _change(
            dep, S.FAILED, None, summary=f"The card was declined: {payment.failure}", failure=payment.failure
        )
    return _noted(result, "")


def _noted(result: Applied, note: str) -> Applied:
    result.note = note or ("changed the ledger" if result.changed else "nothing to change")
    return result


# ---------------------------------------------------------------- opening deposits (committing with a deposit)


def open_deposits(lines: Iterable[DemandLine], actor: Actor | None) -> list[Deposit]:
    """Ask a hold for each draft line's deposit; the lines are committed when their holds succeed.

    Commits the pending deposits before asking Stripe (so a crash leaves a deposit that a retry
    re-asks with the same idempotency key), then commits each PaymentIntent's id. A line that
    already has an unpaid deposit gets that one back.
    """
    gw = gateways.gateway()
    if not gw.enabled:
        raise Conflict("Payments are off: lines commit without a deposit.")
    out: list[Deposit] = []
    for line in lines:
        if not access.owns(actor, line):
            raise NotFound("No such demand line.")
        if line.status is not DemandStatus.DRAFT:
            raise Conflict("Only a draft line waits for a deposit.")
        rnd = line.round
        dep = db.session.execute(sa.select(Deposit).where(Deposit.demand_line_id == line.id)).scalar_one_or_none()
        if dep is None:
            amount = deposit_amount(rnd, line.quantity)
            try:
                to_minor(amount, rnd.currency)
            except ValueError:
                raise ValidationFailed(
                    f"The deposit of {amount} {rnd.currency} cannot be charged: {rnd.currency} has no cents."
                ) from None
            dep = Deposit(
                round_id=rnd.id,
                demand_line_id=line.id,
                organization_id=line.organization_id,
                currency=rnd.currency,
                amount=amount,
                state=S.PENDING,
            )
            db.session.add(dep)
            db.session.flush()
            audit.record(
                actor,
                "deposit.open",
                dep,
                summary=f"Deposit of {amount} {rnd.currency} asked for a line of {count_of(line.quantity, 'vehicle')}.",
                after=dep.amounts() | {"amount": str(amount)},
                round_id=rnd.id,
            )
            db.session.commit()
        elif dep.state not in UNPAID:
            raise Conflict("This line's deposit is already settled.")
        if dep.payment_intent_id is None:
            _ask_hold(dep)
        out.append(dep)
    return out


def _ask_hold(dep: Deposit) -> None:
    payment = gateways.gateway().create_hold(
        amount=to_minor(dep.amount, dep.currency),
        currency=dep.currency,
        metadata={
            "deposit_id": str(dep.id),
            "deposit_reference": dep.reference,
            "demand_line_id": str(dep.demand_line_id),
            "round_id": str(dep.round_id),
        },
        idempotency_key=f"deposit-{dep.reference}-hold",
    )
    dep.payment_intent_id = payment.id
    dep.client_secret = payment.client_secret
    db.session.commit()


def confirm_deposit(deposit_id: int, payment_method: str, actor: Actor | None) -> Deposit:
    """Confirm the hold server-side with a payment method (offline and in tests; the browser uses Stripe.js)."""
    dep = access.own_deposit(actor, deposit_id)
    if dep.state not in UNPAID or dep.payment_intent_id is None:
        raise Conflict("This deposit is not waiting for a card.")
    try:
        payment = gateways.gateway().confirm(
            dep.payment_intent_id,
            payment_method=payment_method,
            idempotency_key=f"deposit-{dep.reference}-confirm-{payment_method}",  # a new card is a new attempt
        )
    except GatewayError as exc:
        if exc.payment is None:
            raise Conflict(f"The payment could not be confirmed: {exc.message}") from None
        payment = exc.payment
    dep = _lock(dep.id)
    apply_payment(dep, payment, source="the confirmation")
    db.session.commit()
    return dep


def refresh(deposit_id: int, actor: Actor | None = None, *, source: str = "checked with Stripe") -> Applied:
    """Ask the gateway for the hold's state and apply it (the pay page's return, a conflict, a coordinator)."""
    dep = _lock(deposit_id)
    if dep.payment_intent_id is None:
        db.session.rollback()
        return Applied(note="no payment yet")
    payment = gateways.gateway().retrieve(dep.payment_intent_id)
    result = apply_payment(dep, payment, source=source)
    db.session.commit()
    return result


# ---------------------------------------------------------------- outcome rules


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


def execute(deposit_id: int) -> bool:
    """Carry out the decided outcome at the gateway and apply its answer. True if the ledger changed.

    Idempotent: a final deposit or an undecided one is left alone; the gateway call carries an
    idempotency key; when the call fails, the gateway's current state is applied instead (it may
    already have done it), and the error is raised only if the deposit is still not settled.
    """
    dep = _lock(deposit_id)
    outcome = dep.outcome
    if outcome is None or dep.state in (S.RELEASED, S.REFUNDED):
        db.session.rollback()
        return False
    gw = gateways.gateway()
    if dep.payment_intent_id is None:  # never got to Stripe: nothing to give back
        changed = _change(dep, S.RELEASED, None, summary="Deposit closed before any payment.")
        db.session.commit()
        return changed
    key = f"deposit-{dep.reference}"
    pi = dep.payment_intent_id
    try:
        if dep.state in UNPAID:
            payment = gw.cancel(pi, idempotency_key=f"{key}-cancel")
        elif dep.state is S.HELD:
            keep = dep.held_amount if outcome is OUT.APPLY else (dep.outcome_amount or ZERO)
            if outcome is OUT.RELEASE or keep <= 0:
                payment = gw.cancel(pi, idempotency_key=f"{key}-cancel")
            else:
                whole = keep >= dep.held_amount
                payment = gw.capture(
                    pi,
                    amount=None if whole else to_minor(keep, dep.currency),
                    idempotency_key=f"{key}-capture",
                )
        elif outcome is OUT.RELEASE and dep.state in (S.CAPTURED, S.FORFEITED):
            # Money was charged (a withdrawal forfeit before the round was cancelled): pay it back.
            # Always the exact amount the ledger says was charged (a default "everything" is the gateway's guess).
            charged = dep.applied_amount + dep.forfeited_amount
            payment = gw.refund(pi, amount=to_minor(charged, dep.currency), idempotency_key=f"{key}-refund")
        else:
            db.session.rollback()
            return False
    except GatewayError as exc:
        db.session.rollback()
        payment = gw.retrieve(pi)
        dep = _lock(deposit_id)
        applied = apply_payment(dep, payment, source="checked with Stripe after an error")
        db.session.commit()
        if dep.state in (S.HELD, *UNPAID) or (outcome is OUT.RELEASE and dep.state in (S.CAPTURED, S.FORFEITED)):
            raise GatewayError(f"deposit {deposit_id}: {exc.message}") from exc
        return applied.changed
    applied = apply_payment(dep, payment, source="the round's outcome")
    db.session.commit()
    return applied.changed


def refund_deposit(deposit_id: int, actor: Actor | None) -> Deposit:
    """A coordinator gives a deposit back: release a hold, refund what was charged."""
    access.require_coordinator(actor, "Only a coordinator can refund a deposit.")
    dep = _lock(deposit_id)
    if dep.state in (S.RELEASED, S.REFUNDED):
        raise Conflict("This deposit has already been given back.")
    if dep.outcome is not OUT.RELEASE:
        before = dep.outcome.value if dep.outcome else None
        dep.outcome, dep.outcome_amount, dep.outcome_reason = OUT.RELEASE, None, "given back by a coordinator"
        audit.record(
            actor,
            "deposit.decide",
            dep,
            summary="A coordinator decided to give the deposit back.",
            before={"outcome": before},
            after={"outcome": OUT.RELEASE.value},
            round_id=dep.round_id,
        )
    db.session.commit()
    execute(deposit_id)
    return db.session.get(Deposit, deposit_id)  # type: ignore[return-value]


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


# ---------------------------------------------------------------- webhooks


def receive_event(event: WebhookEvent) -> StripeEvent | None:
    """Record a verified event; None when it was seen before (a replay changes nothing)."""
    row = StripeEvent(
        event_id=event.id, type=event.type, payment_intent_id=event.payment_intent_id, payload=event.payload
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None
    events.record(events.StripeEventReceived(row.id))  # applied to the ledger by a job after the commit
    db.session.commit()
    return row


def ask_settlement(round_id: int, actor: Actor | None) -> Round:
    """A coordinator asks to settle a round's deposits by its outcome now (a job does it after the commit)."""
    access.require_coordinator(actor)
    rnd = db.session.get(Round, round_id)
    if rnd is None:
        raise NotFound("No such round.")
    events.record(events.SettlementAsked(rnd.id, actor.id if actor else None))
    db.session.commit()
    return rnd


def process_event(event_row_id: int) -> str:
    """Apply one recorded event to the ledger, once: the event row is marked in the same transaction."""
    row = db.session.execute(
        sa.select(StripeEvent).where(StripeEvent.id == event_row_id).with_for_update()
    ).scalar_one_or_none()
    if row is None or row.processed_at is not None:
        db.session.rollback()
        return "already processed"
    from marketplace.gateways.stripe import event_from_payload

    event = event_from_payload(row.payload)
    dep = None
    if event.payment is not None:
        dep = db.session.execute(
            sa.select(Deposit).where(Deposit.payment_intent_id == event.payment.id).with_for_update()
        ).scalar_one_or_none()
        wanted = str(event.payment.metadata.get("deposit_reference", ""))
        if dep is None and wanted:
            # Stripe made the hold but our answer was lost before its id was saved: the metadata names the
            # deposit by its reference (not its id, which another installation on the account also has).
            dep = db.session.execute(
                sa.select(Deposit)
                .where(Deposit.reference == wanted, Deposit.payment_intent_id.is_(None))
                .with_for_update()
            ).scalar_one_or_none()
            if dep is not None:
                dep.payment_intent_id = event.payment.id
    if event.payment is None:
        note = "not about a deposit's hold"
    elif dep is None:
        note = "no deposit has this payment"
    else:
        applied = apply_payment(dep, event.payment, source=f"Stripe event {event.type}")
        note = applied.note
        if applied.conflict and not applied.audited:
            audit.record(
                None,
                "deposit.conflict",
                dep,
                summary=f"Stripe event {event.type} ({event.id}) contradicts the ledger ({dep.state.label}): "
                "nothing changed; asking Stripe for the payment's state.",
                round_id=dep.round_id,
            )
            events.record(events.DepositContradicted(dep.id))  # Stripe is asked in a job after the commit
    row.processed_at = clock.now()
    row.result = note[:300]
    db.session.commit()
    return note


# ---------------------------------------------------------------- reading


# Deposits are named by their line in words (segment, region, window, quantity): loaded with them.
_LINE_IN_WORDS = joinedload(Deposit.demand_line).options(joinedload(DemandLine.segment), joinedload(DemandLine.region))


def deposits_of_round(round_id: int) -> list[Deposit]:
    return list(
        db.session.execute(
            sa.select(Deposit)
            .where(Deposit.round_id == round_id)
            .options(_LINE_IN_WORDS, joinedload(Deposit.organization))
            .order_by(Deposit.id)
        ).scalars()
    )


def round_deposits_query(round_id: int) -> sa.Select:
    """A round's deposits with their fleet and line, for a page of them."""
    return (
        sa.select(Deposit).where(Deposit.round_id == round_id).options(joinedload(Deposit.organization), _LINE_IN_WORDS)
    )


def org_deposits_query(organization_id: int) -> sa.Select:
    """A fleet's deposits in every round, with their round and line, for a page of them."""
    return (
        sa.select(Deposit)
        .where(Deposit.organization_id == organization_id)
        .options(joinedload(Deposit.round), _LINE_IN_WORDS)
    )


def _state_filter(text: str) -> sa.ColumnElement[bool]:
    wanted = [s for s in DepositState if s.value.startswith(text.strip().lower())]
    return Deposit.state.in_(wanted) if wanted else sa.false()


DEPOSIT_SORTS = {
    "deposit": Deposit.id,
    "amount": [Deposit.amount, Deposit.id],
    "state": [Deposit.state, Deposit.id],
}
DEPOSIT_FILTERS = {"state": _state_filter}


def totals_of_query(*where: sa.ColumnElement[bool]) -> Totals:
    """The totals of every deposit matching `where`, summed in SQL by state (not from the page shown)."""
    t = Totals(count_by_state={s.value: 0 for s in DepositState}, amount_by_state={s.value: ZERO for s in DepositState})
    money = (Deposit.amount, Deposit.held_amount, Deposit.applied_amount, Deposit.forfeited_amount,
             Deposit.refunded_amount, Deposit.released_amount)  # fmt: skip
    sums = [sa.func.coalesce(sa.func.sum(c), 0) for c in money]
    rows = db.session.execute(
        sa.select(Deposit.state, sa.func.count(Deposit.id), *sums).where(*where).group_by(Deposit.state)
    ).all()
    for state, count, *sums_of_state in rows:
        amount, held, applied, forfeited, refunded, released = (Decimal(v) for v in sums_of_state)
        t.count_by_state[state.value] += count
        t.amount_by_state[state.value] += amount
        t.asked += amount
        t.held += held
        t.applied += applied
        t.forfeited += forfeited
        t.refunded += refunded
        t.released += released
        t.still_held += held - applied - forfeited - refunded - released
    return t


def deposits_of_org(organization_id: int) -> list[Deposit]:
    return list(
        db.session.execute(
            sa.select(Deposit)
            .where(Deposit.organization_id == organization_id)
            .options(_LINE_IN_WORDS, joinedload(Deposit.round))
            .order_by(Deposit.id.desc())
        ).scalars()
    )


@dataclass
class Totals:
    """Money of a set of deposits; `balanced` checks held = applied + forfeited + refunded + released + still held."""

    count_by_state: dict[str, int] = field(default_factory=dict)
    amount_by_state: dict[str, Decimal] = field(default_factory=dict)
    asked: Decimal = ZERO
    held: Decimal = ZERO
    applied: Decimal = ZERO
    forfeited: Decimal = ZERO
    refunded: Decimal = ZERO
    released: Decimal = ZERO
    still_held: Decimal = ZERO

    @property
    def balanced(self) -> bool:
        return self.held == self.applied + self.forfeited + self.refunded + self.released + self.still_held


def totals(deposits: Iterable[Deposit]) -> Totals:
    t = Totals(count_by_state={s.value: 0 for s in DepositState}, amount_by_state={s.value: ZERO for s in DepositState})
    for dep in deposits:
        t.count_by_state[dep.state.value] += 1
        t.amount_by_state[dep.state.value] += dep.amount
        t.asked += dep.amount
        t.held += dep.held_amount
        t.applied += dep.applied_amount
        t.forfeited += dep.forfeited_amount
        t.refunded += dep.refunded_amount
        t.released += dep.released_amount
        t.still_held += dep.still_held
    return t


def own_deposits_query(actor: Actor) -> sa.Select[Any]:
    """A fleet's own deposits, as a query to page through (the API)."""
    access.require_fleet(actor)
    return access.own_rows(actor, sa.select(Deposit), Deposit)
