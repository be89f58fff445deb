"""A realistic large round next to the demo data, built through the services as members would.

`flask seed-large --lines N --bids M` (the benchmark and the scale tests use it): fleets
register and upload their demand lines as CSV files and commit them, the coordinator closes
demand, pools and publishes the lots, OEMs register, add a catalog model per segment, state
their capacity and upload a bid sheet each (its bids, a few package bids over lots of one segment,
and a production ramp by quarter), the coordinator closes bids, computes two award
scenarios, publishes one and opens confirmations, and a share of the fleets answer. Every
login uses the demo password. Each call makes a new round (its number is in the names), so
it can run again on the same database.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook

from marketplace.extensions import db
from marketplace.models import (
    Allocation,
    DemandLine,
    Lot,
    LotMember,
    Organization,
    OrganizationKind,
    Round,
    RoundPhase,
    User,
)
from marketplace.services import accounts, audit, clock, rounds
from marketplace.services.demo import COORDINATOR_EMAIL, DEMO_PASSWORD, seed_demo

SEGMENTS = ("cargo_van", "md_box_truck", "refuse_truck", "yard_tractor", "drayage_tractor", "school_bus", "transit_bus")
# Where fleets post (metros, states, countries of the reference data) and the charging they accept there.
PLACES = {
    "US": ["us-ca-los-angeles", "us-ca-bay-area", "us-ny-new-york", "us-tx-houston", "us-wa-seattle",
           "US-CA", "US-NY", "US-NJ", "US-TX", "US-WA", "US-IL"],
    "CA": ["ca-on-toronto", "ca-bc-vancouver", "ca-qc-montreal"],
    "MX": ["mx-cmx-mexico-city", "mx-nle-monterrey"],
}  # fmt: skip
CHARGING = {"US": ["CCS1", "NACS"], "CA": ["CCS1", "NACS"], "MX": ["CCS1", "CCS2"]}
RESERVE = {"cargo_van": 90_000, "md_box_truck": 220_000, "refuse_truck": 450_000, "yard_tractor": 280_000,
           "drayage_tractor": 380_000, "school_bus": 380_000, "transit_bus": 850_000}  # fmt: skip
LINES_PER_FLEET = 50
OEM_COUNT = 30
DECIDED = 300
BIDS_PER_PACKAGE = 20  # one package bid for about every 20 bids, over 2-4 lots the OEM bids on
CAPACITY = 100_000  # each OEM's total for the round, split by quarter into a ramp


@dataclass
class LargeRound:
    round_id: int
    fleets: int
    lines: int
    lots: int
    oems: int
    bids: int
    packages: int
    allocations: int


def _approve(org: Organization, coordinator: User) -> None:
    """New organizations act once a coordinator has approved them."""
    accounts.decide_organization(coordinator, org.id, approve=True)


def _register(kind: OrganizationKind, name: str, email: str, country: str, coordinator: User) -> User:
    user = accounts.register_organization(
        org_name=name, kind=kind, country=country, user_name=f"{name} manager", email=email, password=DEMO_PASSWORD
    )
    assert user is not None
    _approve(user.organization, coordinator)
    return user


@contextmanager
def _demo_password_hashed_once() -> Iterator[None]:
    """Hash the shared demo password once for every seeded account (scrypt takes ~0.5 s a time).

    Each account still gets a full-strength hash of the same public password; only its salt is shared.
    """
    from marketplace.models import organization

    original = organization.generate_password_hash
    memo: dict[tuple[str, tuple], str] = {}

    def once(password: str, *args: Any, **kwargs: Any) -> str:
        key = (password, args + tuple(sorted(kwargs.items())))
        if key not in memo:
            memo[key] = original(password, *args, **kwargs)
        return memo[key]

    organization.generate_password_hash = once
    try:
        yield
    finally:
        organization.generate_password_hash = original


def _csv(rows: list[dict[str, object]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _fleet_rows(count: int, country: str, rng: random.Random, first_quarter: int) -> list[dict[str, object]]:
    places = rng.sample(PLACES[country], k=min(len(PLACES[country]), rng.randint(1, 3)))
    segments = rng.sample(SEGMENTS, k=rng.randint(1, 3))
    rows = []
    for _ in range(count):
        segment = rng.choice(segments)
        start = first_quarter + rng.randrange(0, 6)
        end = start + rng.choice([0, 1, 1, 2, 3])
        accepted = CHARGING[country]
        charging = [accepted[0]] + ([accepted[1]] if rng.random() < 0.4 else [])
        price = Decimal(RESERVE[segment]) * Decimal(str(round(rng.uniform(0.95, 1.2), 3)))
        rows.append(
            {
                "segment": segment,
                "region": rng.choice(places),
                "quantity": max(1, min(40, int(rng.expovariate(1 / 6)) + 1)),
                "earliest_quarter": f"{start // 4}Q{start % 4 + 1}",
                "latest_quarter": f"{end // 4}Q{end % 4 + 1}",
                "min_range_km": rng.choice([0, 100, 150, 200]),
                "min_payload_kg": 0,
                "charging": ";".join(charging),
                "max_unit_price": f"{price.quantize(Decimal('100'))}",
                "splittable": "yes" if rng.random() < 0.3 else "no",
                "note": "",
            }
        )
    return rows


def _ramp(first: int, last: int, segment: str) -> list[list[Any]]:
    """The OEM's capacity by quarter: a ramp over the quarters the lots deliver in (first to last, as quarter
    numbers) adding up to its total, and a tighter cap on one segment while its line starts."""
    weights = list(range(1, last - first + 2))
    shares = [-(-CAPACITY * w // sum(weights)) for w in weights]  # rounded up: they add up to at least the total
    quarters = [f"{q // 4}Q{q % 4 + 1}" for q in range(first, last + 1)]
    return [[q, None, n] for q, n in zip(quarters, shares, strict=True)] + [[quarters[0], segment, 40]]


def _bid_sheet(rows: list[list[Any]], packages: list[list[Any]], ramp: list[list[Any]]) -> bytes:
    """The bid sheet as an OEM fills it in: the lot code, its bid cells (the grey lot columns left blank), its
    package bids (one row per package and lot) and its capacity by quarter."""
    from marketplace.services.bid_sheet import BID_COLUMNS, INFO_COLUMNS, SHEET, tier_columns
    from marketplace.services.bid_sheet_book import CAPACITY_SHEET, PACKAGES_SHEET
    from marketplace.services.bid_sheet_packages import PACKAGE_COLUMNS
    from marketplace.services.bid_sheet_quarters import CAPACITY_COLUMNS

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([*INFO_COLUMNS, *BID_COLUMNS, *tier_columns(2)])
    blank = [None] * (len(INFO_COLUMNS) - 1)
    for row in rows:
        ws.append([row[0], *blank, *row[1:]])
    for title, header, more in ((PACKAGES_SHEET, PACKAGE_COLUMNS, packages), (CAPACITY_SHEET, CAPACITY_COLUMNS, ramp)):
        sheet = wb.create_sheet(title)
        sheet.append(list(header))
        for row in more:
            sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _packages(tag: str, k: int, bid_rows: list[list[Any]], lots: dict[str, Lot], count: int) -> list[list[Any]]:
    """`count` package bids of OEM k over lots of one segment it bids on (2-4 each, whole lots, 3 % below its bids):
    the Packages sheet's rows (package_id blank: new packages, joined by name)."""
    by_segment: dict[str, list[list[Any]]] = {}
    for row in bid_rows:
        by_segment.setdefault(lots[str(row[0])].segment_id, []).append(row)
    groups = [g[i : i + 4] for g in by_segment.values() for i in range(0, len(g) - 1, 4) if len(g[i : i + 4]) >= 2]
    out: list[list[Any]] = []
    for n, group in enumerate(groups[:count], start=1):
        for code, model, *_, price in (row[:6] for row in group):
            quantity = lots[str(code)].quantity
            out.append([None, f"Package {n} ({tag}, OEM {k + 1})", code, model, quantity, round(float(price) * 0.97)])
    return out


