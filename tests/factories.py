"""Test factories: organizations, users, rounds and demand lines, built through the services where they exist."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import (
    AwardScenario,
    DemandLine,
    DemandStatus,
    Lot,
    LotMember,
    Organization,
    OrganizationKind,
    PoolingRun,
    Round,
    RoundPhase,
    RunStatus,
    User,
    VehicleModel,
)
from marketplace.services import clock, rounds

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def make_org(kind: OrganizationKind | str, name: str | None = None, country: str = "US") -> Organization:
    kind = OrganizationKind(kind)
    org = Organization(name=name or f"{kind.label} {next(_seq)}", kind=kind, country=country)
    db.session.add(org)
    db.session.commit()
    return org


def make_user(org: Organization, email: str | None = None, password: str = PASSWORD) -> User:
    user = User(email=email or f"user{next(_seq)}@{org.kind.value}.example", name="Test User", organization=org)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def make_round(coordinator: User, phase: RoundPhase = RoundPhase.DRAFT, **overrides: Any) -> Round:
    """A round created by the service and walked through the phase table to `phase`."""
    now = clock.now()
    settings = rounds.RoundSettings(
        name=overrides.pop("name", f"Round {next(_seq)}"),
        segment_ids=overrides.pop("segment_ids", ["md_box_truck", "transit_bus"]),
        region_ids=overrides.pop("region_ids", ["US"]),
        demand_deadline=overrides.pop("demand_deadline", now + timedelta(days=10)),
        bid_deadline=overrides.pop("bid_deadline", now + timedelta(days=20)),
        confirmation_deadline=overrides.pop("confirmation_deadline", now + timedelta(days=40)),
        **overrides,
    )
    rnd = rounds.create_round(settings, coordinator)
    path = [p for p in RoundPhase if p is not RoundPhase.CANCELLED]
    if phase is RoundPhase.CANCELLED:
        rounds.transition(rnd.id, RoundPhase.CANCELLED, coordinator)
        return rnd
    for step in path[1 : path.index(phase) + 1]:
        prepare_move(rnd, step)
        rounds.transition(rnd.id, step, coordinator)
    return rnd


def prepare_move(rnd: Round, target: RoundPhase) -> None:
    """What a move needs besides the button: a pooling run that succeeded, a published run or scenario.

    Tests of other things walk a round through its phases without solving anything; these
    stand-in runs carry no lots (tests that need lots make them, see make_lot).
    """
    if target is RoundPhase.POOLED:
        db.session.add(_stand_in_run(rnd))
    elif target is RoundPhase.TENDERING and rnd.published_pooling_run_id is None:
        run = db.session.execute(
            sa.select(PoolingRun).where(PoolingRun.round_id == rnd.id, PoolingRun.status == RunStatus.SUCCEEDED)
        ).scalars().first() or _stand_in_run(rnd)
        db.session.add(run)
        db.session.flush()
        rnd.published_pooling_run_id = run.id
    elif target is RoundPhase.AWARDED and rnd.published_scenario_id is None:
        scenario = AwardScenario(
            round_id=rnd.id, name="Round rules", status=RunStatus.SUCCEEDED, max_winners_per_lot=rnd.max_winners_per_lot,
            max_share_per_supplier=rnd.max_share_per_supplier, line_service=rnd.line_service,
        )  # fmt: skip
        db.session.add(scenario)
        db.session.flush()
        rnd.published_scenario_id = scenario.id
    db.session.commit()


def _stand_in_run(rnd: Round) -> PoolingRun:
    return PoolingRun(
        round_id=rnd.id, status=RunStatus.SUCCEEDED, min_lot_quantity=rnd.min_lot_quantity,
        max_lot_quantity=rnd.max_lot_quantity, max_levels_up=rnd.max_levels_up,
    )  # fmt: skip


def make_line(rnd: Round, org: Organization, **overrides: Any) -> DemandLine:
    line = DemandLine(
        round_id=rnd.id,
        organization_id=org.id,
        segment_id=overrides.pop("segment_id", "md_box_truck"),
        region_id=overrides.pop("region_id", "us-ca-los-angeles"),
        quantity=overrides.pop("quantity", 5),
        earliest_quarter=overrides.pop("earliest_quarter", "2027Q1"),
        latest_quarter=overrides.pop("latest_quarter", "2027Q3"),
        charging=overrides.pop("charging", ["CCS1"]),
        max_unit_price=overrides.pop("max_unit_price", Decimal("250000")),
        status=overrides.pop("status", DemandStatus.COMMITTED),
        **overrides,
    )
    db.session.add(line)
    db.session.commit()
    return line


@dataclass
class World:
    """Two organizations of each kind, one user each: 'own' and 'other' for access tests."""

    coordinator: User
    coordinator2: User
    fleet: User
    other_fleet: User
    oem: User
    other_oem: User

    @classmethod
    def build(cls) -> World:
        users = {}
        for key, kind in (
            ("coordinator", "coordinator"),
            ("coordinator2", "coordinator"),
            ("fleet", "fleet"),
            ("other_fleet", "fleet"),
            ("oem", "oem"),
            ("other_oem", "oem"),
        ):
            users[key] = make_user(make_org(kind), email=f"{key}@example.org")
        return cls(**users)

    def user(self, role: str) -> User | None:
        return {"anonymous": None, "coordinator": self.coordinator, "fleet": self.fleet, "oem": self.oem}[role]


# ---------------------------------------------------------------- OEM side: catalog, tenders, bids


def make_model(org: Organization, **overrides: Any) -> VehicleModel:
    """A catalog entry of `org` that meets make_tender's default lot (box truck, 300 km, CCS1)."""
    n = next(_seq)
    model = VehicleModel(
        code=overrides.pop("code", f"model_{n}"),
        organization_id=org.id,
        manufacturer=org.name,
        name=overrides.pop("name", f"eBox {n}"),
        segment_id=overrides.pop("segment_id", "md_box_truck"),
        powertrain=overrides.pop("powertrain", "BEV"),
        markets=overrides.pop("markets", ["US", "CA"]),
        range_km=overrides.pop("range_km", 320),
        payload_kg=overrides.pop("payload_kg", 5000),
        battery_kwh=overrides.pop("battery_kwh", 200),
        charging=overrides.pop("charging", ["CCS1", "J1772"]),
        list_price=overrides.pop("list_price", Decimal("240000")),
        currency=overrides.pop("currency", "USD"),
        yearly_capacity=overrides.pop("yearly_capacity", 1000),
        **overrides,
    )
    db.session.add(model)
    db.session.commit()
    return model


