"""Backup winners: for each lot and winning supplier of a scenario, who would replace that supplier.

The solver computes them with every award (docs/solver-io.md, `backups`); the scenario keeps them
as rows so that, in contracting, a coordinator can promote one when its supplier withdraws or is
declared in default. A backup with no rows of its own is "nobody can replace".
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.catalog import VehicleModel
from marketplace.models.demand import DemandLine
from marketplace.models.organization import Organization
from marketplace.models.pooling import Lot
from marketplace.models.public_id import PublicId
from marketplace.models.types import UTCDateTime, enum_column


class FailureCause(enum.Enum):
    """Why a winner's allocations in a lot are taken back."""

    WITHDREW = "withdrew"  # the OEM said it cannot deliver
    DEFAULT = "default"  # the coordinator declared it in default

    @property
    def label(self) -> str:
        return {"withdrew": "withdrew", "default": "declared in default"}[self.value]


class Backup(PublicId, db.Model):
    """The best re-award of the lines one winning supplier served in one lot, all other award rows fixed."""

    __tablename__ = "backup"
    __table_args__ = (sa.UniqueConstraint("scenario_id", "lot_id", "withdrawn_id", name="one_backup_per_winner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(sa.ForeignKey("award_scenario.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"))
    withdrawn_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"))  # the winner it replaces
    quantity: Mapped[int]  # vehicles the winner served in the lot
    covered_quantity: Mapped[int]  # of those, vehicles the replacement serves
    total_price: Mapped[Decimal] = mapped_column(sa.Numeric(16, 2))
    # Set when a coordinator promotes it (contracting): once per backup.
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    promoted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    cause: Mapped[FailureCause | None] = enum_column(FailureCause, nullable=True)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")

    lot: Mapped[Lot] = relationship()
    withdrawn: Mapped[Organization] = relationship()
    rows: Mapped[list[BackupAllocation]] = relationship(
        back_populates="backup", order_by="BackupAllocation.id", cascade="all, delete-orphan"
    )


class BackupAllocation(db.Model):
    """Vehicles of one replacement bid for one demand line, at the price of the bid's tier with them added."""

    __tablename__ = "backup_allocation"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="backup_quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    backup_id: Mapped[int] = mapped_column(sa.ForeignKey("backup.id"), index=True)
    demand_line_id: Mapped[int] = mapped_column(sa.ForeignKey("demand_line.id"))
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"))  # the backup supplier
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bid.id"))
    vehicle_model_id: Mapped[int] = mapped_column(sa.ForeignKey("vehicle_model.id"))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    deliveries: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)  # [{"quarter", "quantity"}] if any

    backup: Mapped[Backup] = relationship(back_populates="rows")
    demand_line: Mapped[DemandLine] = relationship()
    supplier: Mapped[Organization] = relationship()
    vehicle_model: Mapped[VehicleModel] = relationship()
