"""Stripe through the official library's `StripeClient` (STRIPE_API_BASE points it at localstripe in tests).

Holds are PaymentIntents with capture_method=manual and payment_method_types=["card"] (no
automatic payment methods: localstripe refuses them, and a deposit is a card hold anyway).
Every call that moves money carries an idempotency key derived from the deposit, so a job that
runs twice asks Stripe once.
"""

from __future__ import annotations

import json
from typing import Any

import stripe

from marketplace.gateways import GatewayError, InvalidWebhook, Payment, WebhookEvent

# Events that describe a hold; every other type is acknowledged and left alone.
PAYMENT_INTENT_EVENTS = {
    "payment_intent.amount_capturable_updated",
    "payment_intent.succeeded",
    "payment_intent.canceled",
    "payment_intent.payment_failed",
    "payment_intent.partially_funded",
    "payment_intent.processing",
    "payment_intent.requires_action",
}
CHARGE_EVENTS = {"charge.captured", "charge.refunded", "charge.succeeded", "charge.failed"}


def _our_refund(refund: dict[str, Any]) -> bool:
    """A refund the app asked for (it carries the deposit id), not the release of an uncaptured remainder."""
    return bool((refund.get("metadata") or {}).get("deposit_refund"))


def payment_from_charge(charge: dict[str, Any], pi_id: str | None = None) -> Payment:
    """A hold as one of its charges describes it (charge.* webhooks, or a PaymentIntent's latest charge)."""
    amount = int(charge.get("amount") or 0)
    refunds = (charge.get("refunds") or {}).get("data")
    if charge.get("captured"):
        if charge.get("amount_captured") is not None:
            captured = int(charge["amount_captured"])
        else:  # localstripe: a partial capture refunds the remainder with a refund of its own
            captured = amount - sum(int(r["amount"]) for r in refunds or [] if not _our_refund(r))
        if refunds is not None:
            refunded = sum(int(r["amount"]) for r in refunds if _our_refund(r))
        else:
            refunded = max(0, int(charge.get("amount_refunded") or 0) - (amount - captured))
        status = "succeeded"
    else:
        captured = refunded = 0
        status = {"failed": "requires_payment_method"}.get(charge.get("status", ""), "requires_capture")
        if charge.get("refunded"):
            status = "canceled"  # an uncaptured charge "refunded" in full is a released hold
    return Payment(
        id=pi_id or charge.get("payment_intent") or "",
        status=status,
        amount=amount,
        currency=str(charge.get("currency", "")).upper(),
        capturable=amount if status == "requires_capture" else 0,
        captured=captured,
        refunded=refunded,
        failure=charge.get("failure_message"),
        metadata=dict(charge.get("metadata") or {}),
    )


def payment_from_intent(pi: dict[str, Any]) -> Payment:
    """A PaymentIntent (a dict, as the API or a webhook gives it) as the services see it."""
    status = pi.get("status") or "requires_payment_method"
    amount = int(pi.get("amount") or 0)
    charge = pi.get("latest_charge") if isinstance(pi.get("latest_charge"), dict) else None
    from_charge = payment_from_charge(charge, pi.get("id")) if charge else None
    capturable = pi.get("amount_capturable")
    if capturable is None:  # localstripe does not report it
        capturable = amount if status == "requires_capture" else 0
    captured = pi.get("amount_received")
    if captured is None or (from_charge and from_charge.captured and not captured):
        captured = from_charge.captured if from_charge else 0
    if status != "succeeded":
        captured = 0
    error = pi.get("last_payment_error") or {}
    return Payment(
        id=pi["id"],
        status=status,
        amount=amount,
        currency=str(pi.get("currency", "")).upper(),
        capturable=int(capturable),
        captured=int(captured),
        refunded=from_charge.refunded if from_charge else 0,
        client_secret=pi.get("client_secret"),
        failure=error.get("message") if status == "requires_payment_method" else None,
        metadata=dict(pi.get("metadata") or {}),
    )


