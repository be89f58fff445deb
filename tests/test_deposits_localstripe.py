"""Deposits against localstripe (a fake Stripe server) through the official stripe library.

The suite starts localstripe from tests/localstripe_launcher.py on a free 127.0.0.1 port with its
store in memory, and stops it at the end. Covered here: hold, full capture, partial capture,
cancel, refund, a declining card (4000000000000341) and signed webhooks that localstripe itself
delivers to the app. localstripe sends no event for a hold, a cancel or a refund: those paths
are tested with the fake gateway and signed test events (test_deposits.py).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe

from marketplace import gateways
from marketplace.extensions import db
from marketplace.models import ConfirmationStatus, DepositState, RoundPhase, StripeEvent
from marketplace.services import deposits, rounds
from tests.deposit_helpers import deposit_round, draft_line, ledger, publish_award

C = ConfirmationStatus
LAUNCHER = Path(__file__).resolve().parent / "localstripe_launcher.py"
SECRET_KEY = "sk_test_localstripe"
WEBHOOK_SECRET = "whsec_localstripe"
VISA = "4242424242424242"
DECLINING = "4000000000000341"  # attaches to a customer, then is declined when charged


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    # Port 0: the launcher binds a port the system picks and prints it once it listens (a port probed
    # free here and bound there could be taken in between by another process on a shared machine).
    # Its log goes to a file, not a pipe nobody reads (a full pipe would stall the server).
    with tempfile.TemporaryFile(mode="w+") as log:
        command = [sys.executable, str(LAUNCHER), "--port", "0"]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            assert proc.stdout is not None
            port = proc.stdout.readline().strip()  # blocks until it listens, or is empty if it died
            if not port.isdigit():
                log.seek(0)
                pytest.fail(f"localstripe did not start: {port} {log.read()}")
            url = f"http://127.0.0.1:{port}"
            # It listens already (connections wait in its backlog): one request with a long timeout is
            # enough to know it serves, however busy the machine.
            urllib.request.urlopen(f"{url}/js.stripe.com/v3/", timeout=60).close()
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def stripe_on(app, localstripe):
    """The test's app with payments on, against localstripe."""
    app.config.update(
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_PUBLISHABLE_KEY="pk_test_localstripe",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=localstripe,
    )
    app.extensions.pop("payment_gateway", None)
    gw = gateways.gateway()
    assert gw.enabled and type(gw).__name__ == "StripeGateway"
    yield gw
    app.extensions.pop("payment_gateway", None)


def stripe_client(localstripe: str) -> stripe.StripeClient:
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe})


def pay(rnd, world, gw, card: str, quantity: int = 3, fleet: str = "fleet"):
    user = getattr(world, fleet)
    (dep,) = deposits.open_deposits([draft_line(rnd, world, quantity, fleet)], user)
    return deposits.confirm_deposit(dep.id, gw.test_payment_method(card), user)


