"""A believable demo coalition: a coordinator, fleets, OEMs owning the catalog, rounds in several phases.

Idempotent: organizations, users and rounds are found by name or email before anything is
created, so running it twice changes nothing. Random choices use a fixed seed.
"""

from __future__ import annotations

import random
import re
import statistics
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import (
    DemandLine,
    DemandStatus,
    Organization,
    OrganizationKind,
    Region,
    Round,
    RoundPhase,
    User,
    VehicleModel,
)
from marketplace.services import audit, clock, rounds
from marketplace.services.demo_contracting import award_and_confirm
from marketplace.services.reference_data import load_reference_data

DEMO_PASSWORD = "zero-emission"
COORDINATOR_ORG = "Fleet Electrification Coalition"
COORDINATOR_EMAIL = "coordinator@fec.example"


@dataclass(frozen=True)
class DemoFleet:
    name: str
    country: str
    email: str
    description: str
    segments: tuple[str, ...]
    metros: tuple[str, ...]


FLEETS = (
    DemoFleet(
        "Parcelo Express",
        "US",
        "ops@parcelo.example",
        "Parcel carrier, last-mile delivery",
        ("cargo_van", "md_box_truck"),
        ("us-ca-los-angeles", "us-ca-bay-area", "us-ny-new-york", "us-wa-seattle"),
    ),
    DemoFleet(
        "FreshCart Grocers",
        "US",
        "fleet@freshcart.example",
        "Grocery chain with regional distribution centres",
        ("md_box_truck", "yard_tractor"),
        ("us-ca-los-angeles", "us-tx-houston", "us-ca-bay-area"),
    ),
    DemoFleet(
        "Pacific Coast Transit Authority",
        "US",
        "procurement@pcta.example",
        "Public transit agency",
        ("transit_bus",),
        ("us-ca-los-angeles", "us-ca-bay-area"),
    ),
    DemoFleet(
        "Cascade Unified School District",
        "US",
        "transport@cascade-usd.example",
        "School district",
        ("school_bus",),
        ("us-wa-seattle",),
    ),
    DemoFleet(
        "Lone Star Independent School District",
        "US",
        "buses@lonestar-isd.example",
        "School district",
        ("school_bus",),
        ("us-tx-houston",),
    ),
    DemoFleet(
        "Harbor Line Drayage",
        "US",
        "dispatch@harborline.example",
        "Port drayage carrier, Los Angeles / Long Beach",
        ("drayage_tractor", "yard_tractor"),
        ("us-ca-los-angeles", "us-tx-houston"),
    ),
    DemoFleet(
        "Bay City Refuse Department",
        "US",
        "fleet@baycity-refuse.example",
        "Municipal refuse collection",
        ("refuse_truck",),
        ("us-ca-bay-area", "us-ny-new-york"),
    ),
    DemoFleet(
        "Northwind Parcel Canada",
        "CA",
        "fleet@northwind.example",
        "Parcel carrier",
        ("cargo_van", "md_box_truck"),
        ("ca-on-toronto", "ca-bc-vancouver", "ca-qc-montreal"),
    ),
    DemoFleet(
        "Lakeshore Municipal Services",
        "CA",
        "works@lakeshore.example",
        "City refuse and works fleet",
        ("refuse_truck", "md_box_truck"),
        ("ca-on-toronto", "ca-qc-montreal"),
    ),
    DemoFleet(
        "Reparto Valle de Mexico",
        "MX",
        "flota@reparto-vm.example",
        "Urban delivery",
        ("cargo_van", "md_box_truck"),
        ("mx-cmx-mexico-city", "mx-nle-monterrey"),
    ),
    DemoFleet(
        "Sunbelt Beverage Distributors",
        "US",
        "fleet@sunbelt-bev.example",
        "Beverage distribution",
        ("md_box_truck", "yard_tractor"),
        ("us-tx-houston", "us-ca-los-angeles"),
    ),
    DemoFleet(
        "Andes Urban Transit",
        "CO",
        "compras@andes-transit.example",
        "Bus operator in Bogota and Medellin",
        ("transit_bus",),
        ("co-dc-bogota", "co-ant-medellin", "cl-rm-santiago"),
    ),
    DemoFleet(
        "Maasvlakte Terminal Services",
        "NL",
        "fleet@maasvlakte-ts.example",
        "Port terminal operator",
        ("yard_tractor", "drayage_tractor"),
        ("nl-zh-rotterdam", "de-hh-hamburg"),
    ),
    DemoFleet(
        "EuroFresh Distribution",
        "FR",
        "flotte@eurofresh.example",
        "Food distribution across EU cities",
        ("md_box_truck", "transit_bus"),
        ("fr-idf-paris", "es-md-madrid", "it-25-milan"),
    ),
)

