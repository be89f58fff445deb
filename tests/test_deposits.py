"""Deposits against the fake gateway: the ledger's rules, outcome jobs, exactly-once webhooks, payments off.

The same flows run against localstripe in test_deposits_localstripe.py; this file covers what
localstripe cannot show (lost responses, out-of-order and replayed events, refund events).
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace import gateways
from marketplace.extensions import db
from marketplace.gateways import from_minor, share_of, to_minor
from marketplace.models import AuditEntry, ConfirmationStatus, Deposit, DepositState, RoundPhase, StripeEvent
from marketplace.services import deposits, rounds
from marketplace.services.errors import Conflict, ValidationFailed
from tests.deposit_helpers import deposit_round, draft_line, held_deposit, ledger, publish_award
from tests.fake_gateway import DECLINED, FakeGateway, charge_event, intent_event, signed

C = ConfirmationStatus
VISA = "pm_card_visa"


@pytest.fixture
def fake(app):
    gw = FakeGateway()
    gateways.use(gw)
    app.config["STRIPE_SECRET_KEY"] = "sk_test_fake"  # the demand side asks the config whether payments are on
    yield gw
    gateways.use(None)


def audit_count(dep_id: int | None = None) -> int:
    query = sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.object_type == "Deposit")
    if dep_id is not None:
        query = query.where(AuditEntry.object_id == str(dep_id))
    return db.session.execute(query).scalar_one()


def check_balanced(round_id: int) -> deposits.Totals:
    db.session.expire_all()
    t = deposits.totals(deposits.deposits_of_round(round_id))
    assert t.balanced, t
    assert deposits.totals_of_query(Deposit.round_id == round_id) == t  # the pages' SQL sums agree
    return t


def test_the_deposit_pages_show_a_page_with_totals_over_every_deposit(world, login):
    rnd = deposit_round(world)
    for n in range(60):
        line = draft_line(rnd, world, quantity=n % 5 + 1)
        state = DepositState.HELD if n < 45 else DepositState.PENDING
        db.session.add(Deposit(round_id=rnd.id, demand_line_id=line.id, organization_id=line.organization_id,
                               currency="USD", amount=Decimal("100.00") * line.quantity, state=state,
                               held_amount=Decimal("100.00") * line.quantity if n < 45 else Decimal(0)))  # fmt: skip
    db.session.commit()
    page = login(world.coordinator).get(f"/payments/rounds/{rnd.id}/deposits").get_data(as_text=True)
    assert page.count("data-deposit=") == 50 and "1–50 of 60 deposits" in page
    assert '<tr data-state="held"><td>held</td><td class="text-end">45</td>' in page
    page = login(world.coordinator).get(f"/payments/rounds/{rnd.id}/deposits?state=pend").get_data(as_text=True)
    assert page.count("data-deposit=") == 15
    page = login(world.fleet).get("/payments/deposits").get_data(as_text=True)
    assert page.count("data-deposit=") == 50 and "1–50 of 60 deposits" in page


# ---------------------------------------------------------------- money


def test_minor_units_are_exact_and_know_zero_decimal_currencies():
    assert to_minor(Decimal("3703.68"), "USD") == 370368
    assert to_minor(Decimal("3000.00"), "JPY") == 3000
    with pytest.raises(ValueError):
        to_minor(Decimal("1000.50"), "JPY")
    assert from_minor(370368, "usd") == Decimal("3703.68")
    assert from_minor(3000, "JPY") == Decimal("3000.00")
    # A forfeit share is rounded down to the minor unit: never more than the rule says.
    assert share_of(Decimal("3703.68"), Decimal("25"), "USD") == Decimal("925.92")
    assert share_of(Decimal("100.01"), Decimal("33.33"), "USD") == Decimal("33.33")
    assert share_of(Decimal("1001"), Decimal("50"), "JPY") == Decimal("500")


def test_committing_with_a_deposit_holds_it_and_commits_the_line(world, fake):
    rnd = deposit_round(world)
    line = draft_line(rnd, world, quantity=3)
    (dep,) = deposits.open_deposits([line], world.fleet)
    assert dep.state is DepositState.PENDING and dep.amount == Decimal("3703.68") and dep.currency == "USD"
    assert fake.intents[dep.payment_intent_id].amount == 370368
    assert fake.intents[dep.payment_intent_id].metadata["deposit_id"] == str(dep.id)
    assert line.status.value == "draft"  # not committed until the hold succeeds
    # Asking again gives the same deposit and the same PaymentIntent.
    assert deposits.open_deposits([line], world.fleet)[0].id == dep.id
    assert fake.calls["create_hold"] == 1

    dep = deposits.confirm_deposit(dep.id, VISA, world.fleet)
    assert ledger(dep.id) | {"failure": ""} == {
        "state": "held", "held": "3703.68", "applied": "0.00", "forfeited": "0.00", "refunded": "0.00",
        "released": "0.00", "failure": "", "line": "committed",
    }  # fmt: skip
    actions = db.session.execute(sa.select(AuditEntry.action).order_by(AuditEntry.id)).scalars().all()
    assert actions[-3:] == ["deposit.open", "deposit.held", "demand.commit"]


def test_zero_decimal_currency_refuses_cents(world, fake):
    # The round's settings refuse a JPY deposit with cents (the currency's minor unit is known at entry)...
    with pytest.raises(ValidationFailed) as refused:
        deposit_round(world, currency="JPY", deposit_per_vehicle=Decimal("1000.50"))
    assert refused.value.field_errors == {"deposit_per_vehicle": "JPY has no cents: give a whole amount."}
    # ...and the ledger still refuses one that got in another way, before asking the gateway anything.
    rnd = deposit_round(world, currency="JPY", deposit_per_vehicle=Decimal("1000"))
    rnd.deposit_per_vehicle = Decimal("1000.50")
    line = draft_line(rnd, world, quantity=1)
    with pytest.raises(ValidationFailed, match="JPY has no cents"):
        deposits.open_deposits([line], world.fleet)
    assert db.session.execute(sa.select(sa.func.count(Deposit.id))).scalar_one() == 0


def test_a_declined_card_fails_and_another_card_holds(world, fake):
    rnd = deposit_round(world)
    line = draft_line(rnd, world)
    (dep,) = deposits.open_deposits([line], world.fleet)
    dep = deposits.confirm_deposit(dep.id, DECLINED, world.fleet)
    assert dep.state is DepositState.FAILED and "declined" in dep.failure_message
    assert ledger(dep.id)["line"] == "draft"
    dep = deposits.confirm_deposit(dep.id, VISA, world.fleet)
    assert ledger(dep.id)["state"] == "held" and ledger(dep.id)["line"] == "committed"


def test_another_fleet_cannot_open_or_pay_a_deposit(world, fake):
    rnd = deposit_round(world)
    line = draft_line(rnd, world)
    from marketplace.services.errors import NotFound

    with pytest.raises(NotFound):
        deposits.open_deposits([line], world.other_fleet)
    (dep,) = deposits.open_deposits([line], world.fleet)
    with pytest.raises(NotFound):
        deposits.confirm_deposit(dep.id, VISA, world.other_fleet)


# ---------------------------------------------------------------- outcome rules


def test_round_outcome_captures_releases_and_forfeits_exactly_once(world, fake):
    rnd = deposit_round(world)
    confirmed = held_deposit(rnd, world, VISA, quantity=3)
    unawarded = held_deposit(rnd, world, VISA, quantity=2)
    declined = held_deposit(rnd, world, VISA, quantity=1, fleet="other_fleet")
    lapsed = held_deposit(rnd, world, VISA, quantity=4, fleet="other_fleet")
    unpaid_line = draft_line(rnd, world, quantity=5)
    (unpaid,) = deposits.open_deposits([unpaid_line], world.fleet)
    publish_award(
        rnd, world,
        {confirmed.demand_line_id: C.CONFIRMED, declined.demand_line_id: C.DECLINED, lapsed.demand_line_id: C.PENDING},
    )  # fmt: skip

    result = deposits.settle_round(rnd.id)
    assert result.failed == {}
    assert ledger(confirmed.id)["state"] == "captured" and ledger(confirmed.id)["applied"] == "3703.68"
    assert ledger(unawarded.id) | {"line": ""} == {
        "state": "released", "held": "2469.12", "applied": "0.00", "forfeited": "0.00", "refunded": "0.00",
        "released": "2469.12", "failure": "", "line": "",
    }  # fmt: skip
    # Declined: 25 % of 1234.56 captured as forfeit, the rest released.
    assert ledger(declined.id)["state"] == "forfeited"
    assert (ledger(declined.id)["forfeited"], ledger(declined.id)["released"]) == ("308.64", "925.92")
    assert fake.intents[declined.payment_intent_id].captured == 30864
    # Not confirmed by the confirmation deadline: a lapse counts as a decline.
    assert ledger(lapsed.id)["state"] == "forfeited" and ledger(lapsed.id)["forfeited"] == "1234.56"
    assert ledger(unpaid.id)["state"] == "released" and ledger(unpaid.id)["held"] == "0.00"
    t = check_balanced(rnd.id)
    assert t.held == Decimal("3703.68") + Decimal("2469.12") + Decimal("1234.56") + Decimal("4938.24")
    assert t.applied == Decimal("3703.68") and t.forfeited == Decimal("308.64") + Decimal("1234.56")
    assert t.still_held == 0

    calls, entries, before = dict(fake.calls), audit_count(), [ledger(d.id) for d in (confirmed, declined)]
    for _ in range(3):  # the job re-runs: nothing moves twice
        deposits.settle_round(rnd.id)
    assert dict(fake.calls) == calls and audit_count() == entries
    assert [ledger(d.id) for d in (confirmed, declined)] == before


def test_pending_confirmations_wait_until_the_round_closes(world, fake):
    rnd = deposit_round(world)
    dep = held_deposit(rnd, world, VISA)
    publish_award(rnd, world, {dep.demand_line_id: C.PENDING}, phase=RoundPhase.CONTRACTING)
    deposits.settle_round(rnd.id)
    assert ledger(dep.id)["state"] == "held"
    from marketplace.models import Allocation

    allocation = db.session.execute(sa.select(Allocation)).scalar_one()
    allocation.confirmation = C.CONFIRMED
    db.session.commit()
    assert deposits.settle_line(dep.demand_line_id) is True
    assert ledger(dep.id)["state"] == "captured"


def test_a_lost_gateway_answer_is_recovered_without_charging_twice(world, fake):
    rnd = deposit_round(world)
    dep = held_deposit(rnd, world, VISA)
    publish_award(rnd, world, {dep.demand_line_id: C.CONFIRMED})
    fake.lose_next_response = True  # Stripe captures, the answer is lost
    deposits.settle_round(rnd.id)
    assert fake.calls["capture"] == 1
    assert ledger(dep.id)["state"] == "captured"
    deposits.settle_round(rnd.id)
    assert fake.calls["capture"] == 1


def test_withdrawing_a_held_line_forfeits_the_rounds_share(world, fake):
    rnd = deposit_round(world)  # withdrawal forfeits 10 %
    dep = held_deposit(rnd, world, VISA, quantity=3)
    line = dep.demand_line
    line.status = line.status.WITHDRAWN
    deposits.line_withdrawn(line, world.fleet)
    db.session.commit()  # the decision's job runs after the commit
    assert ledger(dep.id) | {"line": ""} == {
        "state": "forfeited", "held": "3703.68", "applied": "0.00", "forfeited": "370.36", "refunded": "0.00",
        "released": "3333.32", "failure": "", "line": "",
    }  # fmt: skip
    check_balanced(rnd.id)


def test_a_cancelled_round_gives_back_every_deposit(world, fake):
    rnd = deposit_round(world)
    held = held_deposit(rnd, world, VISA, quantity=2)
    withdrawn = held_deposit(rnd, world, VISA, quantity=3)
    line = withdrawn.demand_line
    line.status = line.status.WITHDRAWN
    deposits.line_withdrawn(line, world.fleet)
    db.session.commit()
    assert ledger(withdrawn.id)["state"] == "forfeited"
    unpaid_line = draft_line(rnd, world)
    (unpaid,) = deposits.open_deposits([unpaid_line], world.fleet)

    rounds.transition(rnd.id, RoundPhase.CANCELLED, world.coordinator)  # settles in a job after the commit

    assert ledger(held.id)["state"] == "released" and ledger(held.id)["released"] == "2469.12"
    assert ledger(withdrawn.id)["state"] == "refunded"
    assert (ledger(withdrawn.id)["refunded"], ledger(withdrawn.id)["forfeited"]) == ("370.36", "0.00")
    assert ledger(unpaid.id)["state"] == "released"
    t = check_balanced(rnd.id)
    assert t.applied == t.forfeited == t.still_held == 0
    assert t.refunded + t.released == t.held


def test_pending_deposits_are_released_when_demand_closes(world, fake):
    rnd = deposit_round(world)
    (dep,) = deposits.open_deposits([draft_line(rnd, world)], world.fleet)
    rounds.transition(rnd.id, RoundPhase.DEMAND_CLOSED, world.coordinator)
    assert ledger(dep.id)["state"] == "released"
    assert fake.intents[dep.payment_intent_id].status == "canceled"


def test_a_hold_that_arrives_after_demand_closed_does_not_commit_the_line(world, fake):
    rnd = deposit_round(world)
    (dep,) = deposits.open_deposits([draft_line(rnd, world)], world.fleet)
    fake.confirm(dep.payment_intent_id, payment_method=VISA, idempotency_key="browser")  # paid in the browser
    rnd.phase = RoundPhase.DEMAND_CLOSED  # ...but demand closed before Stripe's answer reached us
    db.session.commit()
    deposits.refresh(dep.id)
    assert ledger(dep.id)["line"] == "draft"
    assert ledger(dep.id)["state"] == "released"  # the hold went straight back


def test_the_transition_table_refuses_moves_it_does_not_have(world, fake):
    rnd = deposit_round(world)
    dep = held_deposit(rnd, world, VISA)
    with pytest.raises(Conflict):
        deposits._change(dep, DepositState.REFUNDED, None, summary="no")
    db.session.rollback()


def test_a_coordinator_gives_a_deposit_back(world, fake):
    rnd = deposit_round(world)
    dep = held_deposit(rnd, world, VISA)
    from marketplace.services.errors import Forbidden

    with pytest.raises(Forbidden):
        deposits.refund_deposit(dep.id, world.fleet)
    deposits.refund_deposit(dep.id, world.coordinator)
    assert ledger(dep.id)["state"] == "released"
    with pytest.raises(Conflict):
        deposits.refund_deposit(dep.id, world.coordinator)


# ---------------------------------------------------------------- webhooks


def post_event(client, event, secret=None):
    payload, headers = signed(event, secret) if secret else signed(event)
    return client.post("/payments/stripe/webhook", data=payload, headers=headers)


def test_a_bad_signature_changes_nothing(world, fake, client):
    rnd = deposit_round(world)
    (dep,) = deposits.open_deposits([draft_line(rnd, world)], world.fleet)
    event = intent_event("evt_1", "payment_intent.amount_capturable_updated", dep.payment_intent_id,
                         amount=370368, status="requires_capture", amount_capturable=370368)  # fmt: skip
    before, entries = ledger(dep.id), audit_count()
    assert post_event(client, event, secret="whsec_wrong").status_code == 400
    payload, headers = signed(event)
    tampered = payload.replace(b"370368", b"999999")
    assert client.post("/payments/stripe/webhook", data=tampered, headers=headers).status_code == 400
    assert client.post("/payments/stripe/webhook", data=payload).status_code == 400  # no signature at all
    assert ledger(dep.id) == before and audit_count() == entries
    assert db.session.execute(sa.select(sa.func.count(StripeEvent.id))).scalar_one() == 0


def history(pi: str, amount: int, refund: int) -> list[dict]:
    """The events of one real history: a declined card, a hold, a capture, a partial refund."""
    return [
        intent_event("evt_fail_" + pi, "payment_intent.payment_failed", pi, amount=amount,
                     status="requires_payment_method", last_payment_error={"message": "Your card was declined."}),
        intent_event("evt_hold_" + pi, "payment_intent.amount_capturable_updated", pi, amount=amount,
                     status="requires_capture", amount_capturable=amount),
        intent_event("evt_paid_" + pi, "payment_intent.succeeded", pi, amount=amount, status="succeeded",
                     amount_received=amount),
        charge_event("evt_refund_" + pi, "charge.refunded", pi, amount=amount, captured=amount, refunded=refund),
    ]  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
def test_replayed_and_shuffled_webhooks_change_the_ledger_exactly_once(world, fake, client, seed):
    rnd = deposit_round(world)
    (dep,) = deposits.open_deposits([draft_line(rnd, world, quantity=3)], world.fleet)
    events = history(dep.payment_intent_id, 370368, 111111)
    rng = random.Random(seed)
    first = events[:]
    rng.shuffle(first)  # includes the refund event before the capture event for some seeds
    for event in first:
        assert post_event(client, event).status_code == 200
    after_once, entries = ledger(dep.id), audit_count(dep.id)
    assert after_once | {"failure": ""} == {
        "state": "refunded", "held": "3703.68", "applied": "2592.57", "forfeited": "0.00", "refunded": "1111.11",
        "released": "0.00", "failure": "", "line": "committed",
    }  # fmt: skip
    replays = events * 3
    rng.shuffle(replays)
    for event in replays:
        response = post_event(client, event)
        assert response.status_code == 200 and response.json["duplicate"] is True
    assert ledger(dep.id) == after_once and audit_count(dep.id) == entries
    assert db.session.execute(sa.select(sa.func.count(StripeEvent.id))).scalar_one() == 4
    check_balanced(rnd.id)


def test_a_capture_event_after_a_cancel_event_changes_nothing(world, fake, client):
    rnd = deposit_round(world)
    dep = held_deposit(rnd, world, VISA)
    pi = dep.payment_intent_id
    fake.cancel(pi, idempotency_key="elsewhere")  # Stripe's truth: cancelled
    cancel = intent_event("evt_c", "payment_intent.canceled", pi, amount=370368, status="canceled")
    succeeded = intent_event("evt_s", "payment_intent.succeeded", pi, amount=370368, status="succeeded",
                             amount_received=370368)  # fmt: skip
    assert post_event(client, cancel).status_code == 200
    released = ledger(dep.id)
    assert released["state"] == "released" and released["released"] == "3703.68"
    assert post_event(client, succeeded).status_code == 200
    assert ledger(dep.id) == released
    conflict = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "deposit.conflict")).scalar_one()
    assert "contradicts" in conflict.summary
    row = db.session.execute(sa.select(StripeEvent).where(StripeEvent.event_id == "evt_s")).scalar_one()
    assert row.processed_at is not None


def test_events_for_unknown_payments_are_acknowledged(world, fake, client):
    event = intent_event("evt_x", "payment_intent.succeeded", "pi_unknown", amount=100, status="succeeded")
    assert post_event(client, event).status_code == 200
    other = {"id": "evt_y", "object": "event", "type": "customer.created", "created": 1, "data": {"object": {}}}
    assert post_event(client, other).status_code == 200
    rows = db.session.execute(sa.select(StripeEvent).order_by(StripeEvent.id)).scalars().all()
    assert [r.result for r in rows] == ["no deposit has this payment", "not about a deposit's hold"]


# ---------------------------------------------------------------- payments off


def test_with_payments_off_nothing_moves_money(world, app, client):
    assert not app.config.get("STRIPE_SECRET_KEY")
    assert gateways.payments_on() is False
    rnd = deposit_round(world)
    line = draft_line(rnd, world)
    with pytest.raises(Conflict, match="Payments are off"):
        deposits.open_deposits([line], world.fleet)
    payload, headers = signed(intent_event("evt_1", "payment_intent.succeeded", "pi_1", amount=1, status="succeeded"))
    assert client.post("/payments/stripe/webhook", data=payload, headers=headers).status_code == 400
    rounds.transition(rnd.id, RoundPhase.CANCELLED, world.coordinator)  # settling finds nothing to do
    assert db.session.execute(sa.select(sa.func.count(Deposit.id))).scalar_one() == 0


def test_pages_show_deposits_and_totals(world, fake, login):
    rnd = deposit_round(world)
    dep = held_deposit(rnd, world, VISA)
    held_deposit(rnd, world, VISA, fleet="other_fleet")
    client = login(world.fleet)
    page = client.get("/payments/deposits").get_data(as_text=True)
    assert f'data-deposit="{dep.public_id}"' in page and page.count("data-deposit=") == 1
    assert client.get(f"/payments/deposits/{dep.public_id}/pay").status_code == 200
    assert client.get(f"/payments/deposits/{dep.id}/pay").status_code == 404  # row ids address nothing
    client = login(world.coordinator)
    page = client.get(f"/payments/rounds/{rnd.id}/deposits").get_data(as_text=True)
    assert page.count("data-deposit=") == 2 and 'data-balanced="yes"' in page
    assert "7,407.36 USD" in page  # two held deposits of 3 x 1,234.56


def test_a_fleet_reaches_only_its_own_deposits(world, fake, login):
    rnd = deposit_round(world)
    dep = held_deposit(rnd, world, VISA)
    client = login(world.other_fleet)
    assert client.get(f"/payments/deposits/{dep.public_id}/pay").status_code == 404
    assert client.post(f"/payments/deposits/{dep.public_id}/check").status_code == 404
    assert (
        client.post(f"/payments/deposits/{dep.public_id}/test-card", data={"card": "4242424242424242"}).status_code
        == 404
    )
    assert client.post(f"/payments/deposits/{dep.public_id}/refund").status_code == 403
    assert client.post(f"/payments/rounds/{rnd.id}/settle").status_code == 403
    assert ledger(dep.id)["state"] == "held"
    client = login(world.fleet)
    assert client.post(f"/payments/deposits/{dep.public_id}/refund").status_code == 403  # only a coordinator gives back
    assert client.post(f"/payments/deposits/{dep.public_id}/check").status_code == 302  # asks Stripe; Stripe says held
    assert ledger(dep.id)["state"] == "held"
    client = login(world.coordinator)
    assert client.post(f"/payments/deposits/{dep.public_id}/refund").status_code == 302
    assert ledger(dep.id)["state"] == "released"


def test_commit_lines_asks_holds_and_withdraw_line_applies_the_rule(world, fake):
    from marketplace.services import demand

    rnd = deposit_round(world)  # withdrawal forfeits 10 %
    line = draft_line(rnd, world, quantity=3)
    result = demand.commit_lines(rnd.id, [line.id], world.fleet)
    assert result.awaiting_deposit == [line] and not result.committed
    dep = db.session.execute(sa.select(Deposit)).scalar_one()
    assert dep.state is DepositState.PENDING and dep.payment_intent_id in fake.intents
    deposits.confirm_deposit(dep.id, VISA, world.fleet)
    assert ledger(dep.id)["line"] == "committed"
    demand.withdraw_line(line.id, world.fleet)
    assert (ledger(dep.id)["state"], ledger(dep.id)["forfeited"]) == ("forfeited", "370.36")
    check_balanced(rnd.id)


def test_payments_off_commits_at_once_without_a_deposit(world, app):
    from marketplace.services import demand

    rnd = deposit_round(world)
    line = draft_line(rnd, world)
    result = demand.commit_lines(rnd.id, [line.id], world.fleet)
    assert result.without_deposit and result.committed == [line]
    demand.withdraw_line(line.id, world.fleet)
    assert db.session.execute(sa.select(sa.func.count(Deposit.id))).scalar_one() == 0


def test_a_fleets_decision_on_its_allocation_settles_the_deposit(world, fake):
    from marketplace.models import Allocation
    from marketplace.services import contracting

    rnd = deposit_round(world)  # a decline forfeits 25 %
    kept = held_deposit(rnd, world, VISA, quantity=2)
    dropped = held_deposit(rnd, world, VISA, quantity=1)
    publish_award(
        rnd, world, {kept.demand_line_id: C.PENDING, dropped.demand_line_id: C.PENDING}, phase=RoundPhase.CONTRACTING
    )
    allocations = {a.demand_line_id: a.id for a in db.session.execute(sa.select(Allocation)).scalars()}
    contracting.decide(allocations[kept.demand_line_id], True, world.fleet)
    contracting.decide(allocations[dropped.demand_line_id], False, world.fleet)
    assert (ledger(kept.id)["state"], ledger(kept.id)["applied"]) == ("captured", "2469.12")
    assert (ledger(dropped.id)["state"], ledger(dropped.id)["forfeited"]) == ("forfeited", "308.64")
    check_balanced(rnd.id)


def test_an_event_finds_a_deposit_whose_payment_id_was_never_saved(world, fake, client):
    rnd = deposit_round(world)
    (dep,) = deposits.open_deposits([draft_line(rnd, world)], world.fleet)
    pi = dep.payment_intent_id
    dep.payment_intent_id = None  # as if the answer to "create a hold" had been lost
    db.session.commit()
    event = intent_event("evt_h", "payment_intent.amount_capturable_updated", pi, amount=370368,
                         status="requires_capture", amount_capturable=370368,
                         metadata={"deposit_id": str(dep.id), "deposit_reference": dep.reference})  # fmt: skip
    assert post_event(client, event).status_code == 200
    assert ledger(dep.id)["state"] == "held"
    assert db.session.get(Deposit, dep.id).payment_intent_id == pi


def test_an_event_of_another_installations_deposit_with_the_same_id_is_ignored(world, fake, client):
    """Staging and production on one Stripe account both have a deposit 1: only the reference tells them apart."""
    rnd = deposit_round(world)
    (dep,) = deposits.open_deposits([draft_line(rnd, world)], world.fleet)
    dep.payment_intent_id = None  # our hold's answer not saved yet, and a capture elsewhere is announced
    db.session.commit()
    event = intent_event("evt_x", "payment_intent.succeeded", "pi_elsewhere", amount=370368, status="succeeded",
                         amount_received=370368, metadata={"deposit_id": str(dep.id), "deposit_reference": "f" * 32})  # fmt: skip
    assert post_event(client, event).status_code == 200
    assert ledger(dep.id)["state"] == "pending" and db.session.get(Deposit, dep.id).payment_intent_id is None
    other = deposit_round(world)
    (second,) = deposits.open_deposits([draft_line(other, world)], world.fleet)
    assert second.reference != dep.reference and len(second.reference) == 32
    assert fake.intents[second.payment_intent_id].metadata["deposit_reference"] == second.reference


def test_the_sweep_finds_only_rounds_that_owe_deposits_a_move(world, fake):
    from marketplace import jobs

    open_round = deposit_round(world)
    held_deposit(open_round, world, VISA)
    closed = deposit_round(world)
    dep = held_deposit(closed, world, VISA)
    publish_award(closed, world, {dep.demand_line_id: C.CONFIRMED})
    assert deposits.rounds_to_sweep() == [closed.id]
    assert jobs.sweep_deposits.call_local() == [closed.id]
    assert ledger(dep.id)["state"] == "captured"
    assert deposits.rounds_to_sweep() == []


def test_a_capture_event_without_its_amount_asks_stripe_instead_of_guessing(world, fake, client):
    rnd = deposit_round(world)
    dep = held_deposit(rnd, world, VISA)
    fake.capture(dep.payment_intent_id, amount=None, idempotency_key="dashboard")  # captured outside the app
    event = intent_event("evt_s", "payment_intent.succeeded", dep.payment_intent_id, amount=370368, status="succeeded")
    assert post_event(client, event).status_code == 200  # amount_received is 0 in this event
    assert (ledger(dep.id)["state"], ledger(dep.id)["applied"]) == ("captured", "3703.68")  # from Stripe's answer
