"""Database rows <-> the solver's documents (docs/solver-io.md). The only module that knows both.

Ids in the documents are stable strings built from row ids ("line-12", "org-3", "lot-5"),
and every list is in id order, so the same round always gives the same input bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import DemandLine, DemandStatus, PoolingRun, Region, Round


def line_key(line_id: int) -> str:
    return f"line-{line_id}"


def org_key(org_id: int) -> str:
    return f"org-{org_id}"


def parse_key(key: str, prefix: str) -> int:
    """ "line-12" -> 12; a key the bridge did not make is a bug, not input to forgive."""
    kind, _, number = key.partition("-")
    if kind != prefix or not number.isdigit():
        raise ValueError(f"unexpected {prefix} key {key!r} in a solver result")
    return int(number)


def _region_rows(region_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The region nodes the lines use and all their ancestors, as the solver's tree."""
    parents = dict(db.session.execute(sa.select(Region.id, Region.parent_id)).all())
    needed: set[str] = set()
    for region_id in region_ids:
        node: str | None = region_id
        while node is not None and node not in needed:
            needed.add(node)
            node = parents.get(node)
    return [{"code": code, "parent": parents[code]} for code in sorted(needed)]


def committed_lines(round_id: int) -> list[DemandLine]:
    return list(
        db.session.execute(
            sa.select(DemandLine)
            .where(DemandLine.round_id == round_id, DemandLine.status == DemandStatus.COMMITTED)
            .order_by(DemandLine.id)
        ).scalars()
    )


def _price(value: Decimal) -> int | Decimal:
    return int(value) if value == value.to_integral_value() else value


def pooling_input(rnd: Round, run: PoolingRun) -> dict[str, Any]:
    """The pooling document of a round's committed demand under the run's rules."""
    lines = committed_lines(rnd.id)
    return {
        "rules": {
            "min_lot_quantity": run.min_lot_quantity,
            "max_lot_quantity": run.max_lot_quantity,
            "max_levels_up": run.max_levels_up,
        },
        "regions": _region_rows({line.region_id for line in lines}),
        "demand": [
            {
                "id": line_key(line.id),
                "fleet": org_key(line.organization_id),
                "segment": line.segment_id,
                "region": line.region_id,
                "quantity": line.quantity,
                "window": {"earliest": line.earliest_quarter, "latest": line.latest_quarter},
                "requirements": {
                    "min_range_km": line.min_range_km,
                    "min_payload_kg": line.min_payload_kg,
                    "charging": sorted(line.charging),
                },
                "max_unit_price": _price(line.max_unit_price),
                "splittable": line.splittable,
            }
            for line in lines
        ],
    }


# ---------------------------------------------------------------- award


def member_key(member_id: int) -> str:
    """A lot's demand entry: one lot member (a line, or the part of a splittable line, in one lot)."""
    return f"member-{member_id}"


def lot_key(lot_id: int) -> str:
    return f"lot-{lot_id}"


def bid_key(bid_id: int) -> str:
    return f"bid-{bid_id}"


def package_key(package_id: int) -> str:
    return f"package-{package_id}"


def solver_reads_quarters() -> bool:
    """Whether the installed solver's award contract has delivery quarters (docs/solver-io.md section 2)."""
    from solver.schema import schema

    supplier = schema("award-input")["properties"]["suppliers"]["items"]["properties"]
    return "quarterly_capacity" in supplier


