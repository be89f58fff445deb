"""The coordinator's line-level exports and a scenario's summary by supplier and by lot.

A scenario's allocations export one row per allocation (a demand line served by one source), with
the fleet, the line's own maximum price and the fleet's decision; the summary adds up the same
allocations by supplier and by lot (every lot of the tender, awarded or not). Coordinators only:
fleets and OEMs see their own rows on their result pages. Strings go through services.spreadsheet.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Allocation, AwardScenario, DemandLine, Lot, Organization, Region, Round, Segment
from marketplace.pagination import contains
from marketplace.services import access, contracting, rounds, spreadsheet
from marketplace.services.access import Actor
from marketplace.services.errors import Conflict
from marketplace.services.market import workbook


def scenario_for_export(scenario_id: int, actor: Actor | None) -> tuple[Round, AwardScenario]:
    """A succeeded scenario and its round (coordinators only)."""
    scenario = access.scenario(actor, scenario_id)
    if scenario.status.value != "succeeded":
        raise Conflict(f"Scenario “{scenario.name}” has no allocations: it is {scenario.status.value}.")
    return rounds.load_round(scenario.round_id), scenario


# ---------------------------------------------------------------- summary by supplier and by lot


@dataclass(frozen=True)
class SupplierRow:
    name: str
    lots: int
    lines: int
    vehicles: int
    value: Decimal
    share_percent: float  # of the scenario's awarded vehicles


@dataclass(frozen=True)
class LotRow:
    code: str
    segment: str
    region: str
    window: str
    lot_vehicles: int
    awarded: int
    suppliers: int
    value: Decimal

    @property
    def unit_price(self) -> Decimal | None:
        return (self.value / self.awarded).quantize(Decimal("0.01")) if self.awarded else None


def by_supplier(scenario: AwardScenario) -> list[SupplierRow]:
    """Every supplier the scenario awards, most vehicles first (one GROUP BY)."""
    rows = db.session.execute(
        sa.select(
            Organization.name,
            sa.func.count(sa.distinct(Allocation.lot_id)),
            sa.func.count(Allocation.id),
            sa.func.sum(Allocation.quantity),
            sa.func.sum(Allocation.quantity * Allocation.unit_price),
        )
        .join(Organization, Organization.id == Allocation.organization_id)
        .where(Allocation.scenario_id == scenario.id)
        .group_by(Organization.id, Organization.name)
        .order_by(sa.func.sum(Allocation.quantity).desc(), Organization.name)
    ).all()
    total = sum(int(r[3]) for r in rows) or 1
    return [
        SupplierRow(name, int(lots), int(lines), int(q), Decimal(v).quantize(Decimal("0.01")), 100.0 * int(q) / total)
        for name, lots, lines, q, v in rows
    ]


@dataclass(frozen=True)
class LotSummary:
    """Every lot of the tender with what the scenario awards on it, as a query of whole rows to page in SQL
    (`pagination.paginate(..., rows=lot_rows)`), with the sort keys and filters its table offers."""

    query: sa.Select
    sorts: dict[str, list[Any]]
    filters: dict[str, Callable[[str], Any]]


# What the "Awarded" filter offers: how much of the lot the scenario awards.
AWARDED_CHOICES = ("in full", "in part", "nothing")


def lot_summary(rnd: Round, scenario: AwardScenario) -> LotSummary:
    """The lots of the scenario's tender, each with its awarded vehicles, suppliers and value (one GROUP BY joined)."""
    awarded = (
        sa.select(
            Allocation.lot_id.label("lot_id"),
            sa.func.sum(Allocation.quantity).label("vehicles"),
            sa.func.count(sa.distinct(Allocation.organization_id)).label("suppliers"),
            sa.func.sum(Allocation.quantity * Allocation.unit_price).label("value"),
        )
        .where(Allocation.scenario_id == scenario.id)
        .group_by(Allocation.lot_id)
        .subquery()
    )
    run_id = db.session.execute(
        sa.select(Lot.pooling_run_id).join(Allocation, Allocation.lot_id == Lot.id)
        .where(Allocation.scenario_id == scenario.id).limit(1)
    ).scalar_one_or_none() or rnd.published_pooling_run_id  # fmt: skip
    vehicles = sa.func.coalesce(awarded.c.vehicles, 0)
    query = (
        sa.select(Lot, Segment, Region, vehicles.label("vehicles"), awarded.c.suppliers, awarded.c.value)
        .join(Segment, Segment.id == Lot.segment_id)
        .join(Region, Region.id == Lot.region_id)
        .outerjoin(awarded, awarded.c.lot_id == Lot.id)
        .where(Lot.pooling_run_id == run_id)
    )
    sorts: dict[str, list[Any]] = {
        "lot": [Lot.id],
        "segment": [Segment.name, Lot.id],
        "region": [Region.name, Lot.id],
        "awarded": [vehicles, Lot.id],
        "suppliers": [sa.func.coalesce(awarded.c.suppliers, 0), Lot.id],
        "value": [sa.func.coalesce(awarded.c.value, 0), Lot.id],
    }
    how_much = {"in full": vehicles >= Lot.quantity, "in part": (vehicles > 0) & (vehicles < Lot.quantity),
                "nothing": vehicles == 0}  # fmt: skip
    filters: dict[str, Callable[[str], Any]] = {
        "lot": lambda v: Lot.code.ilike(contains(v)),
        "segment": lambda v: Segment.name.ilike(contains(v)),
        "region": lambda v: Region.name.ilike(contains(v)),
        "awarded": how_much.get,  # a value not offered: None, so the filter is ignored (pagination.paginate)
    }
    return LotSummary(query, sorts, filters)


