"""When awarded vehicles are delivered: sums by quarter of the award's deliveries (AllocationDelivery).

Readers pass the allocations they may see (a query from services.contracting, or a scenario the
coordinator compares); everything is summed in SQL, so a 10,000-allocation award costs a few
statements. An award computed without delivery quarters has no deliveries: every sum is empty
and the pages say nothing about quarters.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Allocation, AllocationDelivery, ConfirmationStatus, Lot, Organization, Round, Segment
from marketplace.services import quarter_capacity
from marketplace.services.access import Actor

# Allocations that will not be delivered: declined by the fleet, or dropped by their supplier (withdrawn,
# a backup refused).
GONE = (ConfirmationStatus.DECLINED, ConfirmationStatus.WITHDRAWN, ConfirmationStatus.REFUSED)


@dataclass
class ScheduleQuarter:
    """One quarter of a fleet's delivery schedule: vehicles by supplier (allocations in GONE left out)."""

    quarter: str
    vehicles: int = 0
    confirmed: int = 0
    by_supplier: dict[str, int] = field(default_factory=dict)

    SHOWN = 3  # a large fleet gets vehicles from dozens of OEMs in a quarter: the page names the main ones

    def add(self, supplier: str, vehicles: int, confirmed: bool) -> None:
        self.vehicles += vehicles
        self.confirmed += vehicles if confirmed else 0
        self.by_supplier[supplier] = self.by_supplier.get(supplier, 0) + vehicles

    @property
    def suppliers(self) -> list[tuple[str, int]]:
        """(supplier, vehicles), most vehicles first, then by name."""
        return sorted(self.by_supplier.items(), key=lambda pair: (-pair[1], pair[0]))

    @property
    def main_suppliers(self) -> list[tuple[str, int]]:
        return self.suppliers[: self.SHOWN]

    @property
    def other_suppliers(self) -> list[tuple[str, int]]:
        return self.suppliers[self.SHOWN :]

    @property
    def other_vehicles(self) -> int:
        return sum(n for _, n in self.other_suppliers)


def _ids(allocations: sa.Select) -> sa.Select:
    sub = allocations.order_by(None).subquery()
    return sa.select(sub.c.id)


def schedule(allocations: sa.Select) -> list[ScheduleQuarter]:
    """The delivery schedule of the allocations a fleet sees, quarter by quarter."""
    rows = db.session.execute(
        sa.select(
            AllocationDelivery.quarter,
            Organization.name,
            Allocation.confirmation,
            sa.func.sum(AllocationDelivery.quantity),
        )
        .join(Allocation, Allocation.id == AllocationDelivery.allocation_id)
        .join(Organization, Organization.id == Allocation.organization_id)
        .where(
            AllocationDelivery.allocation_id.in_(_ids(allocations)),
            Allocation.confirmation.not_in(GONE),
        )
        .group_by(AllocationDelivery.quarter, Organization.name, Allocation.confirmation)
        .order_by(AllocationDelivery.quarter, Organization.name)
    ).all()
    found: dict[str, ScheduleQuarter] = {}
    for quarter, supplier, confirmation, vehicles in rows:
        entry = found.setdefault(quarter, ScheduleQuarter(quarter))
        entry.add(supplier, int(vehicles), confirmation is ConfirmationStatus.CONFIRMED)
    return [found[q] for q in sorted(found)]


@dataclass
class CapacityQuarter:
    """One quarter of an OEM's results: won vehicles against its stated capacity (None: not stated)."""

    quarter: str
    won: int = 0
    capacity: int | None = None
    segments: list[tuple[str, str, int, int]] = field(default_factory=list)  # (segment id, name, won, capacity)

    @property
    def used_percent(self) -> float | None:
        if not self.capacity:
            return None
        return 100.0 * self.won / self.capacity


def won_against_capacity(rnd: Round, allocations: sa.Select, actor: Actor) -> list[CapacityQuarter]:
    """The OEM's won vehicles per quarter (and per segment where it stated one) against its capacities."""
    won = db.session.execute(
        sa.select(AllocationDelivery.quarter, Lot.segment_id, sa.func.sum(AllocationDelivery.quantity))
        .join(Allocation, Allocation.id == AllocationDelivery.allocation_id)
        .join(Lot, Lot.id == Allocation.lot_id)
        .where(AllocationDelivery.allocation_id.in_(_ids(allocations)), Allocation.confirmation.not_in(GONE))
        .group_by(AllocationDelivery.quarter, Lot.segment_id)
    ).all()
    rows = quarter_capacity.rows_of(rnd, actor)
    if not won:
        return []
    found: dict[str, CapacityQuarter] = {}
    won_by_segment: dict[tuple[str, str], int] = defaultdict(int)
    for quarter, segment_id, vehicles in won:
        found.setdefault(quarter, CapacityQuarter(quarter)).won += int(vehicles)
        won_by_segment[(quarter, segment_id)] += int(vehicles)
    names = {s.id: s.short_name for s in db.session.execute(sa.select(Segment)).scalars()}
    for row in rows:
        entry = found.setdefault(row.quarter, CapacityQuarter(row.quarter))
        if row.segment_id is None:
            entry.capacity = row.capacity
        else:
            won_in_segment = won_by_segment.get((row.quarter, row.segment_id), 0)
            entry.segments.append(
                (row.segment_id, names.get(row.segment_id, row.segment_id), won_in_segment, row.capacity)
            )
    return [found[q] for q in sorted(found)]


