"""Deposits: one per committed demand line, held on the fleet's card until the round's outcome.

The ledger is the truth the app acts on; Stripe is the truth about money. Amounts are exact
decimals in the round's currency. They always balance, per deposit and so per round:

    held = applied + forfeited + refunded + released + still held

(`still_held` is what remains of the hold; it is above zero only while the deposit is held).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.demand import DemandLine
from marketplace.models.organization import Organization
from marketplace.models.public_id import PublicId
from marketplace.models.round import Round
from marketplace.models.types import UTCDateTime, enum_column
from marketplace.services.clock import now

ZERO = Decimal("0.00")


def new_reference() -> str:
    return uuid.uuid4().hex


class DepositState(enum.Enum):
    PENDING = "pending"  # a hold was asked for; waiting for the fleet's card
    HELD = "held"  # the card is authorised for the amount: nothing charged yet
    CAPTURED = "captured"  # charged and applied to the purchase (confirmed allocation)
    RELEASED = "released"  # the hold was cancelled: nothing was ever charged
    REFUNDED = "refunded"  # charged, then paid back
    FORFEITED = "forfeited"  # the round's rule kept part or all of it (decline, withdrawal)
    FAILED = "failed"  # the card was declined; the fleet may try another card

    @property
    def label(self) -> str:
        return "captured (applied)" if self is DepositState.CAPTURED else self.value

    @property
    def final(self) -> bool:
        return self in (DepositState.RELEASED, DepositState.REFUNDED, DepositState.FORFEITED, DepositState.CAPTURED)


class DepositOutcome(enum.Enum):
    """What the round's outcome asks of a held deposit; set before Stripe is asked, so a re-run asks the same."""

    APPLY = "apply"  # capture all of it
    FORFEIT = "forfeit"  # capture the forfeit part, release the rest
    RELEASE = "release"  # cancel the hold (or refund what was captured)


class Deposit(PublicId, db.Model):
    __tablename__ = "deposit"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(
            "applied_amount >= 0 AND forfeited_amount >= 0 AND refunded_amount >= 0 AND released_amount >= 0",
            name="parts_not_negative",
        ),
        sa.CheckConstraint(
            # In cents: SQLite keeps NUMERIC as floating point, where 370.36 + 3333.32 > 3703.68.
            "ROUND((applied_amount + forfeited_amount + refunded_amount + released_amount) * 100)"
            " <= ROUND(held_amount * 100)",
            name="parts_within_hold",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id"), index=True)
    demand_line_id: Mapped[int] = mapped_column(sa.ForeignKey("demand_line.id"), unique=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    state: Mapped[DepositState] = enum_column(DepositState, default=DepositState.PENDING, index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))  # deposit per vehicle x quantity
    held_amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=ZERO)
    applied_amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=ZERO)
    forfeited_amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=ZERO)
    refunded_amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=ZERO)
    released_amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=ZERO)
    # What the outcome rule asked (None until the round decides) and, for a forfeit, how much.
    outcome: Mapped[DepositOutcome | None] = enum_column(DepositOutcome)
    outcome_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    outcome_reason: Mapped[str] = mapped_column(sa.String(300), default="")
    # Random, never reused: names this deposit to Stripe (metadata, idempotency keys). The row id
    # alone is not enough: another installation on the same Stripe account, or a database restored
    # from backup, has its own deposit 5, and Stripe keeps idempotency keys for 24 hours.
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_reference)
    payment_intent_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    client_secret: Mapped[str | None] = mapped_column(sa.String(255))  # for Stripe.js on the pay page only
    failure_message: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    round: Mapped[Round] = relationship()
    demand_line: Mapped[DemandLine] = relationship()
    organization: Mapped[Organization] = relationship()

    @property
    def still_held(self) -> Decimal:
        return (
            self.held_amount
            - self.applied_amount
            - self.forfeited_amount
            - self.refunded_amount
            - (self.released_amount)
        )

    def amounts(self) -> dict[str, str]:
        """The money columns as the audit log keeps them (exact strings)."""
        return {
            "state": self.state.value,
            "held": str(self.held_amount),
            "applied": str(self.applied_amount),
            "forfeited": str(self.forfeited_amount),
            "refunded": str(self.refunded_amount),
            "released": str(self.released_amount),
            "failure": self.failure_message,
        }

    def __repr__(self) -> str:
        return f"<Deposit {self.id} {self.state.value} {self.amount} {self.currency}>"


class StripeEvent(db.Model):
    """A webhook event received: its id is unique, so a replay is recognised and changes nothing."""

    __tablename__ = "stripe_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    payment_intent_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str] = mapped_column(sa.String(300), default="")  # what it did to the ledger, for people

    def __repr__(self) -> str:
        return f"<StripeEvent {self.event_id} {self.type}>"
