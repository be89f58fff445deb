"""Stripe's webhooks: recorded by event id (a replay is dropped), then applied to the ledger once."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from marketplace.gateways import WebhookEvent
from marketplace.models import Deposit, StripeEvent
from marketplace.services import audit, clock, events
from marketplace.services.deposits.payments import apply_payment


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
