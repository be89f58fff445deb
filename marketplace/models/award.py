"""Award scenarios (one award computed under one set of rules) and the allocations they make."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.catalog import VehicleModel
from marketplace.models.demand import DemandLine
from marketplace.models.organization import Organization
from marketplace.models.pooling import Lot, SolverRunMixin
from marketplace.models.public_id import PublicId
from marketplace.models.round import LineService
from marketplace.models.types import UTCDateTime, enum_column


class AwardScenario(SolverRunMixin, db.Model):
    __tablename__ = "award_scenario"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    # The rules of this scenario: the round's by default, or a variation to compare.
    max_winners_per_lot: Mapped[int]
    max_share_per_supplier: Mapped[Decimal] = mapped_column(sa.Numeric(4, 3))
    line_service: Mapped[LineService] = enum_column(LineService)
    excluded_supplier_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    # Among awards of as many vehicles at the lowest price, the one with the earliest deliveries
    # (the solver's rules.prefer_early_delivery; no effect in a round without delivery quarters).
    prefer_early_delivery: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # What came of it (the solver's stats.early_delivery.applied): True when no award of as many vehicles at
    # the same price delivers earlier (proven), False when the search stopped before proving it; None when
    # not asked, or when the round has no delivery quarters (nothing to prefer).
    early_delivery_proven: Mapped[bool | None] = mapped_column(default=None)
    awarded_quantity: Mapped[int] = mapped_column(default=0)
    total_price: Mapped[Decimal] = mapped_column(sa.Numeric(16, 2), default=Decimal("0"))
    bound_quantity: Mapped[int] = mapped_column(default=0)
    bound_price: Mapped[Decimal] = mapped_column(sa.Numeric(16, 2), default=Decimal("0"))

    allocations: Mapped[list[Allocation]] = relationship(back_populates="scenario", order_by="Allocation.id")
    unserved: Mapped[list[UnservedLine]] = relationship(order_by="UnservedLine.id")

    @property
    def early_delivery(self) -> str:
        """What "prefer earlier delivery" did: "not asked", "no quarters", "proven" or "not proven"."""
        if not self.prefer_early_delivery:
            return "not asked"
        if self.early_delivery_proven is None:
            return "no quarters"
        return "proven" if self.early_delivery_proven else "not proven"

    def __repr__(self) -> str:
        return f"<AwardScenario {self.id} {self.name!r} {self.status.value}>"


class ConfirmationStatus(enum.Enum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    # A winner's allocation taken back when it withdrew or was declared in default (services.backups).
    WITHDRAWN = "withdrawn"
    # A backup supplier's allocation, promoted by the coordinator: waits for that supplier to accept
    # (then it is pending: the fleet confirms or declines it), or it refused.
    OFFERED = "offered"
    REFUSED = "refused"

    @property
    def label(self) -> str:
        return {"withdrawn": "supplier dropped out", "offered": "waiting for the backup supplier",
                "refused": "backup refused"}.get(self.value, self.value)  # fmt: skip

    @property
    def live(self) -> bool:
        """Still part of the award: decided by the fleet, or waiting for it or for the backup supplier."""
        return self not in (ConfirmationStatus.WITHDRAWN, ConfirmationStatus.REFUSED)


class Allocation(PublicId, db.Model):
    """Vehicles of one source (a bid or a package item) allocated to one demand line, at one unit price."""

    __tablename__ = "allocation"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(sa.ForeignKey("award_scenario.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    demand_line_id: Mapped[int] = mapped_column(sa.ForeignKey("demand_line.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)  # the supplier
    bid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bid.id"))
    package_bid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("package_bid.id"))
    vehicle_model_id: Mapped[int] = mapped_column(sa.ForeignKey("vehicle_model.id"))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    confirmation: Mapped[ConfirmationStatus] = enum_column(ConfirmationStatus, default=ConfirmationStatus.PENDING)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # The promoted backup this allocation comes from (None: from the award itself).
    backup_id: Mapped[int | None] = mapped_column(sa.ForeignKey("backup.id"), index=True)

    scenario: Mapped[AwardScenario] = relationship(back_populates="allocations")
    lot: Mapped[Lot] = relationship()
    demand_line: Mapped[DemandLine] = relationship()
    supplier: Mapped[Organization] = relationship()
    vehicle_model: Mapped[VehicleModel] = relationship()
    # When each vehicle is delivered (the award's delivery quarters); empty when the award set none.
    deliveries: Mapped[list[AllocationDelivery]] = relationship(
        order_by="AllocationDelivery.quarter", cascade="all, delete-orphan"
    )


class AllocationDelivery(db.Model):
    """How many vehicles of an allocation are delivered in one quarter."""

    __tablename__ = "allocation_delivery"
    __table_args__ = (
        sa.UniqueConstraint("allocation_id", "quarter", name="uq_allocation_delivery_quarter"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    allocation_id: Mapped[int] = mapped_column(sa.ForeignKey("allocation.id"), index=True)
    quarter: Mapped[str] = mapped_column(sa.String(6))
    quantity: Mapped[int]


class UnservedLine(db.Model):
    __tablename__ = "unserved_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(sa.ForeignKey("award_scenario.id"), index=True)
    demand_line_id: Mapped[int] = mapped_column(sa.ForeignKey("demand_line.id"), index=True)
    quantity: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(300))

    demand_line: Mapped[DemandLine] = relationship()