def make_tender(coordinator: User, fleet: Organization, lots: list[dict[str, Any]] | None = None, **round_kw: Any):
    """A round in tendering whose published pooling run has `lots` (each with one member line of `fleet`).

    Returns (round, [Lot, ...]). Default: two box-truck lots in the US needing 300 km and CCS1.
    """
    rnd = make_round(coordinator, RoundPhase.POOLED, **round_kw)
    specs = lots or [
        {"region_id": "US-CA", "quantity": 40},
        {"region_id": "US-TX", "quantity": 25, "min_payload_kg": 4000},
    ]
    run = PoolingRun(
        round_id=rnd.id,
        min_lot_quantity=rnd.min_lot_quantity,
        max_lot_quantity=rnd.max_lot_quantity,
        max_levels_up=rnd.max_levels_up,
        status=RunStatus.SUCCEEDED,
    )
    db.session.add(run)
    db.session.flush()
    made = []
    for i, spec in enumerate(specs, start=1):
        spec = dict(spec)
        quantity = spec.pop("quantity", 30)
        segment_id = spec.pop("segment_id", "md_box_truck")
        line = make_line(rnd, fleet, segment_id=segment_id, quantity=quantity, region_id="us-ca-los-angeles")
        lot = Lot(
            round_id=rnd.id,
            pooling_run_id=run.id,
            code=f"lot-{i}",
            segment_id=segment_id,
            region_id=spec.pop("region_id", "US"),
            earliest_quarter=spec.pop("earliest_quarter", "2027Q2"),
            latest_quarter=spec.pop("latest_quarter", "2027Q3"),
            charging=spec.pop("charging", "CCS1"),
            min_range_km=spec.pop("min_range_km", 300),
            min_payload_kg=spec.pop("min_payload_kg", 0),
            quantity=quantity,
            fleet_count=spec.pop("fleet_count", 1),
            **spec,
        )
        db.session.add(lot)
        db.session.flush()
        db.session.add(LotMember(lot_id=lot.id, demand_line_id=line.id, quantity=quantity))
        made.append(lot)
    run.lot_count = len(made)
    rnd = db.session.get(Round, rnd.id)
    assert rnd is not None
    rnd.published_pooling_run_id = run.id
    db.session.commit()
    rounds.transition(rnd.id, RoundPhase.TENDERING, coordinator)
    return rnd, made


def make_bid(oem: User, lot: Lot, model: VehicleModel, tiers=((10, "230000"),), max_quantity: int | None = None):
    """A bid through the service (stating a capacity of 500 first if the OEM has none)."""
    from marketplace.services import bidding

    rnd = db.session.get(Round, lot.round_id)
    assert rnd is not None
    if bidding.capacity_of(rnd, oem) is None:
        bidding.set_capacity(rnd.id, 500, oem)
    values = {"model_code": model.code, "min_quantity": tiers[0][0], "max_quantity": max_quantity or lot.quantity}
    for n, (q, p) in enumerate(tiers, start=1):
        values[f"tier{n}_min"] = q
        values[f"tier{n}_price"] = p
    return bidding.submit_bid(rnd.id, lot.id, values, oem)


def make_contracting_round(world: World) -> Round:
    """Contracting open: `world.fleet` has two lots awarded by the solver (40 from OEM A at 230,000, 25 from
    OEM B at 240,000). Runs the award job: tests using it are marked `commits`."""
    from marketplace.services import award

    rnd, (ca, tx) = make_tender(world.coordinator, world.fleet.organization)
    make_bid(world.oem, ca, make_model(world.oem.organization), tiers=((10, "230000"),))
    make_bid(world.other_oem, tx, make_model(world.other_oem.organization), tiers=((10, "240000"),))
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules(name="Round rules"))
    award.publish_scenario(scenario.id, world.coordinator)
    rounds.transition(rnd.id, RoundPhase.CONTRACTING, world.coordinator)
    return db.session.get(Round, rnd.id)