# Which charging standards fleets in a world region accept, per segment group.
_REGION_CHARGING = {"m49-021": ["CCS1", "NACS", "J1772"], "m49-013": ["CCS1", "CCS2"],
                    "m49-005": ["CCS2", "CCS1"], "m49-150": ["CCS2", "MCS", "J3105"],
                    "m49-030": ["GB/T", "CHAdeMO"], "m49-034": ["CCS2", "GB/T"]}  # fmt: skip

NA_ROUND = "2027 North America Beachhead Round"
TRANSIT_ROUND = "2026 Latin America & Europe Transit Buses"
INDIA_ROUND = "2027 India e-Bus Aggregation"
CANCELLED_ROUND = "2026 Yard Tractor Pilot"
AWARDED_ROUND = "2026 US West Coast Buses and Box Trucks"
# The awarded round's manufacturer ramping up a new plant: it states its capacity by quarter, and in
# contracting it drops out of a lot, where another OEM's spare capacity steps in (demo_contracting).
RAMP_OEM = "Lion Electric"
RAMP = (("2027Q1", 30), ("2027Q2", 40), ("2027Q3", 50), ("2027Q4", 60), ("2028Q1", 70), ("2028Q2", 80),
        ("2028Q3", 80))  # fmt: skip


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _org(name: str, kind: OrganizationKind, country: str, description: str = "") -> Organization:
    org = db.session.execute(sa.select(Organization).where(Organization.name == name)).scalar_one_or_none()
    if org is None:
        org = Organization(name=name, kind=kind, country=country, description=description)
        db.session.add(org)
        db.session.flush()
    return org


def _user(org: Organization, email: str, name: str) -> User:
    user = db.session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        user = User(email=email, name=name, organization=org)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        db.session.flush()
    return user


def _world_region(region: Region) -> str:
    while region.parent is not None:
        region = region.parent
    return region.id


def _reference_prices() -> dict[tuple[str, str], Decimal]:
    """Median list price per (segment, currency) in the catalog: believable reserve prices."""
    prices: dict[tuple[str, str], list[Decimal]] = {}
    for model in db.session.execute(sa.select(VehicleModel).where(VehicleModel.list_price.is_not(None))).scalars():
        prices.setdefault((model.segment_id, model.currency), []).append(model.list_price)  # type: ignore[arg-type]
    return {key: Decimal(statistics.median(values)) for key, values in prices.items()}


def _quarter(year: int, q: int) -> str:
    return f"{year}Q{q}"


