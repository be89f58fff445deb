"""An OEM's catalog of vehicle models."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.organization import Organization
from marketplace.models.reference import Segment
from marketplace.models.types import UTCDateTime
from marketplace.services.clock import now


class VehicleModel(db.Model):
    __tablename__ = "vehicle_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)  # model_id of the data file
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    manufacturer: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(200))
    segment_id: Mapped[str] = mapped_column(sa.ForeignKey("segment.id"), index=True)
    powertrain: Mapped[str] = mapped_column(sa.String(8))  # BEV, FCEV
    markets: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # ISO 3166-1 country codes
    battery_kwh: Mapped[int | None]
    range_km: Mapped[int | None]
    payload_kg: Mapped[int | None]
    capacity: Mapped[int | None]
    capacity_unit: Mapped[str] = mapped_column(sa.String(64), default="")
    charging: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # normalised standards
    charging_note: Mapped[str] = mapped_column(sa.String(200), default="")  # as the maker states it
    list_price: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    price_status: Mapped[str] = mapped_column(sa.String(32), default="estimated")
    yearly_capacity: Mapped[int | None]
    retired: Mapped[bool] = mapped_column(default=False)
    source_url: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    organization: Mapped[Organization] = relationship()
    segment: Mapped[Segment] = relationship()

    def __repr__(self) -> str:
        return f"<VehicleModel {self.code}>"
