"""Production capacity by quarter, delivery quarters of bids and packages, and the award's deliveries."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import (
    AllocationDelivery,
    AuditEntry,
    AwardScenario,
    QuarterCapacity,
    Round,
    RoundCapacity,
    RoundPhase,
    RunStatus,
)
from marketplace.services import award, bidding, quarter_capacity, rounds, solver_bridge
from marketplace.services.errors import Conflict, ValidationFailed
from tests.bidding_helpers import package_values
from tests.factories import make_bid, make_model, make_tender


@pytest.fixture
def tender(world):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization)
    bidding.set_capacity(rnd.id, 60, world.oem)
    return rnd, lots, model


def rows(*entries: tuple[str, str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, (quarter, segment, capacity) in enumerate(entries, start=1):
        out |= {f"row{n}_quarter": quarter, f"row{n}_segment": segment, f"row{n}_capacity": capacity}
    return out


def saved(rnd: Round, org_id: int) -> list[tuple[str, str | None, int]]:
    found = db.session.execute(
        sa.select(QuarterCapacity).where(QuarterCapacity.round_id == rnd.id, QuarterCapacity.organization_id == org_id)
    ).scalars()
    return [(r.quarter, r.segment_id, r.capacity) for r in sorted(found, key=lambda r: (r.quarter, r.segment_id or ""))]


def refused(call) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as exc:
        call()
    db.session.rollback()
    return exc.value.field_errors


def test_an_oem_states_a_ramp_by_quarter_and_per_segment_beside_its_total(world, tender):
    rnd, _, _ = tender
    typed = rows(("2027Q2", "", "20"), ("2027 Q3", "", "40"), ("", "", ""), ("2027Q3", "md_box_truck", "15"))
    quarter_capacity.set_rows(rnd.id, typed, world.oem)
    assert saved(rnd, world.oem.organization_id) == [
        ("2027Q2", None, 20),
        ("2027Q3", None, 40),
        ("2027Q3", "md_box_truck", 15),
    ]
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "bid.quarter_capacity")).scalar_one()
    assert entry.after == {"quarters": [["2027Q2", None, 20], ["2027Q3", None, 40], ["2027Q3", "md_box_truck", 15]]}
    # Saving again replaces the rows; no rows at all means no quarterly limit.
    quarter_capacity.set_rows(rnd.id, rows(("2027Q2", "", "60")), world.oem)
    assert saved(rnd, world.oem.organization_id) == [("2027Q2", None, 60)]
    quarter_capacity.set_rows(rnd.id, rows(("", "", "")), world.oem)
    assert saved(rnd, world.oem.organization_id) == []


def test_rows_that_break_a_rule_are_refused_by_field_and_nothing_changes(world, tender):
    rnd, _, _ = tender
    quarter_capacity.set_rows(rnd.id, rows(("2027Q2", "", "60")), world.oem)
    bad = rows(("2027Q5", "", "10"), ("2027Q3", "no-such-segment", "10"), ("2027Q4", "", "-3"))
    errors = refused(lambda: quarter_capacity.set_rows(rnd.id, bad, world.oem))
    assert "not a quarter" in errors["row1_quarter"]
    assert "not a segment" in errors["row2_segment"]
    assert "0 or more" in errors["row3_capacity"]
    twice = rows(("2027Q2", "", "30"), ("2027-Q2", "", "30"))
    assert "already on row 1" in refused(lambda: quarter_capacity.set_rows(rnd.id, twice, world.oem))["row2_quarter"]
    above = rows(("2027Q2", "", "30"), ("2027Q3", "", "30"), ("2027Q3", "md_box_truck", "31"))
    message = refused(lambda: quarter_capacity.set_rows(rnd.id, above, world.oem))["row3_capacity"]
    assert "at most the 30 vehicles you can deliver in 2027Q3 over all segments" in message
    short = rows(("2027Q2", "", "20"), ("2027Q3", "", "30"))
    message = refused(lambda: quarter_capacity.set_rows(rnd.id, short, world.oem))["rows"]
    assert "add up to 50 vehicles, below your total of 60" in message
    assert saved(rnd, world.oem.organization_id) == [("2027Q2", None, 60)]


def test_the_total_cannot_rise_above_what_the_quarters_add_up_to(world, tender):
    rnd, _, _ = tender
    quarter_capacity.set_rows(rnd.id, rows(("2027Q2", "", "30"), ("2027Q3", "", "35")), world.oem)
    with pytest.raises(ValidationFailed) as exc:
        bidding.set_capacity(rnd.id, 70, world.oem)
    db.session.rollback()
    assert "at most 65" in exc.value.field_errors["capacity"]
    assert db.session.execute(sa.select(RoundCapacity.capacity)).scalar_one() == 60
    bidding.set_capacity(rnd.id, 40, world.oem)  # lowering is always fine: the total caps the quarters


def test_quarters_need_a_total_first_and_an_open_tender(world):
    rnd, _ = make_tender(world.coordinator, world.fleet.organization)
    with pytest.raises(Conflict, match="total capacity for the round first"):
        quarter_capacity.set_rows(rnd.id, rows(("2027Q2", "", "10")), world.oem)
    db.session.rollback()
    make_bid(world.oem, bidding.lots_of(rnd)[0], make_model(world.oem.organization))
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    with pytest.raises(Conflict):
        quarter_capacity.set_rows(rnd.id, rows(("2027Q2", "", "10")), world.oem)


def test_bids_and_packages_name_the_quarters_they_deliver_in(world, tender):
    rnd, lots, model = tender
    values = {"model_code": model.code, "min_quantity": 10, "max_quantity": 40, "tier1_min": 10}
    values |= {"tier1_price": "230000", "quarters": "2027Q3-2027Q4, 2027Q2"}
    revision = bidding.submit_bid(rnd.id, lots[0].id, values, world.oem)
    assert revision.quarters == ["2027Q2", "2027Q3", "2027Q4"]
    errors = refused(lambda: bidding.submit_bid(rnd.id, lots[0].id, values | {"quarters": "2027Q4-2027Q1"}, world.oem))
    assert "ends before it starts" in errors["quarters"]
    # A bid sheet row has no quarters column: its revision keeps the quarters the bid had.
    sheet_row = {k: v for k, v in values.items() if k != "quarters"} | {"max_quantity": 30}
    assert bidding.submit_bid(rnd.id, lots[0].id, sheet_row, world.oem).quarters == ["2027Q2", "2027Q3", "2027Q4"]
    assert bidding.submit_bid(rnd.id, lots[0].id, values | {"quarters": ""}, world.oem).quarters is None
    package = bidding.submit_package(rnd.id, package_values(lots, model) | {"quarters": "2027Q3"}, world.oem)
    assert package.quarters == ["2027Q3"]


def test_the_quarter_capacity_page_keeps_what_was_typed_with_a_message_beside_the_row(world, tender, login):
    rnd, _, _ = tender
    client = login(world.oem)
    url = f"/oem/rounds/{rnd.id}/capacity/quarters"
    page = client.post(url, data=rows(("2027Q2", "", "25"), ("2027Q9", "", "35")))
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert 'data-error="row2_quarter"' in html and "“2027Q9” is not a quarter" in html
    assert 'value="2027Q9"' in html and 'value="25"' in html
    assert saved(rnd, world.oem.organization_id) == []
    assert client.post(url, data=rows(("2027Q2", "", "25"), ("2027Q3", "", "35"))).status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert 'value="2027Q3"' in html and 'value="35"' in html
    tender_page = client.get(f"/oem/rounds/{rnd.id}").get_data(as_text=True)
    assert "2027Q2: 25" in tender_page and "2027Q3: 35" in tender_page


def test_the_bid_page_keeps_bad_quarters_with_their_message(world, tender, login):
    rnd, lots, model = tender
    client = login(world.oem)
    data = {"model_code": model.code, "min_quantity": "10", "max_quantity": "40", "tier1_min": "10"}
    data |= {"tier1_price": "230000", "quarters": "2027Q2, soon"}
    page = client.post(f"/oem/rounds/{rnd.id}/lots/{lots[0].id}/bid", data=data)
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert 'data-error="quarters"' in html and "“soon” is not a quarter" in html
    assert 'value="2027Q2, soon"' in html


def closed(world, tender, *, quarters: bool):
    rnd, lots, model = tender
    values = {"model_code": model.code, "min_quantity": 10, "max_quantity": 40, "tier1_min": 10}
    values |= {"tier1_price": "230000", "quarters": "2027Q2-2027Q3" if quarters else ""}
    bidding.submit_bid(rnd.id, lots[0].id, values, world.oem)
    if quarters:
        quarter_capacity.set_rows(rnd.id, rows(("2027Q2", "", "30"), ("2027Q3", "md_box_truck", "25")), world.oem)
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    return db.session.get(Round, rnd.id)


def test_the_award_input_carries_quarters_only_when_an_oem_stated_some(world, tender, monkeypatch):
    monkeypatch.setattr(solver_bridge, "solver_reads_quarters", lambda: True)
    rnd = closed(world, tender, quarters=True)
    scenario = AwardScenario(round_id=rnd.id, name="x", max_winners_per_lot=2, max_share_per_supplier=1)
    scenario.line_service = rnd.line_service
    document = solver_bridge.award_input(
        rnd, scenario, bidding.bids_for_award(rnd), quarter_capacity.capacities_for_award(rnd)
    )
    assert document["lots"][0]["segment"] == "md_box_truck"
    assert document["lots"][0]["demand"][0]["window"] == {"first": "2027Q1", "last": "2027Q3"}
    assert document["bids"][0]["quarters"] == ["2027Q2", "2027Q3"]
    (supplier,) = document["suppliers"]
    assert supplier["quarterly_capacity"] == [
        {"quarter": "2027Q2", "capacity": 30},
        {"quarter": "2027Q3", "segment": "md_box_truck", "capacity": 25},
    ]


def test_a_round_without_quarters_sends_the_same_input_as_before(world, tender, monkeypatch):
    monkeypatch.setattr(solver_bridge, "solver_reads_quarters", lambda: True)
    rnd = closed(world, tender, quarters=False)
    scenario = AwardScenario(round_id=rnd.id, name="x", max_winners_per_lot=2, max_share_per_supplier=1)
    scenario.line_service = rnd.line_service
    document = solver_bridge.award_input(rnd, scenario, bidding.bids_for_award(rnd), {})
    assert set(document["lots"][0]) == {"id", "demand"}
    assert set(document["lots"][0]["demand"][0]) == {"id", "fleet", "quantity", "max_unit_price", "excluded_suppliers"}
    assert set(document["bids"][0]) == {"id", "supplier", "lot", "min_quantity", "max_quantity", "tiers"}
    assert set(document["suppliers"][0]) == {"id", "capacity"}


@pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)
def test_each_allocation_keeps_the_deliveries_the_solver_gave_it(world, tender, monkeypatch):
    rnd = closed(world, tender, quarters=False)
    real_save = award.save_result

    def with_deliveries(scenario_id, result, offers):  # the solver's output under the quarters contract
        for row in result["awards"]:
            for part in row["allocations"]:
                part["deliveries"] = [
                    {"quarter": "2027Q2", "quantity": part["quantity"] - 5},
                    {"quarter": "2027Q3", "quantity": 5},
                ]
        return real_save(scenario_id, result, offers)

    monkeypatch.setattr(award, "save_result", with_deliveries)
    scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules())
    db.session.expire_all()
    scenario = db.session.get(AwardScenario, scenario.id)
    assert scenario.status is RunStatus.SUCCEEDED, scenario.error
    (allocation,) = scenario.allocations
    assert [(d.quarter, d.quantity) for d in allocation.deliveries] == [("2027Q2", 35), ("2027Q3", 5)]
    assert db.session.execute(sa.select(sa.func.count(AllocationDelivery.id))).scalar_one() == 2


@pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)
def test_fleets_oems_the_comparison_the_report_and_ocds_show_the_deliveries(world, tender, monkeypatch, login):
    from marketplace.services import ocds, reports

    rnd = closed(world, tender, quarters=True)
    real_save = award.save_result

    def with_deliveries(scenario_id, result, offers):
        for row in result["awards"]:
            for part in row["allocations"]:
                part["deliveries"] = [
                    {"quarter": "2027Q2", "quantity": part["quantity"] - 15},
                    {"quarter": "2027Q3", "quantity": 15},
                ]
        return real_save(scenario_id, result, offers)

    monkeypatch.setattr(award, "save_result", with_deliveries)
    scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules(name="Ramp"))
    comparison = login(world.coordinator).get(f"/coordinator/rounds/{rnd.id}/scenarios").get_data(as_text=True)
    assert 'data-testid="deliveries-chart"' in comparison and "Ramp, 2027Q2: 25 vehicles" in comparison
    award.publish_scenario(scenario.id, world.coordinator)
    rnd = db.session.get(Round, rnd.id)

    fleet_page = login(world.fleet).get(f"/fleet/rounds/{rnd.id}/allocations").get_data(as_text=True)
    assert 'data-testid="delivery-schedule"' in fleet_page
    assert '<tr data-quarter="2027Q2"><td class="fw-semibold">2027Q2</td><td class="text-end">25</td>' in fleet_page
    oem_page = login(world.oem).get(f"/oem/rounds/{rnd.id}/results").get_data(as_text=True)
    assert 'data-testid="won-by-quarter"' in oem_page
    # 2027Q2: 25 won of 30; 2027Q3: 15 won, of which 15 box trucks against the 25 stated for them.
    assert "83 % used" in oem_page
    assert 'data-segment="md_box_truck"' in oem_page and "of which Medium-duty box truck" in oem_page

    report = reports.compute_report(rnd)
    assert [(q.quarter, q.awarded, q.confirmed) for q in report.by_quarter] == [("2027Q2", 25, 0), ("2027Q3", 15, 0)]
    report_page = login(world.coordinator).get(f"/coordinator/rounds/{rnd.id}/report").get_data(as_text=True)
    periods = report_page.split('data-testid="by-quarter"')[1]
    assert re.search(r"<tfoot><tr[^>]*><td>Total</td><td[^>]*>40</td><td[^>]*>0</td>", periods)
    assert "delivery_quarter,2027Q3,2027Q3,,,,,15,0" in reports.report_csv(report)
    (awarded,) = ocds.release_package(rnd)["releases"][0]["awards"]
    assert awarded["contractPeriod"] == {"startDate": "2027-04-01T00:00:00Z", "endDate": "2027-09-30T23:59:59Z"}
    assert awarded["description"] == "Deliveries: 2027Q2: 25 vehicles, 2027Q3: 15 vehicles"


@pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)
def test_the_solver_delivers_within_the_quarters_and_capacities_stated_and_each_allocation_keeps_them(world, tender):
    rnd = closed(world, tender, quarters=True)  # bid: 2027Q2-2027Q3; 2027Q2 <= 30, 2027Q3 box trucks <= 25
    scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules())
    db.session.expire_all()
    scenario = db.session.get(AwardScenario, scenario.id)
    assert scenario.status is RunStatus.SUCCEEDED, scenario.error
    (allocation,) = scenario.allocations
    delivered = {d.quarter: d.quantity for d in allocation.deliveries}
    assert allocation.quantity == 40 and sum(delivered.values()) == 40
    assert set(delivered) <= {"2027Q2", "2027Q3"}
    assert delivered.get("2027Q2", 0) <= 30 and delivered.get("2027Q3", 0) <= 25