def test_localstripe_holds_then_captures_in_full_and_in_part_and_cancels(world, stripe_on, localstripe):
    rnd = deposit_round(world)  # 1,234.56 per vehicle, a decline forfeits 25 %
    confirmed = pay(rnd, world, stripe_on, VISA, quantity=3)
    declined = pay(rnd, world, stripe_on, VISA, quantity=2)
    unawarded = pay(rnd, world, stripe_on, VISA, quantity=1, fleet="other_fleet")
    for dep in (confirmed, declined, unawarded):
        assert ledger(dep.id)["state"] == "held" and ledger(dep.id)["line"] == "committed"
    client = stripe_client(localstripe)
    pi = client.v1.payment_intents.retrieve(confirmed.payment_intent_id)
    assert (pi.status, pi.amount, pi.currency, pi.capture_method) == ("requires_capture", 370368, "usd", "manual")
    assert pi.metadata["deposit_id"] == str(confirmed.id)

    publish_award(rnd, world, {confirmed.demand_line_id: C.CONFIRMED, declined.demand_line_id: C.DECLINED})
    result = deposits.settle_round(rnd.id)
    assert result.failed == {} and sorted(result.settled) == sorted([confirmed.id, declined.id, unawarded.id])

    assert ledger(confirmed.id)["state"] == "captured" and ledger(confirmed.id)["applied"] == "3703.68"
    assert client.v1.payment_intents.retrieve(confirmed.payment_intent_id).status == "succeeded"
    # Partial capture: 25 % of 2,469.12 kept, the rest released.
    assert (ledger(declined.id)["state"], ledger(declined.id)["forfeited"], ledger(declined.id)["released"]) == (
        "forfeited", "617.28", "1851.84",
    )  # fmt: skip
    charge = client.v1.payment_intents.retrieve(declined.payment_intent_id, {"expand": ["latest_charge"]}).latest_charge
    assert charge.amount - charge.amount_refunded == 61728
    assert ledger(unawarded.id)["state"] == "released"
    assert client.v1.payment_intents.retrieve(unawarded.payment_intent_id).status == "canceled"

    t = deposits.totals(deposits.deposits_of_round(rnd.id))
    assert t.balanced and t.held == Decimal("7407.36") and t.still_held == 0
    assert t.applied + t.forfeited == Decimal("3703.68") + Decimal("617.28")

    # Re-running the job asks Stripe nothing new and changes nothing.
    before = [ledger(d.id) for d in (confirmed, declined, unawarded)]
    deposits.settle_round(rnd.id)
    assert [ledger(d.id) for d in (confirmed, declined, unawarded)] == before


def test_localstripe_refunds_a_forfeit_when_the_round_is_cancelled(world, stripe_on, localstripe):
    rnd = deposit_round(world)  # a withdrawal forfeits 10 %
    dep = pay(rnd, world, stripe_on, VISA, quantity=3)
    line = dep.demand_line
    line.status = line.status.WITHDRAWN
    deposits.line_withdrawn(line, world.fleet)
    db.session.commit()
    assert (ledger(dep.id)["state"], ledger(dep.id)["forfeited"]) == ("forfeited", "370.36")

    rounds.transition(rnd.id, RoundPhase.CANCELLED, world.coordinator)
    assert (ledger(dep.id)["state"], ledger(dep.id)["refunded"], ledger(dep.id)["forfeited"]) == (
        "refunded", "370.36", "0.00",
    )  # fmt: skip
    refunds = stripe_client(localstripe).v1.refunds.list({"payment_intent": dep.payment_intent_id})
    assert [r.amount for r in refunds.data if r.metadata.to_dict().get("deposit_refund")] == [37036]
    assert deposits.totals(deposits.deposits_of_round(rnd.id)).balanced


def test_localstripe_declining_card_fails_and_the_line_stays_a_draft(world, stripe_on, localstripe):
    rnd = deposit_round(world)
    dep = pay(rnd, world, stripe_on, DECLINING)
    assert dep.state is DepositState.FAILED and dep.failure_message == "Your card was declined."
    assert ledger(dep.id)["line"] == "draft"
    pi = stripe_client(localstripe).v1.payment_intents.retrieve(dep.payment_intent_id)
    assert pi.status == "requires_payment_method" and pi.last_payment_error.code == "card_declined"
    # localstripe cannot confirm a PaymentIntent again after a decline (Stripe can): retrying with
    # another card is tested with the fake gateway. Demand closing releases the failed deposit.
    rounds.transition(rnd.id, RoundPhase.DEMAND_CLOSED, world.coordinator)
    assert ledger(dep.id)["state"] == "released"
    assert stripe_client(localstripe).v1.payment_intents.retrieve(dep.payment_intent_id).status == "canceled"