def by_scenario(scenario_ids: list[int]) -> dict[int, dict[str, int]]:
    """Vehicles delivered per quarter in each scenario (the comparison's chart; after a promotion, the backup's
    vehicles instead of those taken back)."""
    rows = db.session.execute(
        sa.select(Allocation.scenario_id, AllocationDelivery.quarter, sa.func.sum(AllocationDelivery.quantity))
        .join(Allocation, Allocation.id == AllocationDelivery.allocation_id)
        .where(
            Allocation.scenario_id.in_(scenario_ids),
            Allocation.confirmation.not_in((ConfirmationStatus.WITHDRAWN, ConfirmationStatus.REFUSED)),
        )
        .group_by(Allocation.scenario_id, AllocationDelivery.quarter)
    ).all()
    found: dict[int, dict[str, int]] = {}
    for scenario_id, quarter, vehicles in rows:
        found.setdefault(scenario_id, {})[quarter] = int(vehicles)
    return found


def chart(per_scenario: dict[int, dict[str, int]], names: dict[int, str]) -> dict[str, Any] | None:
    """A grouped bar chart's data: quarters in order, one series per scenario that has deliveries."""
    series = [(names[s], per_scenario[s]) for s in names if per_scenario.get(s)]
    if not series:
        return None
    quarters = sorted({q for _, values in series for q in values})
    top = max(v for _, values in series for v in values.values())
    return {
        "quarters": quarters,
        "series": [(name, [values.get(q, 0) for q in quarters]) for name, values in series],
        "top": top,
    }


def quarter_period(first: str, last: str | None = None) -> dict[str, str]:
    """An OCDS period from the first day of one quarter to the last second of another."""
    last = last or first
    start = datetime(int(first[:4]), 3 * (int(first[5]) - 1) + 1, 1, tzinfo=UTC)
    end_year, end_q = int(last[:4]), int(last[5])
    after = datetime(end_year + (end_q == 4), 1 if end_q == 4 else 3 * end_q + 1, 1, tzinfo=UTC)
    end = datetime.fromtimestamp(after.timestamp() - 1, tz=UTC)
    return {"startDate": start.isoformat().replace("+00:00", "Z"), "endDate": end.isoformat().replace("+00:00", "Z")}


def ocds_period(key: str, allocations: list[Allocation]) -> dict[str, Any]:
    """An OCDS award's contractPeriod (or a contract's period) from its first to its last delivery quarter,
    and a description of the vehicles per quarter; nothing where the award set no quarters."""
    per_quarter: dict[str, int] = defaultdict(int)
    for a in allocations:
        for d in a.deliveries:
            per_quarter[d.quarter] += d.quantity
    if not per_quarter:
        return {}
    quarters = sorted(per_quarter)
    return {
        key: quarter_period(quarters[0], quarters[-1]),
        "description": "Deliveries: " + ", ".join(f"{q}: {per_quarter[q]} vehicles" for q in quarters),
    }


@dataclass
class QuarterRow:
    """One delivery quarter of an award: vehicles awarded and confirmed for delivery in it (the round report)."""

    quarter: str
    awarded: int = 0
    confirmed: int = 0


def report_rows(scenario_id: int) -> list[QuarterRow]:
    """Vehicles per delivery quarter of a scenario, awarded and confirmed."""
    found: dict[str, QuarterRow] = {}
    for quarter, confirmation, delivered in db.session.execute(
        sa.select(AllocationDelivery.quarter, Allocation.confirmation, sa.func.sum(AllocationDelivery.quantity))
        .join(Allocation, Allocation.id == AllocationDelivery.allocation_id)
        .where(Allocation.scenario_id == scenario_id)
        .group_by(AllocationDelivery.quarter, Allocation.confirmation)
    ).all():
        if not confirmation.live:
            continue  # taken back from a supplier that dropped out, or a backup's refused offer (as the report's rows)
        entry = found.setdefault(quarter, QuarterRow(quarter))
        entry.awarded += int(delivered)
        if confirmation is ConfirmationStatus.CONFIRMED:
            entry.confirmed += int(delivered)
    return [found[q] for q in sorted(found)]
