"""Typed pooling documents: the parsed input and the result, as plain dataclasses.

Quarters are ordinals (solver.quarters), prices integer cents (solver.money); the
result's `to_dict` gives the JSON document of the contract (section 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from solver.quarters import format_quarter

Number = int | Decimal


@dataclass(frozen=True)
class Rules:
    min_lot: int
    max_lot: int
    max_levels_up: int


@dataclass(slots=True)
class Line:
    """One demand line; `index` is its position in the input's demand list."""

    index: int
    id: str
    fleet: str | None
    segment: str
    region: str
    quantity: int
    earliest: int  # quarter ordinal
    latest: int  # quarter ordinal, >= earliest
    charging: tuple[str, ...]  # sorted, distinct
    min_range_km: Number | None
    min_payload_kg: Number | None
    max_unit_price_cents: int | None
    splittable: bool


@dataclass(frozen=True)
class PoolingInput:
    rules: Rules
    parent: dict[str, str | None]  # region code -> parent code (None for a root)
    lines: tuple[Line, ...]

    def depth(self, code: str) -> int:
        """Levels between a region and its root (a root has depth 0)."""
        d = 0
        up = self.parent[code]
        while up is not None:
            d, up = d + 1, self.parent[up]
        return d


@dataclass(frozen=True)
class Member:
    demand: str
    quantity: int


@dataclass
class Lot:
    id: str
    segment: str
    region: str
    earliest: int
    latest: int
    charging: str
    min_range_km: Number
    min_payload_kg: Number
    quantity: int
    members: list[Member]
    spread: int  # sum of member quantity x levels up to the lot's region

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "segment": self.segment,
            "region": self.region,
            "window": {"earliest": format_quarter(self.earliest), "latest": format_quarter(self.latest)},
            "charging": self.charging,
            "requirements": {"min_range_km": self.min_range_km, "min_payload_kg": self.min_payload_kg},
            "quantity": self.quantity,
            "members": [{"demand": m.demand, "quantity": m.quantity} for m in self.members],
        }


@dataclass(frozen=True)
class Unpooled:
    demand: str
    quantity: int
    reason: str


@dataclass
class Stats:
    total_quantity: int
    pooled_quantity: int
    lots: int
    spread: int
    bound: int  # proven upper bound on pooled vehicles
    lots_bound: int  # proven lower bound on lots, given the pooled vehicles of the result
    spread_bound: int  # proven lower bound on spread, given pooled vehicles and lots of the result
    components: int
    components_proven: int
    solve_seconds: float
    work_limit: float  # deterministic work the exact phases had (given, or the default)
    stopped_by: str  # "nothing" (all proven), "work" (the same everywhere) or "time" (the clock)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_quantity": self.total_quantity,
            "pooled_quantity": self.pooled_quantity,
            "lots": self.lots,
            "spread": self.spread,
            "bound": self.bound,
            "lots_bound": self.lots_bound,
            "spread_bound": self.spread_bound,
            "components": self.components,
            "components_proven": self.components_proven,
            "solve_seconds": round(self.solve_seconds, 3),
            "limits": {"work_limit": round(self.work_limit, 6), "stopped_by": self.stopped_by},
        }


@dataclass
class PoolingResult:
    status: str  # "OPTIMAL" or "FEASIBLE"
    lots: list[Lot]
    unpooled: list[Unpooled]
    stats: Stats

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "lots": [lot.to_dict() for lot in self.lots],
            "unpooled": [{"demand": u.demand, "quantity": u.quantity, "reason": u.reason} for u in self.unpooled],
            "stats": self.stats.to_dict(),
        }
