"""A fake payment gateway behind the same interface, for what localstripe does not do.

It keeps PaymentIntents in memory with Stripe's statuses, refuses what Stripe refuses (capturing
twice, cancelling a captured intent), counts calls, and can be told to fail the next call after
doing it (a lost response), so the services' retries and idempotency can be tested. Webhook
signatures are verified by the real code (`parse_signed`) with a test secret.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import stripe

from marketplace.gateways import GatewayError, Payment, WebhookEvent
from marketplace.gateways.stripe import parse_signed

SECRET = "whsec_test_fake"
DECLINED = "pm_card_chargeDeclined"
_ids = itertools.count(1)


class FakeGateway:
    enabled = True
    publishable_key = "pk_test_fake"
    js_url = None

    def __init__(self) -> None:
        self.intents: dict[str, Payment] = {}
        self.calls: Counter[str] = Counter()
        self.keys: dict[str, Payment] = {}  # idempotency key -> first answer
        self.lose_next_response = False

    def _answer(self, key: str, payment: Payment) -> Payment:
        self.intents[payment.id] = payment
        self.keys[key] = payment
        if self.lose_next_response:  # Stripe did it, but the answer never arrived
            self.lose_next_response = False
            raise GatewayError("connection reset")
        return payment

    def create_hold(self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str) -> Payment:
        if idempotency_key in self.keys:
            return self.keys[idempotency_key]
        self.calls["create_hold"] += 1
        pi = f"pi_fake{next(_ids)}"
        payment = Payment(
            id=pi, status="requires_payment_method", amount=amount, currency=currency.upper(),
            client_secret=f"{pi}_secret_x", metadata=metadata,
        )  # fmt: skip
        return self._answer(idempotency_key, payment)

    def confirm(self, payment_id: str, *, payment_method: str, idempotency_key: str) -> Payment:
        p = self.intents[payment_id]
        if p.status not in ("requires_payment_method", "requires_confirmation"):
            raise GatewayError("This PaymentIntent's status does not allow confirmation.")
        self.calls["confirm"] += 1
        if payment_method == DECLINED:
            failed = replace(p, status="requires_payment_method", failure="Your card was declined.")
            self.intents[payment_id] = failed
            raise GatewayError("Your card was declined.", declined=True, payment=failed)
        return self._answer(idempotency_key, replace(p, status="requires_capture", capturable=p.amount, failure=None))

    def retrieve(self, payment_id: str) -> Payment:
        return self.intents[payment_id]

    def capture(self, payment_id: str, *, amount: int | None, idempotency_key: str) -> Payment:
        if idempotency_key in self.keys:
            return self.keys[idempotency_key]
        p = self.intents[payment_id]
        if p.status != "requires_capture":
            raise GatewayError("This PaymentIntent could not be captured because it has a status of " + p.status)
        self.calls["capture"] += 1
        amount = p.amount if amount is None else amount
        return self._answer(idempotency_key, replace(p, status="succeeded", capturable=0, captured=amount))

    def cancel(self, payment_id: str, *, idempotency_key: str) -> Payment:
        if idempotency_key in self.keys:
            return self.keys[idempotency_key]
        p = self.intents[payment_id]
        if p.status in ("succeeded", "canceled"):
            raise GatewayError("You cannot cancel this PaymentIntent because it has a status of " + p.status)
        self.calls["cancel"] += 1
        return self._answer(idempotency_key, replace(p, status="canceled", capturable=0))

    def refund(self, payment_id: str, *, amount: int | None, idempotency_key: str) -> Payment:
        if idempotency_key in self.keys:
            return self.keys[idempotency_key]
        p = self.intents[payment_id]
        if p.status != "succeeded" or p.refunded >= p.captured:
            raise GatewayError("Charge has already been refunded.")
        self.calls["refund"] += 1
        amount = p.captured - p.refunded if amount is None else amount
        return self._answer(idempotency_key, replace(p, refunded=p.refunded + amount))

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        return parse_signed(payload, signature, SECRET)


# ---------------------------------------------------------------- Stripe-shaped events, signed


def intent_event(event_id: str, type_: str, pi: str, *, amount: int, status: str, **fields: Any) -> dict[str, Any]:
    obj = {"id": pi, "object": "payment_intent", "amount": amount, "currency": "usd", "status": status,
           "capture_method": "manual", "amount_capturable": 0, "amount_received": 0, "latest_charge": "ch_x",
           "metadata": {}} | fields  # fmt: skip
    return {"id": event_id, "object": "event", "type": type_, "created": int(time.time()), "data": {"object": obj}}


def charge_event(event_id: str, type_: str, pi: str, *, amount: int, captured: int, refunded: int) -> dict[str, Any]:
    obj = {"id": "ch_x", "object": "charge", "payment_intent": pi, "amount": amount, "currency": "usd",
           "captured": captured > 0, "amount_captured": captured, "amount_refunded": refunded,
           "refunded": refunded >= captured > 0, "status": "succeeded", "metadata": {}}  # fmt: skip
    return {"id": event_id, "object": "event", "type": type_, "created": int(time.time()), "data": {"object": obj}}


def signed(event: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret)
    return payload.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}