SEEDED_AWARD_REASON = "Seeded round at scale: the computed award is published as it is."


def seed_large(lines: int, bids: int, **kwargs: object) -> LargeRound:
    """Build the round; `say` hears each step (the command prints them)."""
    with _demo_password_hashed_once():
        return _seed_large(lines, bids, **kwargs)  # type: ignore[arg-type]


def _seed_large(
    lines: int,
    bids: int,
    *,
    data_dir=None,
    coordinator: User | None = None,
    time_limit: float = 10.0,
    say: Callable[[str], None] = lambda _: None,
) -> LargeRound:
    import time

    from marketplace.services import award, bid_sheet, bidding, catalog, contracting, demand, demand_upload, pooling

    started = time.monotonic()
    inner = say
    say = lambda text: inner(f"[{time.monotonic() - started:5.0f} s] {text}")  # noqa: E731
    rng = random.Random(lines * 7919 + bids)
    if coordinator is None:  # next to the demo coalition, run by its coordinator
        seed_demo(data_dir)
        coordinator = db.session.execute(sa.select(User).where(User.email == COORDINATOR_EMAIL)).scalar_one()
    serial = db.session.execute(sa.select(sa.func.count(Round.id))).scalar_one() + 1
    tag = f"L{serial}"
    now = clock.now().replace(microsecond=0)
    rnd = rounds.create_round(
        rounds.RoundSettings(
            name=f"Large round {tag}: {lines:,} lines, {bids:,} bids",
            description="A round at coalition scale, for measuring the site (flask seed-large).",
            segment_ids=list(SEGMENTS),
            region_ids=["m49-021", "MX"],
            demand_deadline=now + timedelta(days=30),
            bid_deadline=now + timedelta(days=60),
            confirmation_deadline=now + timedelta(days=90),
            max_winners_per_lot=2,
            currency="USD",
        ),
        coordinator,
    )
    round_id = rnd.id
    rounds.transition(round_id, RoundPhase.DEMAND_OPEN, coordinator)

    # Fleets: about 50 lines each, a few big ones (Zipf-like), uploaded as one CSV each and committed.
    fleet_count = max(2, lines // LINES_PER_FLEET)
    weights = [1.0 / (1 + i % 10) for i in range(fleet_count)]
    shares = [int(lines * w / sum(weights)) for w in weights]
    shares[0] += lines - sum(shares)
    first_quarter = demand.quarter_index(demand.current_quarter()) + 1
    fleet_users: dict[int, User] = {}
    for i, count in enumerate(shares):
        if count <= 0:
            continue
        country = rng.choices(list(PLACES), [6, 2, 2])[0]
        user = _register(
            OrganizationKind.FLEET, f"Large Fleet {i + 1:03d} ({tag})", f"fleet{i + 1:03d}.{tag.lower()}@large.example",
            country, coordinator,
        )  # fmt: skip
        fleet_users[user.organization_id] = user
        for start in range(0, count, demand_upload.MAX_ROWS):
            rows = _fleet_rows(min(count - start, demand_upload.MAX_ROWS), country, rng, first_quarter)
            check = demand_upload.check_upload(round_id, f"demand-{i + 1}.csv", _csv(rows), user)
            if check.upload is None:
                raise RuntimeError(f"fleet {i + 1}: {check.problems[:3]}")
            demand_upload.save_upload(round_id, check.upload.token, user)
        demand.commit_lines(round_id, None, user)
    say(f"{len(fleet_users)} fleets posted and committed {lines:,} demand lines.")

    rounds.transition(round_id, RoundPhase.DEMAND_CLOSED, coordinator)
    run = pooling.start_run(round_id, coordinator, time_limit=time_limit)
    pooling.execute_run(run.id)  # now, not through the queue: a queued job finds it done
    pooling.publish_run(run.id, coordinator)
    rnd = db.session.get_one(Round, round_id)
    lots = pooling.published_lots(rnd)
    say(f"Pooled into {len(lots)} lots and published them.")

    # OEMs: a model per segment that meets every lot, a capacity, one bid sheet each.
    reserve = dict(
        db.session.execute(
            sa.select(LotMember.lot_id, sa.func.min(DemandLine.max_unit_price))
            .join(DemandLine, DemandLine.id == LotMember.demand_line_id)
            .join(Lot, Lot.id == LotMember.lot_id)
            .where(Lot.pooling_run_id == run.id)
            .group_by(LotMember.lot_id)
        ).all()
    )
    # About 60 bids per OEM, and enough OEMs that the lots can take every bid (one per OEM and lot).
    oem_count = min(OEM_COUNT, max(2, bids // 60, -(-bids // max(1, len(lots)))))
    pairs = [(lot, k) for lot in lots for k in range(oem_count)]
    rng.shuffle(pairs)
    chosen = pairs[:bids]
    oems = []
    for k in range(oem_count):
        user = _register(
            OrganizationKind.OEM, f"Large OEM {k + 1:02d} ({tag})", f"sales{k + 1:02d}.{tag.lower()}@large.example",
            "US", coordinator,
        )  # fmt: skip
        models = {}
        for segment in SEGMENTS:
            model = catalog.create_model(
                {"name": f"E-{segment.replace('_', ' ').title()} {k + 1}", "segment_id": segment,
                 "powertrain": "BEV", "markets": "US CA MX", "range_km": 600, "payload_kg": 40000,
                 "battery_kwh": 400, "charging": "CCS1;CCS2;NACS", "currency": "USD",
                 "list_price": str(RESERVE[segment]), "yearly_capacity": 5000},
                user,
            )  # fmt: skip
            models[segment] = model.code
        bidding.set_capacity(round_id, CAPACITY, user)
        oems.append((user, models))
    sheets: dict[int, list[list[Any]]] = {k: [] for k in range(oem_count)}
    for lot, k in chosen:
        base = (reserve[lot.id] * Decimal(str(round(rng.uniform(0.85, 0.99), 3)))).quantize(Decimal("1"))
        low = max(1, lot.quantity // 4)
        high = max(low + 1, lot.quantity // 2)
        row: list[object] = [lot.code, oems[k][1][lot.segment_id], low, lot.quantity, low, float(base)]
        if high <= lot.quantity:
            row += [high, float((base * Decimal("0.97")).quantize(Decimal("1")))]
        sheets[k].append(row)
    placed = packaged = 0
    by_code = {lot.code: lot for lot in lots}
    wanted = -(-bids // BIDS_PER_PACKAGE // oem_count)  # packages per OEM
    delivery = (min(demand.quarter_index(lot.earliest_quarter) for lot in lots),
                max(demand.quarter_index(lot.latest_quarter) for lot in lots))  # fmt: skip
    for k, sheet_rows in sheets.items():
        if sheet_rows:
            packages = _packages(tag, k, sheet_rows, by_code, wanted)
            ramp = _ramp(*delivery, rng.choice(SEGMENTS))
            result = bid_sheet.upload_sheet(round_id, "bids.xlsx", _bid_sheet(sheet_rows, packages, ramp), oems[k][0])
            placed += len(result.saved)
            packaged += len(result.packages_saved)
    say(f"{oem_count} OEMs placed {placed:,} bids and {packaged:,} package bids, with capacities by quarter.")

    rounds.transition(round_id, RoundPhase.BIDS_CLOSED, coordinator)
    first = award.start_scenario(round_id, coordinator, award.ScenarioRules(name="Round rules", time_limit=time_limit))
    award.execute_scenario(first.id)
    second = award.start_scenario(
        round_id, coordinator,
        award.ScenarioRules(name="One winner per lot", max_winners_per_lot=1, time_limit=time_limit),
    )  # fmt: skip
    award.execute_scenario(second.id)
    # The seeded demand is random: the round's limits may leave a line that some bid could serve
    # unserved, which a coordinator publishes only with a reason (kept in the audit log).
    award.publish_scenario(first.id, coordinator, reason=SEEDED_AWARD_REASON)
    rounds.transition(round_id, RoundPhase.CONTRACTING, coordinator)
    allocation_rows = db.session.execute(
        sa.select(Allocation.id, DemandLine.organization_id)
        .join(DemandLine, DemandLine.id == Allocation.demand_line_id)
        .where(Allocation.scenario_id == first.id)
        .order_by(Allocation.id)
    ).all()
    # Some allocations answered already (most confirmed), the rest pending; each answer is its own commit.
    for allocation_id, org_id in allocation_rows[::5][:DECIDED]:
        contracting.decide(allocation_id, rng.random() < 0.85, fleet_users[org_id])
    say(f"Awarded ({len(allocation_rows):,} allocations in the published scenario), confirmations open.")
    audit.record(
        coordinator, "round.seed_large", rnd, summary="Large round seeded (flask seed-large).", round_id=round_id
    )
    db.session.commit()
    return LargeRound(round_id, len(fleet_users), lines, len(lots), oem_count, placed, packaged, len(allocation_rows))
