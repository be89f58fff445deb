"""A small round for the report and open-data tests, walked as far as a test asks.

Two fleets, two segments, two countries (the hand-computed figures are in tests/test_reports.py):

    line  fleet  segment        region           vehicles  max price   status
    L1    A      md_box_truck   Los Angeles      30        250,000     committed  -> lot-1, OEM A at 230,000, confirmed
    L2    B      md_box_truck   California       10        240,000     committed  -> lot-1, OEM A at 230,000, declined
    L3    B      transit_bus    Toronto          12        900,000     committed  -> lot-2, OEM B at 850,000.50, pending
    L4    A      md_box_truck   Vancouver         4        260,000     committed  -> unpooled
    L5    A      md_box_truck   Los Angeles       6        255,000     draft
    L6    B      transit_bus    Toronto           3        880,000     withdrawn

OEM C (a third OEM) bids on lot-1 at 245,000 and loses: a tenderer that is not a supplier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import (
    Allocation,
    ConfirmationStatus,
    DemandLine,
    DemandStatus,
    Lot,
    LotMember,
    Organization,
    PoolingRun,
    Round,
    RoundPhase,
    RunStatus,
    UnpooledLine,
    User,
)
from marketplace.services import award, clock, rounds
from tests.factories import World, make_bid, make_line, make_model, make_org, make_round, make_user

STAGES = ("demand_open", "tendering", "bids_closed", "awarded", "contracting")


@dataclass
class ReportRound:
    round: Round
    lines: dict[str, DemandLine]
    fleet_a: Organization
    fleet_b: Organization
    oem_a: Organization
    oem_b: Organization
    oem_c: Organization
    lots: dict[str, Lot] = field(default_factory=dict)


def _lines(rnd: Round, a: Organization, b: Organization) -> dict[str, DemandLine]:
    spec = {
        "L1": (a, "md_box_truck", "us-ca-los-angeles", 30, "250000", DemandStatus.COMMITTED),
        "L2": (b, "md_box_truck", "US-CA", 10, "240000", DemandStatus.COMMITTED),
        "L3": (b, "transit_bus", "ca-on-toronto", 12, "900000", DemandStatus.COMMITTED),
        "L4": (a, "md_box_truck", "ca-bc-vancouver", 4, "260000", DemandStatus.COMMITTED),
        "L5": (a, "md_box_truck", "us-ca-los-angeles", 6, "255000", DemandStatus.DRAFT),
        "L6": (b, "transit_bus", "ca-on-toronto", 3, "880000", DemandStatus.WITHDRAWN),
    }
    return {
        key: make_line(rnd, org, segment_id=seg, region_id=region, quantity=q, max_unit_price=Decimal(p), status=st)
        for key, (org, seg, region, q, p, st) in spec.items()
    }


def _lot(rnd: Round, run: PoolingRun, code: str, segment: str, region: str, members: list[DemandLine], **kw) -> Lot:
    lot = Lot(
        round_id=rnd.id, pooling_run_id=run.id, code=code, segment_id=segment, region_id=region,
        earliest_quarter="2027Q2", latest_quarter="2027Q3", charging="CCS1", quantity=sum(m.quantity for m in members),
        fleet_count=len({m.organization_id for m in members}), **kw,
    )  # fmt: skip
    db.session.add(lot)
    db.session.flush()
    for line in members:
        db.session.add(LotMember(lot_id=lot.id, demand_line_id=line.id, quantity=line.quantity))
    return lot


def report_round(world: World, stage: str = "contracting") -> ReportRound:
    """The round above, as far as `stage` (one of STAGES)."""
    coordinator: User = world.coordinator
    oem_c = make_user(make_org("oem"))
    fleet_a, fleet_b = world.fleet.organization, world.other_fleet.organization
    phase = RoundPhase.DEMAND_OPEN if stage == "demand_open" else RoundPhase.POOLED
    rnd = make_round(coordinator, phase, region_ids=["US", "CA"], currency="USD")
    made = ReportRound(rnd, _lines(rnd, fleet_a, fleet_b), fleet_a, fleet_b, world.oem.organization,
                       world.other_oem.organization, oem_c.organization)  # fmt: skip
    if stage == "demand_open":
        return made
    lines = made.lines
    run = PoolingRun(
        round_id=rnd.id, min_lot_quantity=rnd.min_lot_quantity, max_lot_quantity=rnd.max_lot_quantity,
        max_levels_up=rnd.max_levels_up, status=RunStatus.SUCCEEDED, lot_count=2, published_at=clock.now(),
    )  # fmt: skip
    db.session.add(run)
    db.session.flush()
    made.lots["lot-1"] = _lot(rnd, run, "lot-1", "md_box_truck", "US-CA", [lines["L1"], lines["L2"]], min_range_km=300)
    made.lots["lot-2"] = _lot(rnd, run, "lot-2", "transit_bus", "CA-ON", [lines["L3"]])
    db.session.add(UnpooledLine(pooling_run_id=run.id, demand_line_id=lines["L4"].id, quantity=4,
                                reason="Too few vehicles nearby for a lot of at least 20."))  # fmt: skip
    rnd.published_pooling_run_id = run.id
    db.session.commit()
    rounds.transition(rnd.id, RoundPhase.TENDERING, coordinator)
    if stage == "tendering":
        return made
    lot1, lot2 = made.lots["lot-1"], made.lots["lot-2"]
    make_bid(world.oem, lot1, make_model(made.oem_a, name="eBox 26"), tiers=((10, "230000"),))
    bus = make_model(made.oem_b, name="Metro 12", segment_id="transit_bus", range_km=400, payload_kg=None,
                     charging=["CCS1"], list_price=Decimal("950000"))  # fmt: skip
    make_bid(world.other_oem, lot2, bus, tiers=((10, "850000.50"),))
    make_bid(oem_c, lot1, make_model(made.oem_c, name="Cascade Box"), tiers=((10, "245000"),))
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, coordinator)
    if stage == "bids_closed":
        return made
    scenario = award.start_scenario(rnd.id, coordinator, award.ScenarioRules(name="Round rules"))
    award.publish_scenario(scenario.id, coordinator)
    if stage == "contracting":
        rounds.transition(rnd.id, RoundPhase.CONTRACTING, coordinator)
        decisions = {lines["L1"].id: ConfirmationStatus.CONFIRMED, lines["L2"].id: ConfirmationStatus.DECLINED}
        for allocation in db.session.execute(
            sa.select(Allocation).where(Allocation.scenario_id == scenario.id)
        ).scalars():
            if allocation.demand_line_id in decisions:
                allocation.confirmation = decisions[allocation.demand_line_id]
                allocation.decided_at = clock.now()
        db.session.commit()
    db.session.expire_all()
    made.round = db.session.get(Round, rnd.id)
    return made