def test_localstripe_delivers_signed_webhooks_to_the_app(world, stripe_on, localstripe, live_server):
    """localstripe signs and posts payment_intent.succeeded and payment_failed to the running app."""
    body = f"url={live_server}/payments/stripe/webhook&secret={WEBHOOK_SECRET}".encode()
    urllib.request.urlopen(urllib.request.Request(f"{localstripe}/_config/webhooks/app", data=body), timeout=60)
    rnd = deposit_round(world)
    client = stripe_client(localstripe)
    # Paid in the browser (here: straight at localstripe) with a declining card: only the webhook tells the app.
    (by_browser,) = deposits.open_deposits([draft_line(rnd, world, 1)], world.fleet)
    method = stripe_on.test_payment_method(DECLINING)
    client.v1.payment_intents.update(by_browser.payment_intent_id, {"payment_method": method})
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.confirm(by_browser.payment_intent_id)
    # Held through the app, then captured outside it (the Stripe dashboard): only the webhook tells the app.
    outside = pay(rnd, world, stripe_on, VISA, quantity=1, fleet="other_fleet")
    client.v1.payment_intents.capture(outside.payment_intent_id)
    failed = pay(rnd, world, stripe_on, DECLINING, quantity=1)
    dep = pay(rnd, world, stripe_on, VISA, quantity=2)

    wanted = {
        (failed.payment_intent_id, "payment_intent.payment_failed"),
        (by_browser.payment_intent_id, "payment_intent.payment_failed"),
        (outside.payment_intent_id, "payment_intent.succeeded"),
    }
    wait_for_events(wanted)
    assert ledger(by_browser.id)["state"] == "failed" and ledger(by_browser.id)["failure"] == "Your card was declined."
    assert (ledger(outside.id)["state"], ledger(outside.id)["applied"]) == ("captured", "1234.56")

    publish_award(rnd, world, {dep.demand_line_id: C.CONFIRMED})
    deposits.settle_round(rnd.id)
    captured = ledger(dep.id)
    assert captured["state"] == "captured"
    wait_for_events({(dep.payment_intent_id, "payment_intent.succeeded")})
    # The ledger already knew: the event confirms it and changes nothing.
    assert ledger(dep.id) == captured
    assert ledger(failed.id)["state"] == "released"  # never held, so the closed round let it go
    assert deposits.totals(deposits.deposits_of_round(rnd.id)).balanced
    urllib.request.urlopen(urllib.request.Request(f"{localstripe}/_config/data", method="DELETE"), timeout=60)


def wait_for_events(wanted: set[tuple[str, str]]) -> None:
    # localstripe waits a second before each delivery, a busy machine more: the clock only caps a wait
    # for deliveries that never come.
    deadline = time.monotonic() + 120
    while True:
        db.session.rollback()  # a fresh read, and no lock held while the server thread writes
        rows = db.session.execute(sa.select(StripeEvent)).scalars().all()
        seen = {(r.payment_intent_id, r.type) for r in rows if r.processed_at is not None}
        if wanted <= seen or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert wanted <= seen, rows


def test_localstripe_pay_page_loads_its_stripe_js_and_takes_a_test_card(world, stripe_on, localstripe, login):
    rnd = deposit_round(world)
    (dep,) = deposits.open_deposits([draft_line(rnd, world)], world.fleet)
    client = login(world.fleet)
    page = client.get(f"/payments/deposits/{dep.public_id}/pay").get_data(as_text=True)
    assert f'src="{localstripe}/js.stripe.com/v3/"' in page and dep.client_secret in page
    assert "Pay with test card" in page
    response = client.post(f"/payments/deposits/{dep.public_id}/test-card", data={"card": VISA})
    assert response.status_code == 302 and response.location.endswith("/payments/deposits")
    assert ledger(dep.id)["state"] == "held" and ledger(dep.id)["line"] == "committed"
    # "I have paid: check with Stripe" asks Stripe and finds the same.
    assert client.post(f"/payments/deposits/{dep.public_id}/check").status_code == 302
    assert ledger(dep.id)["state"] == "held"
