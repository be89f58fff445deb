"""Pooling runs and the lots they propose; one run per round is published as the tender."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.demand import DemandLine
from marketplace.models.reference import Region, Segment
from marketplace.models.types import UTCDateTime, enum_column
from marketplace.services.clock import now


class RunStatus(enum.Enum):
    """The life of a background solver run (pooling or award)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class SolverRunMixin:
    """What pooling runs and award scenarios share: the job's state, its progress and the exact solver documents."""

    status: Mapped[RunStatus] = enum_column(RunStatus, default=RunStatus.QUEUED)
    time_limit: Mapped[float] = mapped_column(default=60.0)
    # Live progress from the solver's callback: {"phase", "elapsed", "quantity", "quantity_bound", ...}.
    progress: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    # The exact documents given to and returned by the solver, so an auditor can re-run it byte for byte.
    input_json: Mapped[str | None] = mapped_column(sa.Text)
    output_json: Mapped[str | None] = mapped_column(sa.Text)
    solver_status: Mapped[str] = mapped_column(sa.String(16), default="")  # OPTIMAL or FEASIBLE
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The running job's lease, renewed every few seconds by its worker: once it lapses the worker
    # is taken for dead and the run fails, so the coordinator can start another at once.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str] = mapped_column(
        sa.String(120), default="", server_default=""
    )  # host:pid of the worker running it
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PoolingRun(SolverRunMixin, db.Model):
    __tablename__ = "pooling_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # The rules this run used (they may differ from the round's when a coordinator tries other bounds).
    min_lot_quantity: Mapped[int]
    max_lot_quantity: Mapped[int]
    max_levels_up: Mapped[int]
    total_quantity: Mapped[int] = mapped_column(default=0)
    pooled_quantity: Mapped[int] = mapped_column(default=0)
    bound_quantity: Mapped[int] = mapped_column(default=0)
    lot_count: Mapped[int] = mapped_column(default=0)

    lots: Mapped[list[Lot]] = relationship(back_populates="pooling_run", order_by="Lot.id")
    unpooled: Mapped[list[UnpooledLine]] = relationship(order_by="UnpooledLine.id")

    def __repr__(self) -> str:
        return f"<PoolingRun {self.id} round={self.round_id} {self.status.value}>"


class Lot(db.Model):
    """A tender: demand lines (or parts of splittable ones) that one bid can serve."""

    __tablename__ = "lot"
    __table_args__ = (sa.UniqueConstraint("pooling_run_id", "code", name="uq_lot_run_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id"), index=True)
    pooling_run_id: Mapped[int] = mapped_column(sa.ForeignKey("pooling_run.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))  # the solver's id, e.g. "lot-7"
    segment_id: Mapped[str] = mapped_column(sa.ForeignKey("segment.id"))
    region_id: Mapped[str] = mapped_column(sa.ForeignKey("region.id"))
    earliest_quarter: Mapped[str] = mapped_column(sa.String(6))
    latest_quarter: Mapped[str] = mapped_column(sa.String(6))
    charging: Mapped[str] = mapped_column(sa.String(16))
    min_range_km: Mapped[int] = mapped_column(default=0)
    min_payload_kg: Mapped[int] = mapped_column(default=0)
    quantity: Mapped[int]
    fleet_count: Mapped[int]
    spread: Mapped[int] = mapped_column(default=0)  # vehicles x region levels between members and the lot

    pooling_run: Mapped[PoolingRun] = relationship(back_populates="lots")
    segment: Mapped[Segment] = relationship()
    region: Mapped[Region] = relationship()
    members: Mapped[list[LotMember]] = relationship(back_populates="lot", order_by="LotMember.demand_line_id")

    @property
    def window(self) -> str:
        if self.earliest_quarter == self.latest_quarter:
            return self.earliest_quarter
        return f"{self.earliest_quarter}–{self.latest_quarter}"

    def __repr__(self) -> str:
        return f"<Lot {self.id} {self.code} {self.quantity}x{self.segment_id}@{self.region_id}>"


class LotMember(db.Model):
    __tablename__ = "lot_member"
    __table_args__ = (sa.UniqueConstraint("lot_id", "demand_line_id", name="uq_lot_member_line"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    demand_line_id: Mapped[int] = mapped_column(sa.ForeignKey("demand_line.id"), index=True)
    quantity: Mapped[int]

    lot: Mapped[Lot] = relationship(back_populates="members")
    demand_line: Mapped[DemandLine] = relationship()


class UnpooledLine(db.Model):
    """A committed line, or the rest of a splittable one, that a run left out, and why."""

    __tablename__ = "unpooled_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    pooling_run_id: Mapped[int] = mapped_column(sa.ForeignKey("pooling_run.id"), index=True)
    demand_line_id: Mapped[int] = mapped_column(sa.ForeignKey("demand_line.id"), index=True)
    quantity: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(300))

    demand_line: Mapped[DemandLine] = relationship()
