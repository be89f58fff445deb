"""Outside payment systems behind one interface: Stripe (real or localstripe) and a null gateway (payments off).

The services only see `PaymentGateway`, `Payment` (what the gateway says about one hold) and
`WebhookEvent`; amounts cross this boundary in integer minor units (cents, or yen for JPY).
`gateway()` picks the implementation from the app's config: no STRIPE_SECRET_KEY, payments off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any, Protocol

from flask import current_app

from marketplace.services.values import minor_unit  # the currencies' minor units are defined once, there


def to_minor(amount: Decimal, currency: str) -> int:
    """An exact decimal amount to Stripe's integer; refuses an amount that is not whole in minor units."""
    unit = minor_unit(currency)
    units = amount / unit
    if units != units.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of {unit} {currency}")
    return int(units)


def from_minor(units: int, currency: str) -> Decimal:
    return (Decimal(units) * minor_unit(currency)).quantize(Decimal("0.01"))


def share_of(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    """`percent` of `amount`, rounded down to the currency's minor unit: a rule never keeps more than it says."""
    unit = minor_unit(currency)
    return (amount * percent / Decimal(100) / unit).to_integral_value(rounding=ROUND_DOWN) * unit


class GatewayError(Exception):
    """The gateway refused or failed. `declined` is a card decline (the fleet's problem, not ours)."""

    def __init__(self, message: str, *, declined: bool = False, payment: Payment | None = None):
        super().__init__(message)
        self.message = message
        self.declined = declined
        self.payment = payment


class InvalidWebhook(Exception):
    """The payload is not a webhook this gateway signed (bad signature, stale, not JSON)."""


@dataclass(frozen=True)
class Payment:
    """What the gateway says about one hold (a PaymentIntent with manual capture), in minor units.

    `captured` is the money charged and kept so far and `refunded` what was paid back of it;
    `capturable` is what is authorised and can still be captured.
    """

    id: str
    status: str  # Stripe's: requires_payment_method, requires_confirmation, requires_action,
    # processing, requires_capture, succeeded, canceled
    amount: int
    currency: str
    capturable: int = 0
    captured: int = 0
    refunded: int = 0
    client_secret: str | None = None
    failure: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    payment_intent_id: str | None
    payment: Payment | None  # the hold as the event describes it, when it describes one
    payload: dict[str, Any]


class PaymentGateway(Protocol):
    enabled: bool
    publishable_key: str | None
    js_url: str | None  # where the browser loads Stripe.js from (localstripe serves a fake one)

    def create_hold(self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str) -> Payment: ...

    def confirm(self, payment_id: str, *, payment_method: str, idempotency_key: str) -> Payment: ...

    def retrieve(self, payment_id: str) -> Payment: ...

    def capture(self, payment_id: str, *, amount: int | None, idempotency_key: str) -> Payment: ...

    def cancel(self, payment_id: str, *, idempotency_key: str) -> Payment: ...

    def refund(self, payment_id: str, *, amount: int | None, idempotency_key: str) -> Payment: ...

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent: ...


_override: PaymentGateway | None = None


def use(gateway_: PaymentGateway | None) -> None:
    """Tests: put a fake gateway in place (None restores the configured one)."""
    global _override
    _override = gateway_


def gateway() -> PaymentGateway:
    """The gateway the app's config asks for: Stripe when a secret key is set, else payments off."""
    if _override is not None:
        return _override
    config = current_app.config
    if not config.get("STRIPE_SECRET_KEY"):
        from marketplace.gateways.null import NullGateway

        return NullGateway()
    cached = current_app.extensions.get("payment_gateway")
    if cached is None:
        from marketplace.gateways.stripe import StripeGateway

        cached = StripeGateway(
            secret_key=config["STRIPE_SECRET_KEY"],
            publishable_key=config.get("STRIPE_PUBLISHABLE_KEY"),
            webhook_secret=config.get("STRIPE_WEBHOOK_SECRET"),
            api_base=config.get("STRIPE_API_BASE"),
        )
        current_app.extensions["payment_gateway"] = cached
    return cached


def payments_on() -> bool:
    return gateway().enabled