def lot_rows(rows: Sequence[sa.Row]) -> list[LotRow]:
    """What the "By lot" table and sheet show of the summary's rows."""
    return [
        LotRow(lot.code, segment.short_name, region.name, lot.window, lot.quantity, int(q or 0), int(n or 0),
               Decimal(v or 0).quantize(Decimal("0.01")))
        for lot, segment, region, q, n, v in rows
    ]  # fmt: skip


def by_lot(rnd: Round, scenario: AwardScenario) -> list[LotRow]:
    """Every lot of the tender with what the scenario awards on it (zero when nothing), in lot order."""
    summary = lot_summary(rnd, scenario)
    return lot_rows(db.session.execute(summary.query.order_by(*summary.sorts["lot"])).all())


SUPPLIER_HEADER = ["Supplier", "Lots", "Lines", "Vehicles", "Value", "Currency", "Share of vehicles %"]
LOT_HEADER = ["Lot", "Segment", "Region", "Delivery window", "Lot vehicles", "Awarded vehicles", "Suppliers",
              "Value", "Currency", "Average unit price"]  # fmt: skip


def _supplier_rows(rnd: Round, rows: list[SupplierRow]) -> list[list]:
    return [[r.name, r.lots, r.lines, r.vehicles, r.value, rnd.currency, round(r.share_percent, 1)] for r in rows]


def _lot_rows(rnd: Round, rows: list[LotRow]) -> list[list]:
    return [[r.code, r.segment, r.region, r.window, r.lot_vehicles, r.awarded, r.suppliers, r.value, rnd.currency,
             r.unit_price] for r in rows]  # fmt: skip


def summary_csv(rnd: Round, scenario: AwardScenario) -> str:
    """Both summaries in one CSV: the first column says which table a row belongs to."""
    out = io.StringIO()
    writer = spreadsheet.CsvWriter(out, lineterminator="\n")
    writer.writerow(["Table", *SUPPLIER_HEADER])
    writer.writerows(["By supplier", *row] for row in _supplier_rows(rnd, by_supplier(scenario)))
    writer.writerow([])
    writer.writerow(["Table", *LOT_HEADER])
    writer.writerows(["By lot", *row] for row in _lot_rows(rnd, by_lot(rnd, scenario)))
    return out.getvalue()


# ---------------------------------------------------------------- allocations, line by line

ALLOCATION_HEADER = ["Lot", "Segment", "Region", "Delivery window", "Fleet", "Line", "Line vehicles",
                     "Line maximum unit price", "Supplier", "Model", "Source", "Vehicles", "Unit price", "Value",
                     "Currency", "Fleet's decision"]  # fmt: skip


def allocation_rows(rnd: Round, scenario: AwardScenario) -> Iterator[list]:
    """One row per allocation, read in batches (10,000 allocations at coalition scale)."""
    query = contracting.allocations_of(scenario.id).order_by(Allocation.lot_id, Allocation.demand_line_id,
                                                              Allocation.id)  # fmt: skip
    for a in db.session.execute(query.execution_options(yield_per=1000)).scalars():
        line: DemandLine = a.demand_line
        yield [a.lot.code, a.lot.segment.short_name, a.lot.region.name, a.lot.window, line.organization.name,
               line.id, line.quantity, line.max_unit_price, a.supplier.name, a.vehicle_model.name,
               "Package" if a.package_bid_id else "Bid", a.quantity, a.unit_price, a.quantity * a.unit_price,
               rnd.currency, a.confirmation.value]  # fmt: skip


def allocations_csv(rnd: Round, scenario: AwardScenario) -> Iterator[str]:
    """The allocations as CSV text, a batch of rows at a time (for a streamed response)."""
    out = io.StringIO()
    writer = spreadsheet.CsvWriter(out, lineterminator="\n")
    writer.writerow(ALLOCATION_HEADER)
    for n, row in enumerate(allocation_rows(rnd, scenario), start=1):
        writer.writerow(row)
        if n % 500 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def allocations_xlsx(rnd: Round, scenario: AwardScenario) -> bytes:
    """The allocations, and the summary by supplier and by lot, one sheet each."""
    return workbook(
        [
            ("Allocations", ALLOCATION_HEADER, list(allocation_rows(rnd, scenario))),
            ("By supplier", SUPPLIER_HEADER, _supplier_rows(rnd, by_supplier(scenario))),
            ("By lot", LOT_HEADER, _lot_rows(rnd, by_lot(rnd, scenario))),
        ],
        note=f"Round “{rnd.name}”, scenario “{scenario.name}”, prices in {rnd.currency}.",
    )


def summary_xlsx(rnd: Round, scenario: AwardScenario) -> bytes:
    return workbook(
        [
            ("By supplier", SUPPLIER_HEADER, _supplier_rows(rnd, by_supplier(scenario))),
            ("By lot", LOT_HEADER, _lot_rows(rnd, by_lot(rnd, scenario))),
        ],
        note=f"Round “{rnd.name}”, scenario “{scenario.name}”, prices in {rnd.currency}.",
    )
