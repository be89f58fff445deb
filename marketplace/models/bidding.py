"""Sealed bids on lots, package bids over several lots, and an OEM's capacity for a round.

A bid or a package keeps every revision; the last one counts. A withdrawal is a revision too.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.catalog import VehicleModel
from marketplace.models.organization import Organization
from marketplace.models.pooling import Lot
from marketplace.models.public_id import PublicId
from marketplace.models.types import UTCDateTime
from marketplace.services.clock import now


def _latest_join(revision: type, owner_key: sa.ColumnElement, owner_id: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """Join an owner (bid, package) to its highest-numbered revision only."""
    other = aliased(revision)
    highest = (
        sa.select(sa.func.max(other.number))
        .where(getattr(other, owner_key.key) == owner_key)
        .correlate_except(other)
        .scalar_subquery()
    )
    return sa.and_(owner_key == owner_id, revision.number == highest)


class BidStatus(enum.Enum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class Bid(PublicId, db.Model):
    """One OEM's offer on one lot (at most one per lot); its revisions carry the terms."""

    __tablename__ = "bid"
    __table_args__ = (sa.UniqueConstraint("lot_id", "organization_id", name="uq_bid_lot_supplier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    lot: Mapped[Lot] = relationship()
    organization: Mapped[Organization] = relationship()
    revisions: Mapped[list[BidRevision]] = relationship(back_populates="bid", order_by="BidRevision.number")

    # The revision that counts, loadable alone: a bid may have thousands of revisions (history on demand).
    current_revision: Mapped[BidRevision | None] = relationship(
        primaryjoin=lambda: _latest_join(BidRevision, BidRevision.bid_id, Bid.id), viewonly=True, uselist=False
    )

    @property
    def current(self) -> BidRevision | None:
        return self.current_revision


class BidRevision(db.Model):
    __tablename__ = "bid_revision"
    __table_args__ = (
        sa.UniqueConstraint("bid_id", "number", name="uq_bid_revision_number"),
        sa.CheckConstraint("min_quantity > 0 AND max_quantity >= min_quantity", name="quantity_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bid.id"), index=True)
    number: Mapped[int]  # 1, 2, 3...: the highest counts
    withdrawn: Mapped[bool] = mapped_column(default=False)
    vehicle_model_id: Mapped[int] = mapped_column(sa.ForeignKey("vehicle_model.id"))
    min_quantity: Mapped[int]
    max_quantity: Mapped[int]
    # The quarters ("2027Q2") the bid can deliver in, sorted; None: any quarter of the lines' windows.
    quarters: Mapped[list[str] | None] = mapped_column(sa.JSON, default=None)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))

    bid: Mapped[Bid] = relationship(back_populates="revisions")
    vehicle_model: Mapped[VehicleModel] = relationship()
    tiers: Mapped[list[BidTier]] = relationship(order_by="BidTier.min_quantity", cascade="all, delete-orphan")


class BidTier(db.Model):
    """All-units volume tier: from `min_quantity` vehicles, every unit costs `unit_price`."""

    __tablename__ = "bid_tier"
    __table_args__ = (sa.CheckConstraint("unit_price > 0", name="price_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(sa.ForeignKey("bid_revision.id"), index=True)
    min_quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))


class PackageBid(PublicId, db.Model):
    """An OEM's all-or-nothing offer over several lots; its revisions carry the items."""

    __tablename__ = "package_bid"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    organization: Mapped[Organization] = relationship()
    revisions: Mapped[list[PackageRevision]] = relationship(back_populates="package", order_by="PackageRevision.number")

    current_revision: Mapped[PackageRevision | None] = relationship(
        primaryjoin=lambda: _latest_join(PackageRevision, PackageRevision.package_id, PackageBid.id),
        viewonly=True,
        uselist=False,
    )

    @property
    def current(self) -> PackageRevision | None:
        return self.current_revision


class PackageRevision(db.Model):
    __tablename__ = "package_revision"
    __table_args__ = (sa.UniqueConstraint("package_id", "number", name="uq_package_revision_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(sa.ForeignKey("package_bid.id"), index=True)
    number: Mapped[int]
    withdrawn: Mapped[bool] = mapped_column(default=False)
    quarters: Mapped[list[str] | None] = mapped_column(sa.JSON, default=None)  # as BidRevision.quarters
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))

    package: Mapped[PackageBid] = relationship(back_populates="revisions")
    items: Mapped[list[PackageItem]] = relationship(order_by="PackageItem.lot_id", cascade="all, delete-orphan")


class PackageItem(db.Model):
    __tablename__ = "package_item"
    __table_args__ = (
        sa.UniqueConstraint("revision_id", "lot_id", name="uq_package_item_lot"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(sa.ForeignKey("package_revision.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"))
    vehicle_model_id: Mapped[int] = mapped_column(sa.ForeignKey("vehicle_model.id"))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))

    lot: Mapped[Lot] = relationship()
    vehicle_model: Mapped[VehicleModel] = relationship()


class RoundCapacity(db.Model):
    """How many vehicles an OEM can deliver over all its bids and packages in a round."""

    __tablename__ = "round_capacity"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "organization_id", name="uq_round_capacity_supplier"),
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    capacity: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class QuarterCapacity(db.Model):
    """How many vehicles an OEM can deliver in one quarter of a round (a production ramp).

    Without a segment it caps all the OEM's vehicles delivered in that quarter; with one, those of
    lots of that segment. An OEM that states any quarter delivers only in the quarters it states;
    RoundCapacity stays the total over the round.
    """

    __tablename__ = "quarter_capacity"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "organization_id", "quarter", "segment_id", name="uq_quarter_capacity"),
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    quarter: Mapped[str] = mapped_column(sa.String(6))  # "2027Q2": sorts as it reads
    segment_id: Mapped[str | None] = mapped_column(sa.ForeignKey("segment.id"))
    capacity: Mapped[int]
