"""Reference data: vehicle segments and the region tree (loaded from marketplace/data)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db


class Segment(db.Model):
    __tablename__ = "segment"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # e.g. "md_box_truck"
    name: Mapped[str] = mapped_column(sa.String(200))
    vehicle_group: Mapped[str] = mapped_column(sa.String(32))  # bus, truck, equipment
    beachhead_wave: Mapped[int]
    charging_standards: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    typical_range_km_min: Mapped[int | None]
    typical_range_km_max: Mapped[int | None]
    capacity_unit: Mapped[str] = mapped_column(sa.String(64), default="")
    duty_cycle: Mapped[str] = mapped_column(sa.String(500), default="")

    @property
    def short_name(self) -> str:
        """ "Transit bus (9-12 m; 18 m articulated)" -> "Transit bus", for lists and tables."""
        return self.name.split(" (")[0]

    def __repr__(self) -> str:
        return f"<Segment {self.id}>"


class Region(db.Model):
    """A node of the region tree: world region > country > subdivision > metro."""

    __tablename__ = "region"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # e.g. "US-CA", "us-ca-los-angeles"
    level: Mapped[str] = mapped_column(sa.String(16))  # world_region, country, subdivision, metro
    name: Mapped[str] = mapped_column(sa.String(200))
    parent_id: Mapped[str | None] = mapped_column(sa.ForeignKey("region.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(16), default="")
    code_system: Mapped[str] = mapped_column(sa.String(32), default="")
    dtz_key_region: Mapped[str] = mapped_column(sa.String(64), default="")  # Drive to Zero first-mover tag

    parent: Mapped[Region | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Region]] = relationship(back_populates="parent", order_by="Region.id")

    LEVELS = ("world_region", "country", "subdivision", "metro")

    @property
    def depth(self) -> int:
        return self.LEVELS.index(self.level) if self.level in self.LEVELS else 0

    def __repr__(self) -> str:
        return f"<Region {self.id}>"
