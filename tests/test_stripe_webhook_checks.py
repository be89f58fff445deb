"""Stripe webhooks: events signed too long ago are refused; a hold of another amount or currency than the
deposit is an audited conflict, never "held"; a validly signed but malformed event gets 400, never 500."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa
import stripe

from marketplace.extensions import db
from marketplace.gateways import to_minor
from marketplace.models import AuditEntry, StripeEvent
from marketplace.services import deposits
from tests.deposit_helpers import deposit_round, draft_line, ledger
from tests.fake_gateway import SECRET, intent_event
from tests.test_deposits import fake  # noqa: F401  (fixture)

HOLD = "payment_intent.amount_capturable_updated"


def _post(client, event, *, signed_at: float | None = None):
    payload = event if isinstance(event, str) else json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, SECRET, timestamp=int(signed_at or time.time()))
    return client.post(
        "/payments/stripe/webhook",
        data=payload,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def _events() -> int:
    return db.session.execute(sa.select(sa.func.count(StripeEvent.id))).scalar_one()


@pytest.fixture
def dep(world, fake):  # noqa: F811
    rnd = deposit_round(world)
    (dep,) = deposits.open_deposits([draft_line(rnd, world)], world.fleet)
    return dep


def _hold(dep, event_id: str, *, amount: int | None = None, currency: str | None = None):
    amount = to_minor(dep.amount, dep.currency) if amount is None else amount
    event = intent_event(
        event_id, HOLD, dep.payment_intent_id, amount=amount, status="requires_capture", amount_capturable=amount
    )
    event["data"]["object"]["currency"] = (currency or dep.currency).lower()
    return event


def test_an_event_signed_longer_ago_than_the_tolerance_is_refused(dep, client):
    before = ledger(dep.id)
    response = _post(client, _hold(dep, "evt_old"), signed_at=time.time() - 600)
    assert response.status_code == 400
    assert ledger(dep.id) == before and _events() == 0
    # Within the 5 minutes it is applied.
    assert _post(client, _hold(dep, "evt_recent"), signed_at=time.time() - 240).status_code == 200
    assert ledger(dep.id)["state"] == "held" and ledger(dep.id)["line"] == "committed"


@pytest.mark.parametrize(
    ("amount", "currency", "says"),
    [(1, None, "a hold of 0.01 USD on a deposit of"), (None, "EUR", "a hold in EUR on a deposit in USD")],
)
def test_a_hold_of_another_amount_or_currency_is_a_conflict_not_held(dep, client, amount, currency, says):
    assert dep.currency == "USD" and dep.amount > 1000
    response = _post(client, _hold(dep, "evt_short", amount=amount, currency=currency))
    assert response.status_code == 200  # acknowledged: Stripe must not retry it forever
    assert ledger(dep.id)["state"] == "pending" and ledger(dep.id)["line"] == "draft"
    conflict = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "deposit.conflict")).scalar_one()
    assert says in conflict.summary and "not committed" in conflict.summary
    row = db.session.execute(sa.select(StripeEvent)).scalar_one()
    assert "hold differs from the deposit" in row.result
    # The right hold, when it comes, is held.
    assert _post(client, _hold(dep, "evt_right")).status_code == 200
    assert ledger(dep.id)["state"] == "held"


@pytest.mark.parametrize(
    "body",
    [
        {"object": "event", "type": HOLD, "data": {"object": {}}},  # no id
        {"id": "", "object": "event", "type": HOLD},
        {"id": 12, "object": "event", "type": HOLD},
        {"id": "evt_1", "object": "event"},  # no type
        {"id": "evt_1", "type": HOLD, "data": "not an object"},
        {"id": "evt_1", "type": HOLD, "data": {"object": ["a", "list"]}},
        {"id": "evt_1", "type": HOLD, "data": {"object": {"object": "payment_intent", "id": {"x": 1}}}},
        {"id": "evt_1", "type": HOLD, "data": {"object": {"object": "payment_intent", "id": "pi_1", "amount": "lots"}}},
        {"id": "evt_1", "type": HOLD, "data": {"object": {"object": "payment_intent", "id": "pi_1", "metadata": "x"}}},
        {"id": "evt_1", "type": "charge.refunded", "data": {"object": {"object": "charge", "payment_intent": "pi_1",
                                                                         "captured": True, "refunds": {"data": [{}]}}}},
        {"id": "x" * 300, "type": HOLD},
        ["not", "an", "event"],
        "just a string",
    ],
)  # fmt: skip
def test_a_signed_but_malformed_event_gets_400_and_changes_nothing(dep, client, body):
    before = ledger(dep.id)
    response = _post(client, body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert ledger(dep.id) == before and _events() == 0


def test_a_signed_body_that_is_not_json_gets_400(dep, client):
    assert _post(client, "{not json").status_code == 400
