"""Live pool progress: the committed demand that could form one lot with a fleet's line, on small hand-made rounds."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import DemandLine, DemandStatus
from marketplace.services import demand
from tests.demand_helpers import NOW, open_round
from tests.factories import make_line, make_org


@pytest.fixture(autouse=True)
def fixed_clock(frozen_clock):
    frozen_clock.freeze(NOW)


@pytest.fixture
def rnd(world):
    return open_round(world, region_ids=["US"], min_lot_quantity=20, max_levels_up=2)


def progress_of(rnd, line):
    return demand.pool_progress(rnd, [line])[line.id]


def line(rnd, org, **kw):
    kw.setdefault("earliest_quarter", "2027Q1")
    kw.setdefault("latest_quarter", "2027Q3")
    return make_line(rnd, org, **kw)


def test_alone_a_line_counts_itself(world, rnd):
    mine = line(rnd, world.fleet.organization, quantity=5)
    p = progress_of(rnd, mine)
    assert (p.total, p.own, p.others, p.minimum, p.percent, p.reached) == (5, 5, 0, 20, 25, False)
    assert (p.region_id, p.charging, p.quarter) == ("us-ca-los-angeles", "CCS1", "2027Q1")


def test_compatible_committed_demand_joins_and_the_rest_does_not(world, rnd):
    other = world.other_fleet.organization
    mine = line(rnd, world.fleet.organization, quantity=5)
    line(rnd, other, quantity=8, region_id="us-ca-bay-area")  # same state: pools at US-CA
    line(rnd, other, quantity=50, segment_id="transit_bus")  # another segment
    line(rnd, other, quantity=50, earliest_quarter="2027Q4", latest_quarter="2028Q2")  # no shared quarter
    line(rnd, other, quantity=50, charging=["MCS"])  # no shared standard
    line(rnd, other, quantity=50, status=DemandStatus.DRAFT)  # not committed
    line(rnd, other, quantity=50, status=DemandStatus.WITHDRAWN)
    p = progress_of(rnd, mine)
    assert (p.total, p.others, p.region_id) == (13, 8, "US-CA")


def test_regions_pool_within_the_rounds_levels_up(world):
    near = open_round(world, region_ids=["US"], max_levels_up=2)
    far = open_round(world, region_ids=["US"], max_levels_up=1)
    for rnd, expected in ((near, 9), (far, 5)):
        mine = line(rnd, world.fleet.organization, quantity=5)  # Los Angeles > California > US
        line(rnd, world.other_fleet.organization, quantity=4, region_id="us-tx-houston")  # Houston > Texas > US
        assert progress_of(rnd, mine).total == expected


def test_one_lot_has_one_standard_and_one_shared_quarter(world, rnd):
    other = world.other_fleet.organization
    mine = line(rnd, world.fleet.organization, quantity=5, charging=["CCS1", "MCS"])
    line(rnd, other, quantity=6, charging=["CCS1"])
    line(rnd, other, quantity=7, charging=["MCS"])
    line(rnd, other, quantity=3, charging=["MCS"], earliest_quarter="2027Q3", latest_quarter="2027Q3")
    line(rnd, other, quantity=4, charging=["MCS"], earliest_quarter="2027Q1", latest_quarter="2027Q1")
    # Best: MCS in 2027Q1 (5 + 7 + 4 = 16), not every compatible line at once (25): they cannot all share a lot.
    p = progress_of(rnd, mine)
    assert (p.total, p.charging, p.quarter) == (16, "MCS", "2027Q1")


def test_a_draft_line_shows_what_committing_it_would_bring(world, rnd):
    draft = line(rnd, world.fleet.organization, quantity=5, status=DemandStatus.DRAFT)
    line(rnd, world.other_fleet.organization, quantity=15)
    p = progress_of(rnd, draft)
    assert (p.total, p.own, p.others, p.reached, p.percent) == (20, 5, 15, True, 100)
    withdrawn = line(rnd, world.fleet.organization, status=DemandStatus.WITHDRAWN)
    assert demand.pool_progress(rnd, [withdrawn]) == {}


def test_the_page_shows_totals_and_never_other_fleets(world, login, rnd):
    rival = make_org("fleet", name="Secret Rival Logistics")
    line(rnd, world.fleet.organization, quantity=5)
    line(rnd, rival, quantity=11, note="rival's private note")
    page = login(world.fleet).get(f"/fleet/rounds/{rnd.id}").get_data(as_text=True)
    assert "16 of 20 vehicles could pool" in page
    assert 'aria-valuenow="16"' in page
    assert "Secret Rival" not in page and "rival's private note" not in page and ">11<" not in page


def test_a_round_of_a_few_thousand_lines_is_read_in_a_fixed_number_of_statements(world, rnd):
    # Its speed is measured in bench/, not timed here (a loaded CI machine would flake); what can
    # regress silently is reading the round's lines once per line asked for.
    org = world.other_fleet.organization
    regions = ["us-ca-los-angeles", "us-ca-bay-area", "us-tx-houston", "US-NY", "US-CA"]
    db.session.add_all(
        DemandLine(
            round_id=rnd.id,
            organization_id=org.id,
            segment_id="md_box_truck",
            region_id=regions[i % len(regions)],
            quantity=1 + i % 7,
            earliest_quarter=f"2027Q{1 + i % 4}",
            latest_quarter="2028Q4",
            charging=["CCS1", "MCS"][: 1 + i % 2],
            max_unit_price=200000,
            status=DemandStatus.COMMITTED,
        )
        for i in range(3000)
    )
    db.session.commit()
    mine = [line(rnd, world.fleet.organization, quantity=2, region_id=r) for r in regions]
    for asked in mine:
        db.session.refresh(asked)  # loaded as the page has them
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = demand.pool_progress(rnd, mine)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(seen) <= 3  # the round, the region tree, the round's committed lines of these segments
    assert all(p.reached for p in result.values())


def test_after_pooling_each_line_shows_its_lot_or_why_it_stayed_out(world, login, rnd):
    from marketplace.models import Lot, LotMember, PoolingRun, RoundPhase, UnpooledLine
    from marketplace.services import rounds

    rival = make_org("fleet", name="Secret Rival Logistics")
    pooled = line(rnd, world.fleet.organization, quantity=12)
    left_out = line(rnd, world.fleet.organization, quantity=3, region_id="us-tx-houston")
    theirs = line(rnd, rival, quantity=30)
    rounds.transition(rnd.id, RoundPhase.DEMAND_CLOSED, world.coordinator)
    run = PoolingRun(round_id=rnd.id, min_lot_quantity=20, max_lot_quantity=400, max_levels_up=2, input_json="{}")
    db.session.add(run)
    db.session.flush()
    lot = Lot(round_id=rnd.id, pooling_run_id=run.id, code="lot-1", segment_id="md_box_truck", region_id="US-CA",
              earliest_quarter="2027Q2", latest_quarter="2027Q3", charging="CCS1", min_range_km=250,
              quantity=42, fleet_count=2)  # fmt: skip
    db.session.add(lot)
    db.session.flush()
    db.session.add_all([
        LotMember(lot_id=lot.id, demand_line_id=pooled.id, quantity=12),
        LotMember(lot_id=lot.id, demand_line_id=theirs.id, quantity=30),
        UnpooledLine(pooling_run_id=run.id, demand_line_id=left_out.id, quantity=3,
                     reason="no compatible demand reaches the minimum lot size of 20"),
    ])  # fmt: skip
    db.session.get(type(rnd), rnd.id).published_pooling_run_id = run.id
    db.session.commit()

    outcome = demand.pool_outcome(rnd, [pooled, left_out])
    assert [(lot.code, qty) for lot, qty in outcome[pooled.id].lots] == [("lot-1", 12)]
    assert outcome[left_out.id].unpooled == [(3, "no compatible demand reaches the minimum lot size of 20")]
    page = login(world.fleet).get(f"/fleet/rounds/{rnd.id}").get_data(as_text=True)
    assert "12 of your vehicles in a lot of <strong>42</strong> from 2 fleets" in page
    assert "California, 2027Q2–2027Q3, CCS1, ≥ 250 km" in page
    assert "3 vehicles: no compatible demand reaches the minimum lot size of 20" in page
    assert "Secret Rival" not in page and ">30<" not in page
