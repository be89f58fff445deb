"""Payments off: no key configured. Lines commit without a deposit; any call that would move money refuses."""

from __future__ import annotations

from marketplace.gateways import GatewayError, InvalidWebhook, Payment, WebhookEvent


class NullGateway:
    enabled = False
    publishable_key = None
    js_url = None

    def _off(self) -> GatewayError:
        return GatewayError("Payments are off on this site (no Stripe key is configured).")

    def create_hold(self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str) -> Payment:
        raise self._off()

    def confirm(self, payment_id: str, *, payment_method: str, idempotency_key: str) -> Payment:
        raise self._off()

    def retrieve(self, payment_id: str) -> Payment:
        raise self._off()

    def capture(self, payment_id: str, *, amount: int | None, idempotency_key: str) -> Payment:
        raise self._off()

    def cancel(self, payment_id: str, *, idempotency_key: str) -> Payment:
        raise self._off()

    def refund(self, payment_id: str, *, amount: int | None, idempotency_key: str) -> Payment:
        raise self._off()

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        # Without a webhook secret nothing can be verified, so nothing is accepted.
        raise InvalidWebhook("payments are off")
