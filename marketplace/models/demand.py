"""A fleet's demand line in a round."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.organization import Organization
from marketplace.models.reference import Region, Segment
from marketplace.models.round import Round
from marketplace.models.types import UTCDateTime, enum_column
from marketplace.services.clock import now


class DemandStatus(enum.Enum):
    DRAFT = "draft"  # posted, waiting for its deposit
    COMMITTED = "committed"  # deposit paid, or the round asks none
    WITHDRAWN = "withdrawn"


class DemandLine(db.Model):
    __tablename__ = "demand_line"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("earliest_quarter <= latest_quarter", name="window_ordered"),
        sa.CheckConstraint("max_unit_price > 0", name="max_price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    segment_id: Mapped[str] = mapped_column(sa.ForeignKey("segment.id"))
    region_id: Mapped[str] = mapped_column(sa.ForeignKey("region.id"))
    quantity: Mapped[int]
    earliest_quarter: Mapped[str] = mapped_column(sa.String(6))  # "2027Q2": sorts as it reads
    latest_quarter: Mapped[str] = mapped_column(sa.String(6))
    min_range_km: Mapped[int] = mapped_column(default=0)
    min_payload_kg: Mapped[int] = mapped_column(default=0)
    charging: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # accepted charging standards
    max_unit_price: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    splittable: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    status: Mapped[DemandStatus] = enum_column(DemandStatus, default=DemandStatus.DRAFT, index=True)
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    round: Mapped[Round] = relationship()
    organization: Mapped[Organization] = relationship()
    segment: Mapped[Segment] = relationship()
    region: Mapped[Region] = relationship()

    @property
    def window(self) -> str:
        if self.earliest_quarter == self.latest_quarter:
            return self.earliest_quarter
        return f"{self.earliest_quarter}–{self.latest_quarter}"

    @property
    def in_words(self) -> str:
        """The line as its fleet recognises it: "12 Transit bus in California, 2027Q2-2027Q3"."""
        return f"{self.quantity:,} {self.segment.short_name} in {self.region.name}, {self.window}"

    def __repr__(self) -> str:
        return f"<DemandLine {self.id} {self.quantity}x{self.segment_id}@{self.region_id}>"


class DemandUpload(db.Model):
    """A checked spreadsheet waiting for "Save all": the parsed rows stay on the server, never in the browser.

    The preview page and the save refer to it by an unguessable token; saving re-checks the rows
    and marks it saved, so a second click cannot save the lines twice.
    """

    __tablename__ = "demand_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    row_count: Mapped[int] = mapped_column(default=0)
    # [{"row": 2, "line": {"segment_id": "md_box_truck", ...}}, ...]: the checked lines, by spreadsheet row.
    rows: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[Round] = relationship()

    def __repr__(self) -> str:
        return f"<DemandUpload {self.id} {self.row_count} rows>"
