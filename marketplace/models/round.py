"""A tender round and its phases."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.reference import Region, Segment
from marketplace.models.types import UTCDateTime, enum_column
from marketplace.services.clock import now


class RoundPhase(enum.Enum):
    DRAFT = "draft"
    DEMAND_OPEN = "demand_open"
    DEMAND_CLOSED = "demand_closed"
    POOLED = "pooled"
    TENDERING = "tendering"
    BIDS_CLOSED = "bids_closed"
    AWARDED = "awarded"
    CONTRACTING = "contracting"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class FeedbackRule(enum.Enum):
    """What an OEM is told about its bids after the award (never another supplier's name or price)."""

    NONE = "none"  # nothing beyond what it won
    WON_LOST = "won_lost"  # per lot: won or not
    RANK = "rank"  # per lot: the rank of its lowest unit price among the offers
    DISTANCE = "distance"  # per lot: how far its lowest unit price is above the winning one, in %

    @property
    def label(self) -> str:
        return FEEDBACK_LABELS[self]


FEEDBACK_LABELS = {
    FeedbackRule.NONE: "None: each OEM sees only what it won",
    FeedbackRule.WON_LOST: "Won or lost, per lot",
    FeedbackRule.RANK: "Rank of its price, per lot",
    FeedbackRule.DISTANCE: "Distance to the winning unit price in %, per lot",
}


class LineService(enum.Enum):
    WHOLE = "whole"  # one source per demand line, one price
    SPLIT = "split"  # a line may be served by several sources


round_segment = sa.Table(
    "round_segment",
    db.metadata,
    sa.Column("round_id", sa.ForeignKey("round.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("segment_id", sa.ForeignKey("segment.id"), primary_key=True),
)

round_region = sa.Table(
    "round_region",
    db.metadata,
    sa.Column("round_id", sa.ForeignKey("round.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("region_id", sa.ForeignKey("region.id"), primary_key=True),
)


class Round(db.Model):
    __tablename__ = "round"
    __table_args__ = (
        sa.CheckConstraint("min_lot_quantity > 0", name="min_lot_positive"),
        sa.CheckConstraint("max_lot_quantity >= min_lot_quantity", name="lot_bounds_ordered"),
        sa.CheckConstraint("max_share_per_supplier > 0 AND max_share_per_supplier <= 1", name="share_in_range"),
        sa.CheckConstraint("deposit_per_vehicle >= 0", name="deposit_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    phase: Mapped[RoundPhase] = enum_column(RoundPhase, default=RoundPhase.DRAFT, index=True)

    # Deadlines are instants in UTC; pages show them in the reader's time zone.
    demand_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bid_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmation_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmation_period_days: Mapped[int] = mapped_column(default=14)
    # Members may ask questions until then (None: until bids close); services.clarifications.
    clarification_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Pooling rules.
    min_lot_quantity: Mapped[int] = mapped_column(default=20)
    max_lot_quantity: Mapped[int] = mapped_column(default=400)
    max_levels_up: Mapped[int] = mapped_column(default=2)

    # Award rules.
    max_winners_per_lot: Mapped[int] = mapped_column(default=2)
    max_share_per_supplier: Mapped[Decimal] = mapped_column(sa.Numeric(4, 3), default=Decimal("1.000"))
    line_service: Mapped[LineService] = enum_column(LineService, default=LineService.WHOLE)
    # What OEMs are told about their bids once the award is published.
    feedback_rule: Mapped[FeedbackRule] = enum_column(
        FeedbackRule, default=FeedbackRule.WON_LOST, server_default=FeedbackRule.WON_LOST.value
    )

    # Money.
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    deposit_per_vehicle: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal("0.00"))
    decline_forfeit_percent: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("100.00"))
    withdrawal_forfeit_percent: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("0.00"))

    # The pooling run whose lots are the tender, and the scenario that is the award, once published.
    published_pooling_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("pooling_run.id", use_alter=True, name="fk_round_published_pooling_run_id_pooling_run")
    )
    published_scenario_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("award_scenario.id", use_alter=True, name="fk_round_published_scenario_id_award_scenario")
    )

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    phase_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    segments: Mapped[list[Segment]] = relationship(secondary=round_segment, order_by="Segment.id")
    regions: Mapped[list[Region]] = relationship(secondary=round_region, order_by="Region.id")

    @property
    def asks_deposit(self) -> bool:
        return self.deposit_per_vehicle > 0

    def __repr__(self) -> str:
        return f"<Round {self.id} {self.phase.value} {self.name!r}>"