def _demand_lines(
    rnd: Round, fleets: list[tuple[DemoFleet, Organization]], count: int, rng: random.Random
) -> list[DemandLine]:
    prices = _reference_prices()
    in_scope = {s.id for s in rnd.segments}
    scope_regions = {r.id for r in rnd.regions}
    candidates = []
    for spec, org in fleets:
        for metro_id in spec.metros:
            metro = db.session.get(Region, metro_id)
            assert metro is not None, metro_id
            ancestors = set()
            node: Region | None = metro
            while node is not None:
                ancestors.add(node.id)
                node = node.parent
            if not ancestors & scope_regions:
                continue
            for segment_id in spec.segments:
                if segment_id in in_scope:
                    candidates.append((spec, org, metro, segment_id))
    if not candidates:
        return []
    # Demand concentrates in a few big metros and fleets: weight the first ones more (Zipf-like).
    weights = [1.0 / (1 + i % 7) for i in range(len(candidates))]
    lines = []
    for _ in range(count):
        spec, org, metro, segment_id = rng.choices(candidates, weights)[0]
        # Post at the metro mostly, sometimes at the state level (a state-wide fleet).
        region = metro if rng.random() < 0.85 or metro.parent is None else metro.parent
        quantity = max(1, min(40, int(rng.expovariate(1 / 6)) + 1))
        start = rng.randrange(0, 6)  # 2027Q1 .. 2028Q2
        length = rng.choice([0, 1, 1, 2, 2, 3])
        earliest = 2027 * 4 + start
        latest = earliest + length
        world = _world_region(metro)
        accepted = _REGION_CHARGING.get(world, ["CCS2"])
        charging = [accepted[0]] + ([accepted[1]] if len(accepted) > 1 and rng.random() < 0.4 else [])
        base = prices.get((segment_id, rnd.currency)) or prices.get((segment_id, "USD")) or Decimal("250000")
        max_price = (base * Decimal(str(rng.uniform(0.95, 1.2)))).quantize(Decimal("100"))
        lines.append(
            DemandLine(
                round_id=rnd.id,
                organization_id=org.id,
                segment_id=segment_id,
                region_id=region.id,
                quantity=quantity,
                earliest_quarter=_quarter(earliest // 4, earliest % 4 + 1),
                latest_quarter=_quarter(latest // 4, latest % 4 + 1),
                min_range_km=rng.choice([0, 100, 150, 200, 250]),
                min_payload_kg=0,
                charging=charging,
                max_unit_price=max_price,
                splittable=rng.random() < 0.3,
                status=DemandStatus.COMMITTED,
                committed_at=clock.now(),
            )
        )
    return lines


def _round(coordinator: User, settings: rounds.RoundSettings) -> tuple[Round, bool]:
    existing = db.session.execute(sa.select(Round).where(Round.name == settings.name)).scalar_one_or_none()
    if existing is not None:
        return existing, False
    return rounds.create_round(settings, coordinator), True


def seed_demo(data_dir: Path) -> dict[str, int]:
    """Load the reference data and create the demo coalition; safe to run again."""
    load_reference_data(data_dir)
    rng = random.Random(2027)
    coordinator_org = _org(
        COORDINATOR_ORG,
        OrganizationKind.COORDINATOR,
        "US",
        "Run by the Sustainable Freight Buyers Alliance with CALSTART's Drive to Zero program",
    )
    coordinator = _user(coordinator_org, COORDINATOR_EMAIL, "Dana Coordinator")

    fleets = []
    for spec in FLEETS:
        org = _org(spec.name, OrganizationKind.FLEET, spec.country, spec.description)
        _user(org, spec.email, f"{spec.name} fleet manager")
        fleets.append((spec, org))

    oems = (
        db.session.execute(
            sa.select(Organization).where(Organization.kind == OrganizationKind.OEM).order_by(Organization.name)
        )
        .scalars()
        .all()
    )
    for org in oems:
        _user(org, f"sales@{_slug(org.name)}.example", f"{org.name} sales")
    for model in db.session.execute(sa.select(VehicleModel).where(VehicleModel.yearly_capacity.is_(None))).scalars():
        model.yearly_capacity = rng.choice([150, 250, 400, 600, 1000])
    db.session.commit()

    now = clock.now().replace(minute=0, second=0)
    na, created = _round(coordinator, rounds.RoundSettings(
        name=NA_ROUND,
        description="Urban, depot-charged trucks and buses for delivery in 2027-2028 across the US, Canada and Mexico.",
        segment_ids=["cargo_van", "md_box_truck", "refuse_truck", "yard_tractor", "drayage_tractor",
                     "school_bus", "transit_bus"],
        region_ids=["m49-021", "MX"],
        demand_deadline=now + timedelta(days=21), bid_deadline=now + timedelta(days=49),
        confirmation_deadline=now + timedelta(days=90),
        deposit_per_vehicle=Decimal("500.00"), currency="USD",
    ))  # fmt: skip
    if created:
        rounds.transition(na.id, RoundPhase.DEMAND_OPEN, coordinator)
        _add_lines(na, fleets, 320, rng)

    transit, created = _round(coordinator, rounds.RoundSettings(
        name=TRANSIT_ROUND,
        description="Battery-electric city buses for operators in South America and the EU.",
        segment_ids=["transit_bus", "md_box_truck"], region_ids=["m49-005", "m49-150"],
        demand_deadline=now + timedelta(days=1), bid_deadline=now + timedelta(days=30),
        min_lot_quantity=10, max_lot_quantity=200, currency="USD",
    ))  # fmt: skip
    if created:
        rounds.transition(transit.id, RoundPhase.DEMAND_OPEN, coordinator)
        _add_lines(transit, fleets, 60, rng)
        # Its demand deadline has passed: the clock closes demand, nobody clicks.
        transit.demand_deadline = now - timedelta(days=2)
        rounds.apply_deadlines(transit)
        db.session.commit()
        # Pooled and published: OEMs see its lots and some have bid already.
        _pool_and_publish(transit, coordinator)
        _demo_bids(transit, rng, share=0.5)

    awarded, created = _round(coordinator, rounds.RoundSettings(
        name=AWARDED_ROUND,
        description="Transit and school buses and box trucks for California, Washington and Texas, delivered 2027-2028.",
        segment_ids=["transit_bus", "school_bus", "md_box_truck"], region_ids=["US"],
        demand_deadline=now + timedelta(days=1), bid_deadline=now + timedelta(days=2),
        confirmation_deadline=now + timedelta(days=20), max_winners_per_lot=2,
        max_share_per_supplier=Decimal("0.7"), currency="USD",
    ))  # fmt: skip
    if created:
        rounds.transition(awarded.id, RoundPhase.DEMAND_OPEN, coordinator)
        _add_lines(awarded, fleets, 90, rng)
        awarded.demand_deadline = now - timedelta(days=30)
        rounds.apply_deadlines(awarded)
        db.session.commit()
        _pool_and_publish(awarded, coordinator)
        # Capacities with room beyond what each OEM wins, so the award's backups can step in.
        _demo_bids(awarded, rng, share=0.9, capacities=(250, 300, 400))
        _demo_ramp(awarded, RAMP_OEM)
        awarded.bid_deadline = now - timedelta(days=7)
        rounds.apply_deadlines(awarded)
        db.session.commit()
        award_and_confirm(awarded, coordinator, rng, drops_out=RAMP_OEM)

    _round(coordinator, rounds.RoundSettings(
        name=INDIA_ROUND,
        description="Draft: 12 m e-buses for state transport undertakings; scope and deposit still under discussion.",
        segment_ids=["transit_bus"], region_ids=["IN"], currency="INR", min_lot_quantity=50, max_lot_quantity=1000,
    ))  # fmt: skip

    pilot, created = _round(coordinator, rounds.RoundSettings(
        name=CANCELLED_ROUND, description="Cancelled: too little committed demand to tender.",
        segment_ids=["yard_tractor"], region_ids=["US"], demand_deadline=now + timedelta(days=10),
    ))  # fmt: skip
    if created:
        rounds.transition(pilot.id, RoundPhase.DEMAND_OPEN, coordinator)
        rounds.transition(pilot.id, RoundPhase.CANCELLED, coordinator)

    return {
        "fleets": len(fleets),
        "oems": len(oems),
        "rounds": db.session.execute(sa.select(sa.func.count(Round.id))).scalar_one(),
        "demand_lines": db.session.execute(sa.select(sa.func.count(DemandLine.id))).scalar_one(),
    }


def _add_lines(rnd: Round, fleets: list[tuple[DemoFleet, Organization]], count: int, rng: random.Random) -> None:
    lines = _demand_lines(rnd, fleets, count, rng)
    db.session.add_all(lines)
    db.session.flush()
    by_fleet: dict[int, int] = {}
    for line in lines:
        by_fleet[line.organization_id] = by_fleet.get(line.organization_id, 0) + 1
    for org_id, n in sorted(by_fleet.items()):
        org = db.session.get(Organization, org_id)
        audit.record(
            None, "demand.seed", org, summary=f"Demo data: {n} committed demand lines posted.", round_id=rnd.id
        )
    db.session.commit()


def _pool_and_publish(rnd: Round, coordinator: User) -> None:
    """Run pooling now (not through the queue: the seed has no worker) and publish its lots."""
    from marketplace.services import pooling

    run = pooling.start_run(rnd.id, coordinator, time_limit=20)
    pooling.execute_run(run.id)  # the queued job finds it done and does nothing
    pooling.publish_run(run.id, coordinator)


def _demo_bids(rnd: Round, rng: random.Random, *, share: float, capacities: tuple[int, ...] = (80, 150, 300)) -> None:
    """OEMs whose catalog meets a lot bid on it (a `share` of the chances), tiers a little under the reserve."""
    from marketplace.models import LotMember
    from marketplace.services import bidding, catalog, pooling

    lots = pooling.published_lots(rnd)
    models = (
        db.session.execute(sa.select(VehicleModel).where(VehicleModel.retired.is_(False)).order_by(VehicleModel.code))
        .scalars()
        .all()
    )
    sellers = {u.organization_id: u for u in db.session.execute(sa.select(User).join(User.organization).where(
        Organization.kind == OrganizationKind.OEM)).scalars()}  # fmt: skip
    for lot in lots:
        reserve = min(
            db.session.execute(
                sa.select(DemandLine.max_unit_price).join(LotMember, LotMember.demand_line_id == DemandLine.id)
                .where(LotMember.lot_id == lot.id)
            ).scalars()
        )  # fmt: skip
        for model in models:
            user = sellers.get(model.organization_id)
            if user is None or catalog.shortfalls(model, lot) or rng.random() > share:
                continue
            if bidding.capacity_of(rnd, user) is None:
                bidding.set_capacity(rnd.id, rng.choice(capacities), user)
            base = (reserve * Decimal(str(rng.uniform(0.88, 0.99)))).quantize(Decimal("100"))
            low = max(1, lot.quantity // 4)
            values = {"model_code": model.code, "min_quantity": low, "max_quantity": lot.quantity,
                      "tier1_min": low, "tier1_price": base,
                      "tier2_min": max(low + 1, lot.quantity // 2), "tier2_price": (base * Decimal("0.97")).quantize(Decimal("0.01"))}  # fmt: skip
            bidding.submit_bid(rnd.id, lot.id, values, user)  # an OEM's second model revises its bid


def _demo_ramp(rnd: Round, oem_name: str) -> None:
    """The OEM states its capacity by quarter (a plant ramping up), within its total for the round."""
    from marketplace.services import bidding, quarter_capacity

    user = db.session.execute(
        sa.select(User).join(User.organization).where(Organization.name == oem_name).order_by(User.id)
    ).scalar()
    if user is None or bidding.capacity_of(rnd, user) is None:
        return  # it did not bid in this round
    values: dict[str, str] = {}
    for n, (quarter, capacity) in enumerate(RAMP, start=1):
        values |= {f"row{n}_quarter": quarter, f"row{n}_segment": "", f"row{n}_capacity": str(capacity)}
    quarter_capacity.set_rows(rnd.id, values, user)


def demo_logins() -> list[tuple[str, str, str]]:
    """(role, organization, email) of every demo login, for the README and the landing page."""
    rows = db.session.execute(
        sa.select(Organization.kind, Organization.name, User.email)
        .join(User.organization)
        .order_by(Organization.kind, Organization.name)
    ).all()
    return [(kind.value, name, email) for kind, name, email in rows]
