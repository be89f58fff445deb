"""A whole round in the browser: a coordinator, two fleets and two OEMs, each in a browser session of its own.

The coordinator creates and opens a round, two fleets post and commit demand, the
coordinator closes demand, pools and publishes, two OEMs bid, the coordinator closes bids,
computes two scenarios, compares them, publishes one and opens confirmations, the fleets
confirm, and the round closes. Screenshots of the comparison and report pages are kept in
test-artifacts/.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from marketplace.extensions import db
from marketplace.models import Allocation, ConfirmationStatus, Round, RoundPhase
from tests.browser_steps import bid, create_round, flash_says, move, phase, post_demand, session_for
from tests.conftest import screenshot
from tests.factories import make_model

pytestmark = pytest.mark.browser


def test_a_whole_round_in_the_browser(world, chromium, live_server):
    model_a = make_model(world.oem.organization, name="Volta Box 300")
    model_b = make_model(world.other_oem.organization, name="Ampere Hauler", list_price=Decimal("245000"))

    # The coordinator creates and opens a round.
    coordinator = session_for(chromium, live_server, world.coordinator)
    round_id = create_round(coordinator, "2027 LA box trucks")
    move(coordinator, "Open demand…", "Open demand")
    assert phase(round_id) is RoundPhase.DEMAND_OPEN

    # Two fleets post and commit demand.
    fleet_a = session_for(chromium, live_server, world.fleet)
    post_demand(fleet_a, round_id, 12)
    fleet_b = session_for(chromium, live_server, world.other_fleet)
    post_demand(fleet_b, round_id, 10)

    # The coordinator closes demand, pools and publishes the lots.
    coordinator.goto(f"/coordinator/rounds/{round_id}")
    move(coordinator, "Close demand…", "Close demand")
    coordinator.goto(f"/coordinator/rounds/{round_id}/pooling")
    coordinator.get_by_role("button", name="Run pooling").click()
    expect(coordinator.get_by_test_id("run-summary").get_by_text("100.0 %")).to_be_visible()
    move(coordinator, "Publish these lots and open bidding…", "Publish lots and open bidding", done="are published")
    assert phase(round_id) is RoundPhase.TENDERING

    # Two OEMs bid on the lot.
    oem_a = session_for(chromium, live_server, world.oem)
    bid(oem_a, round_id, 100, model_a.code, "231000")
    oem_b = session_for(chromium, live_server, world.other_oem)
    bid(oem_b, round_id, 100, model_b.code, "229500.50")

    # The coordinator closes bids, computes two scenarios and compares them.
    coordinator.goto(f"/coordinator/rounds/{round_id}")
    move(coordinator, "Close bids…", "Close bids")
    coordinator.goto(f"/coordinator/rounds/{round_id}/scenarios")
    coordinator.get_by_label("Scenario name").fill("Round rules")
    coordinator.get_by_role("button", name="Compute scenario").click()
    flash_says(coordinator, "Scenario “Round rules” started")  # the next form is the new page's
    without = f"Without {world.other_oem.organization.name}"
    coordinator.get_by_label("Scenario name").fill(without)
    coordinator.get_by_label("Exclude suppliers").select_option(label=world.other_oem.organization.name)
    coordinator.get_by_role("button", name="Compute scenario").click()
    flash_says(coordinator, f"Scenario “{without}” started")
    comparison = coordinator.get_by_test_id("comparison")
    expect(comparison).to_contain_text("Round rules")
    expect(comparison).to_contain_text("5,049,011")  # 22 x 229,500.50
    expect(comparison).to_contain_text("5,082,000")  # 22 x 231,000 without the cheaper OEM
    screenshot(coordinator, "round-scenario-comparison")
    coordinator.get_by_role("link", name="Publish this award…").first.click()
    expect(coordinator.get_by_test_id("consequences")).to_contain_text("22 vehicles of 22 awarded")
    screenshot(coordinator, "round-publish-award-confirm")
    coordinator.get_by_label("I have read what this move does and want to make it").check()
    coordinator.get_by_role("button", name="Publish the award").click()
    flash_says(coordinator, "The award is published")
    assert phase(round_id) is RoundPhase.AWARDED
    coordinator.goto(f"/coordinator/rounds/{round_id}")
    move(coordinator, "Open confirmations…", "Open confirmations")
    assert phase(round_id) is RoundPhase.CONTRACTING

    # The fleets confirm their allocations.
    for fleet in (fleet_a, fleet_b):
        fleet.goto(f"/fleet/rounds/{round_id}/allocations")
        expect(fleet.get_by_test_id("allocations")).to_contain_text(world.other_oem.organization.name)
        fleet.get_by_role("button", name="Confirm", exact=True).first.click()
        flash_says(fleet, "You confirmed")
    db.session.expire_all()
    published = db.session.get(Round, round_id).published_scenario_id
    states = (
        db.session.execute(sa.select(Allocation.confirmation).where(Allocation.scenario_id == published))
        .scalars()
        .all()
    )
    assert states and set(states) == {ConfirmationStatus.CONFIRMED}

    # The coordinator closes the round and reads the report.
    coordinator.goto(f"/coordinator/rounds/{round_id}")
    move(coordinator, "Close round…", "Close round")
    assert phase(round_id) is RoundPhase.CLOSED
    coordinator.goto(f"/coordinator/rounds/{round_id}/contracting")
    expect(coordinator.get_by_test_id("confirmations")).to_contain_text("confirmed")
    report = coordinator.goto(f"/coordinator/rounds/{round_id}/report")
    assert report is not None and report.status == 200
    expect(coordinator.get_by_role("main")).to_contain_text("22")
    screenshot(coordinator, "round-report")
    for page in (coordinator, fleet_a, fleet_b, oem_a, oem_b):
        page.context.close()