def award_input(
    rnd: Round, scenario: Any, offers: Any, quarterly: dict[int, list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The award document of a round's published lots and the bids that count, under a scenario's rules.

    `offers` is services.bidding.bids_for_award(rnd). Suppliers a scenario excludes are
    excluded on every line (the contract's per-line exclusion), so their bids stay visible
    in the exported input.

    `quarterly` is services.quarter_capacity.capacities_for_award(rnd). Delivery quarters (each
    line's window, each lot's segment, the quarters of bids and packages, quarterly capacities)
    are sent only when some OEM stated quarterly capacity or delivery quarters: a round without
    any gives the same input, award and model size as before quarters existed.
    """
    from marketplace.models import Lot, LotMember

    excluded = sorted(org_key(org_id) for org_id in scenario.excluded_supplier_ids or [])
    lots = list(
        db.session.execute(
            sa.select(Lot).where(Lot.pooling_run_id == rnd.published_pooling_run_id).order_by(Lot.id)
        ).scalars()
    )
    members = db.session.execute(
        sa.select(LotMember, DemandLine)
        .join(DemandLine, DemandLine.id == LotMember.demand_line_id)
        .where(LotMember.lot_id.in_([lot.id for lot in lots]))
        .order_by(LotMember.id)
    ).all()
    by_lot: dict[int, list[dict[str, Any]]] = {lot.id: [] for lot in lots}
    if quarterly is None:
        from marketplace.services import quarter_capacity

        quarterly = quarter_capacity.capacities_for_award(rnd)
    quarters = solver_reads_quarters() and (
        bool(quarterly) or any(b.quarters for b in offers.bids) or any(p.quarters for p in offers.packages)
    )
    for member, line in members:
        entry: dict[str, Any] = {
            "id": member_key(member.id),
            "fleet": org_key(line.organization_id),
            "quantity": member.quantity,
            "max_unit_price": _price(line.max_unit_price),
            "excluded_suppliers": excluded,
        }
        if quarters:
            entry["window"] = {"first": line.earliest_quarter, "last": line.latest_quarter}
        by_lot[member.lot_id].append(entry)
    bidders = {b.organization_id for b in offers.bids} | {p.organization_id for p in offers.packages}
    document: dict[str, Any] = {
        "rules": {
            "max_winners_per_lot": scenario.max_winners_per_lot,
            "max_share_per_supplier": _price(Decimal(scenario.max_share_per_supplier)),
            "line_service": scenario.line_service.value,
        },
        "suppliers": [
            {"id": org_key(org_id), "capacity": offers.capacities.get(org_id, 0)} for org_id in sorted(bidders)
        ],
        "lots": [{"id": lot_key(lot.id), "demand": by_lot[lot.id]} for lot in lots],
        "bids": [
            {
                "id": bid_key(b.bid_id),
                "supplier": org_key(b.organization_id),
                "lot": lot_key(b.lot_id),
                "min_quantity": b.min_quantity,
                "max_quantity": b.max_quantity,
                "tiers": [{"min_quantity": t.min_quantity, "unit_price": _price(t.unit_price)} for t in b.tiers],
            }
            for b in offers.bids
        ],
        "packages": [
            {
                "id": package_key(p.package_id),
                "supplier": org_key(p.organization_id),
                "items": [
                    {"lot": lot_key(i.lot_id), "quantity": i.quantity, "unit_price": _price(i.unit_price)}
                    for i in p.items
                ],
            }
            for p in offers.packages
        ],
    }
    if quarters:
        _add_quarters(document, lots, offers, quarterly)
    if getattr(scenario, "prefer_early_delivery", False):  # sent only when chosen: other inputs stay as before
        document["rules"]["prefer_early_delivery"] = True
    return document


def _add_quarters(
    document: dict[str, Any], lots: list[Any], offers: Any, quarterly: dict[int, list[dict[str, Any]]]
) -> None:
    """The optional delivery-quarter fields of the award input, in the contract's places."""
    segments = {lot_key(lot.id): lot.segment_id for lot in lots}
    for lot in document["lots"]:
        lot["segment"] = segments[lot["id"]]
    for supplier in document["suppliers"]:
        rows = quarterly.get(parse_key(supplier["id"], "org"))
        if rows:
            supplier["quarterly_capacity"] = rows
    bid_quarters = {bid_key(b.bid_id): b.quarters for b in offers.bids}
    for bid in document["bids"]:
        if bid_quarters[bid["id"]]:
            bid["quarters"] = list(bid_quarters[bid["id"]])
    package_quarters = {package_key(p.package_id): p.quarters for p in offers.packages}
    for package in document["packages"]:
        if package_quarters[package["id"]]:
            package["quarters"] = list(package_quarters[package["id"]])


def allocation(scenario_id: int, member: Any, row: dict[str, Any], part: dict[str, Any], source: tuple) -> Any:
    """The Allocation row of one part of an award row (and its deliveries, when the award set quarters).

    `source` is (bid id, package id, vehicle model id): one of the two ids is None.
    """
    from marketplace.models import Allocation, AllocationDelivery

    bid_id, package_id, model_id = source
    return Allocation(
        scenario_id=scenario_id,
        lot_id=member.lot_id,
        demand_line_id=member.demand_line_id,
        organization_id=parse_key(row["supplier"], "org"),
        bid_id=bid_id,
        package_bid_id=package_id,
        vehicle_model_id=model_id,
        quantity=part["quantity"],
        unit_price=Decimal(str(row["unit_price"])).quantize(Decimal("0.01")),
        deliveries=[
            AllocationDelivery(quarter=d["quarter"], quantity=d["quantity"]) for d in part.get("deliveries", [])
        ],
    )
