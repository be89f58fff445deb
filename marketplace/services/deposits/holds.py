"""The calls to the payment gateway: asking and confirming a hold, reading it back, and carrying out
a decided outcome (capture, release, refund).

Each call carries an idempotency key made of the deposit's `reference` (not its id, which another
installation on the same Stripe account also has), so a retry asks the same question.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from marketplace import gateways
from marketplace.extensions import db
from marketplace.filters import count_of
from marketplace.gateways import GatewayError, to_minor
from marketplace.models import DemandLine, DemandStatus, Deposit
from marketplace.models.deposit import ZERO
from marketplace.services import access, audit
from marketplace.services.access import Actor
from marketplace.services.deposits.ledger import OUT, UNPAID, S, _change, _lock, deposit_amount
from marketplace.services.deposits.payments import Applied, apply_payment
from marketplace.services.errors import Conflict, NotFound, ValidationFailed


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
