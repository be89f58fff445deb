"""Deposits: Stripe's webhook, the fleet's deposits and pay page, the coordinator's deposits of a round.

Only Stripe (the signed webhook, or Stripe's answer when the server asks it) and a coordinator's
actions change a deposit's state; a fleet's "I have paid" only makes the server ask Stripe.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField

from marketplace import gateways, security
from marketplace.access import coordinator_required, fleet_required, role_required
from marketplace.extensions import csrf
from marketplace.gateways import GatewayError, InvalidWebhook
from marketplace.models import Deposit, OrganizationKind
from marketplace.pagination import kept_state, paginate
from marketplace.services import access, deposits, rounds
from marketplace.services.errors import Conflict

bp = Blueprint("payments", __name__, url_prefix="/payments")
fleet_or_coordinator = role_required(OrganizationKind.FLEET, OrganizationKind.COORDINATOR)

# The test-card form sends a raw card number to the server: only ever against a local fake Stripe.
TEST_CARDS = {
    "4242424242424242": "Visa, succeeds",
    "4000000000000341": "attaches, then is declined when charged",
}


class ActionForm(FlaskForm):
    """No fields: CSRF for the buttons (the app-wide CSRFProtect checks it before any view runs)."""


class TestCardForm(FlaskForm):
    card = SelectField("Test card", choices=list(TEST_CARDS.items()))


def _fake_stripe() -> bool:
    key = current_app.config.get("STRIPE_SECRET_KEY") or ""
    return bool(current_app.config.get("STRIPE_API_BASE")) and key.startswith("sk_test")


# ---------------------------------------------------------------- Stripe's webhook


@bp.post("/stripe/webhook")
@csrf.exempt
def stripe_webhook():
    """Verify, record by event id, answer at once; the ledger changes in a job (process_stripe_event)."""
    try:
        event = gateways.gateway().parse_webhook(request.get_data(), request.headers.get("Stripe-Signature"))
    except InvalidWebhook:
        return {"error": "invalid signature"}, 400
    row = deposits.receive_event(event)  # applied to the ledger by a job after its commit
    if row is None:
        return {"received": True, "duplicate": True}, 200
    return {"received": True}, 200


# ---------------------------------------------------------------- fleets


@bp.get("/deposits")
@fleet_required
def my_deposits():
    org_id = current_user.organization_id
    mine = paginate(
        deposits.org_deposits_query(org_id), sorts=deposits.DEPOSIT_SORTS, default="deposit", descending=True,
        filters=deposits.DEPOSIT_FILTERS,
    )  # fmt: skip
    return render_template(
        "payments/fleet_deposits.html",
        deposits=mine,
        totals=deposits.totals_of_query(Deposit.organization_id == org_id),
        payments_on=gateways.payments_on(),
        form=ActionForm(),
    )


@bp.get("/deposits/<deposit:deposit_id>/pay")
@fleet_required
def pay(deposit_id: int):
    dep = access.own_deposit(current_user, deposit_id)
    gw = gateways.gateway()
    security.allow_stripe_js(gw.js_url)
    return render_template(
        "payments/pay.html",
        dep=dep,
        publishable_key=gw.publishable_key,
        js_url=gw.js_url,
        test_cards=TEST_CARDS if _fake_stripe() else {},
        form=ActionForm(),
    )


@bp.post("/deposits/<deposit:deposit_id>/check")
@fleet_or_coordinator
def check(deposit_id: int):
    dep = access.own_deposit(current_user, deposit_id)
    try:
        result = deposits.refresh(dep.id, current_user)
    except GatewayError as exc:
        raise Conflict(f"Stripe could not be reached: {exc.message}. Try again in a minute.") from None
    dep = access.own_deposit(current_user, deposit_id)
    flash(f"Checked with Stripe: the deposit is {dep.state.label}.", "success" if result.changed else "info")
    if current_user.is_coordinator:
        return redirect(_round_deposits(dep.round_id))
    return redirect(url_for("payments.my_deposits", **_deposits_kept()))


@bp.post("/deposits/<deposit:deposit_id>/test-card")
@fleet_required
def test_card(deposit_id: int):
    """Offline demo only (a local fake Stripe): confirm the hold with a test card number."""
    if not _fake_stripe():
        abort(404)
    dep = access.own_deposit(current_user, deposit_id)
    form = TestCardForm()
    if not form.validate_on_submit():
        flash("Test card: choose one of the cards listed. Nothing was charged.", "danger")
        return redirect(url_for("payments.pay", deposit_id=dep.public_id))
    number = form.card.data
    gw = gateways.gateway()
    method = gw.test_payment_method(number)  # type: ignore[attr-defined]
    dep = deposits.confirm_deposit(dep.id, method, current_user)
    flash(f"The deposit is {dep.state.label}.", "success" if dep.state.value == "held" else "warning")
    return redirect(url_for("payments.my_deposits"))


# ---------------------------------------------------------------- coordinators


def _deposits_kept() -> dict[str, str]:
    """A list of deposits as the user had it (page, order, state filter): a row's action returns to it."""
    return kept_state("", deposits.DEPOSIT_FILTERS)


def _round_deposits(round_id: int) -> str:
    return url_for("payments.round_deposits", round_id=round_id, **_deposits_kept())


@bp.get("/rounds/<int:round_id>/deposits")
@coordinator_required
def round_deposits(round_id: int):
    rnd = rounds.load_round(round_id)
    rows = paginate(
        deposits.round_deposits_query(rnd.id), sorts=deposits.DEPOSIT_SORTS, default="deposit",
        filters=deposits.DEPOSIT_FILTERS,
    )  # fmt: skip
    return render_template(
        "payments/round_deposits.html",
        rnd=rnd,
        deposits=rows,
        totals=deposits.totals_of_query(Deposit.round_id == rnd.id),
        payments_on=gateways.payments_on(),
        form=ActionForm(),
    )


@bp.post("/rounds/<int:round_id>/settle")
@coordinator_required
def settle(round_id: int):
    rnd = deposits.ask_settlement(round_id, current_user)
    flash("Settling the round's deposits by its outcome: the page shows each one as Stripe confirms it.", "info")
    return redirect(_round_deposits(rnd.id))


@bp.post("/deposits/<deposit:deposit_id>/refund")
@coordinator_required
def refund(deposit_id: int):
    dep = access.own_deposit(current_user, deposit_id)
    try:
        dep = deposits.refund_deposit(dep.id, current_user)
    except GatewayError as exc:
        raise Conflict(f"Stripe refused: {exc.message}") from None
    flash(f"Deposit {dep.id} is {dep.state.label}.", "success")
    return redirect(_round_deposits(dep.round_id))