def _dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class StripeGateway:
    enabled = True

    def __init__(
        self,
        *,
        secret_key: str,
        publishable_key: str | None,
        webhook_secret: str | None,
        api_base: str | None = None,
    ):
        options: dict[str, Any] = {"max_network_retries": 2}
        if api_base:
            options["base_addresses"] = {"api": api_base.rstrip("/")}
        self.client = stripe.StripeClient(secret_key, **options)
        self.publishable_key = publishable_key
        self.webhook_secret = webhook_secret
        # localstripe serves a fake Stripe.js at /js.stripe.com/v3/, so the pay page works offline too.
        self.js_url = f"{api_base.rstrip('/')}/js.stripe.com/v3/" if api_base else "https://js.stripe.com/v3/"

    # ------------------------------------------------------------ calls

    def _call(self, fn: Any, *args: Any, payment_id: str | None = None, **kwargs: Any) -> Payment:
        try:
            return payment_from_intent(_dict(fn(*args, **kwargs)))
        except stripe.CardError as exc:
            payment = self.retrieve(payment_id) if payment_id else None
            raise GatewayError(exc.user_message or "The card was declined.", declined=True, payment=payment) from exc
        except stripe.StripeError as exc:
            raise GatewayError(exc.user_message or str(exc)) from exc

    def create_hold(self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str) -> Payment:
        return self._call(
            self.client.v1.payment_intents.create,
            {
                "amount": amount,
                "currency": currency.lower(),
                "capture_method": "manual",
                "payment_method_types": ["card"],
                "metadata": metadata,
            },
            {"idempotency_key": idempotency_key},
        )

    def confirm(self, payment_id: str, *, payment_method: str, idempotency_key: str) -> Payment:
        # Attach the method first, then confirm: localstripe does not take payment_method on confirm.
        self._call(
            self.client.v1.payment_intents.update,
            payment_id,
            {"payment_method": payment_method},
            {"idempotency_key": idempotency_key + "-method"},
        )
        return self._call(
            self.client.v1.payment_intents.confirm,
            payment_id,
            None,
            {"idempotency_key": idempotency_key},
            payment_id=payment_id,
        )

    def retrieve(self, payment_id: str) -> Payment:
        try:
            pi = self.client.v1.payment_intents.retrieve(payment_id, {"expand": ["latest_charge"]})
        except stripe.StripeError as exc:
            raise GatewayError(exc.user_message or str(exc)) from exc
        return payment_from_intent(_dict(pi))

    def capture(self, payment_id: str, *, amount: int | None, idempotency_key: str) -> Payment:
        params = {"amount_to_capture": amount} if amount is not None else None
        self._call(self.client.v1.payment_intents.capture, payment_id, params, {"idempotency_key": idempotency_key})
        return self.retrieve(payment_id)  # with its charge, so captured and refunded amounts are exact

    def cancel(self, payment_id: str, *, idempotency_key: str) -> Payment:
        return self._call(self.client.v1.payment_intents.cancel, payment_id, None, {"idempotency_key": idempotency_key})

    def refund(self, payment_id: str, *, amount: int | None, idempotency_key: str) -> Payment:
        params: dict[str, Any] = {"payment_intent": payment_id, "metadata": {"deposit_refund": idempotency_key}}
        if amount is not None:
            params["amount"] = amount
        try:
            self.client.v1.refunds.create(params, {"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise GatewayError(exc.user_message or str(exc)) from exc
        return self.retrieve(payment_id)

    def test_payment_method(self, card_number: str) -> str:
        """A card payment method from a raw test card number: localstripe only (real Stripe refuses raw numbers)."""
        try:
            method = self.client.v1.payment_methods.create(
                {"type": "card", "card": {"number": card_number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
            )
        except stripe.StripeError as exc:
            raise GatewayError(exc.user_message or str(exc)) from exc
        return method.id

    # ------------------------------------------------------------ webhooks

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        return parse_signed(payload, signature, self.webhook_secret)


# Stripe's own default: an event signed longer ago than this is refused (replays of recorded events).
WEBHOOK_TOLERANCE_SECONDS = 300


def parse_signed(payload: bytes, signature: str | None, secret: str | None) -> WebhookEvent:
    """Verify Stripe's signature header (HMAC of timestamp.payload, 5 minutes tolerance), then parse."""
    if not secret:
        raise InvalidWebhook("no webhook secret is configured")
    try:
        # Without a tolerance the library checks no age at all: a recorded event could be replayed forever.
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature or "", secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
        )
        data = json.loads(payload)
        # A signed body can still be malformed (Stripe's bug, a test tool): refuse it as invalid, never crash.
        return event_from_payload(data)
    except (
        stripe.SignatureVerificationError,
        UnicodeDecodeError,
        ValueError,
        TypeError,
        AttributeError,
        KeyError,
    ) as exc:
        raise InvalidWebhook(str(exc)) from exc


def event_from_payload(data: dict[str, Any]) -> WebhookEvent:
    """A verified event's payload as the services see it."""
    if not isinstance(data, dict):
        raise InvalidWebhook("not a Stripe event")
    for key in ("id", "type"):
        if not isinstance(data.get(key), str) or not 0 < len(data[key]) <= 255:
            raise InvalidWebhook(f"the event has no valid {key}")
    body = data.get("data", {})
    obj = body.get("object") if isinstance(body, dict) else body
    if obj is None:
        obj = {}
    if not isinstance(body, dict) or not isinstance(obj, dict):
        raise InvalidWebhook("the event's data.object is not an object")
    if obj.get("id") is not None and (not isinstance(obj["id"], str) or len(obj["id"]) > 255):
        raise InvalidWebhook("the event's object has no valid id")
    payment: Payment | None = None
    if data["type"] in PAYMENT_INTENT_EVENTS and obj.get("object") == "payment_intent":
        payment = payment_from_intent(obj)
    elif data["type"] in CHARGE_EVENTS and obj.get("object") == "charge" and obj.get("payment_intent"):
        payment = payment_from_charge(obj)
    if payment is not None:
        if not isinstance(payment.id, str) or not 0 < len(payment.id) <= 255:
            raise InvalidWebhook("the event names no valid PaymentIntent")
        if not isinstance(payment.metadata, dict) or len(payment.currency) != 3:
            raise InvalidWebhook("the event's payment has no valid metadata or currency")
    return WebhookEvent(
        id=str(data["id"]),
        type=str(data["type"]),
        payment_intent_id=payment.id if payment else None,
        payment=payment,
        payload=data,
    )
