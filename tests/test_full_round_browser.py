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

from marketplace.extensions import db
from marketplace.models import Allocation, ConfirmationStatus, Round, RoundPhase
from tests.conftest import screenshot
from tests.factories import PASSWORD, make_model

pytestmark = pytest.mark.browser


def session_for(chromium, live_server, user):
    """A browser context of its own, logged in as `user`."""
    context = chromium.new_context(base_url=live_server, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def flash_says(page, text: str) -> None:
    assert page.locator(".alert").filter(has_text=text).count() >= 1, page.locator(".alert").all_inner_texts()


def post_demand(page, round_id: int, quantity: int) -> None:
    page.goto(f"/fleet/rounds/{round_id}")
    page.get_by_role("link", name="Add a demand line").first.click()
    page.get_by_label("Segment").select_option("md_box_truck")
    page.get_by_label("Region").fill("us-ca-los-angeles")
    page.get_by_label("Quantity (vehicles)").fill(str(quantity))
    page.get_by_label("Earliest delivery quarter").fill("2027Q2")
    page.get_by_label("Latest delivery quarter").fill("2027Q4")
    page.get_by_label("CCS1 (Combo 1)").check()
    page.get_by_label("Maximum unit price").fill("250000")
    page.get_by_role("button", name="Save demand line").click()
    page.get_by_role("button", name="Review and commit all draft lines").click()
    page.get_by_role("button", name="Commit 1 line").click()
    flash_says(page, "Committed 1 line")


def bid(page, round_id: int, capacity: int, model_code: str, price: str) -> None:
    page.goto(f"/oem/rounds/{round_id}")
    page.locator("#capacity").fill(str(capacity))
    page.get_by_role("button", name="Save capacity").click()
    page.get_by_role("link", name="Bid", exact=True).first.click()
    page.locator("#model_code").select_option(model_code)
    page.locator("#min_quantity").fill("5")
    page.locator("#max_quantity").fill("22")
    page.locator("#tier1_min").fill("5")
    page.locator("#tier1_price").fill(price)
    page.get_by_role("button", name="Submit sealed bid").click()
    flash_says(page, "")


def phase(round_id: int) -> RoundPhase:
    db.session.expire_all()
    return db.session.get(Round, round_id).phase


def test_a_whole_round_in_the_browser(world, chromium, live_server):
    model_a = make_model(world.oem.organization, name="Volta Box 300")
    model_b = make_model(world.other_oem.organization, name="Ampere Hauler", list_price=Decimal("245000"))

    # The coordinator creates and opens a round.
    coordinator = session_for(chromium, live_server, world.coordinator)
    coordinator.goto("/coordinator/rounds/new")
    coordinator.get_by_label("Name").fill("2027 LA box trucks")
    coordinator.get_by_label("Segments in scope").select_option(["md_box_truck"])
    coordinator.get_by_label("Regions in scope").select_option(["US"])
    coordinator.get_by_label("Demand deadline").fill("2030-01-10T12:00")
    coordinator.get_by_label("Bid deadline").fill("2030-02-10T12:00")
    coordinator.get_by_label("Confirmation deadline").fill("2030-03-10T12:00")
    coordinator.get_by_label("Minimum lot size (vehicles)").fill("20")
    coordinator.get_by_role("button", name="Create round").click()
    flash_says(coordinator, "created in draft")
    round_id = db.session.execute(sa.select(Round.id).where(Round.name == "2027 LA box trucks")).scalar_one()
    coordinator.get_by_role("link", name="Open demand…").click()
    coordinator.get_by_label("I have read what this move does and want to make it").check()
    coordinator.get_by_role("button", name="Open demand").click()
    assert phase(round_id) is RoundPhase.DEMAND_OPEN

    # Two fleets post and commit demand.
    fleet_a = session_for(chromium, live_server, world.fleet)
    post_demand(fleet_a, round_id, 12)
    fleet_b = session_for(chromium, live_server, world.other_fleet)
    post_demand(fleet_b, round_id, 10)

    # The coordinator closes demand, pools and publishes the lots.
    coordinator.goto(f"/coordinator/rounds/{round_id}")
    coordinator.get_by_role("link", name="Close demand…").click()
    coordinator.get_by_label("I have read what this move does and want to make it").check()
    coordinator.get_by_role("button", name="Close demand").click()
    coordinator.goto(f"/coordinator/rounds/{round_id}/pooling")
    coordinator.get_by_role("button", name="Run pooling").click()
    assert coordinator.get_by_test_id("run-summary").get_by_text("100.0 %").is_visible()
    coordinator.get_by_role("link", name="Publish these lots and open bidding…").click()
    coordinator.get_by_label("I have read what this move does and want to make it").check()
    coordinator.get_by_role("button", name="Publish lots and open bidding").click()
    flash_says(coordinator, "are published")
    assert phase(round_id) is RoundPhase.TENDERING

    # Two OEMs bid on the lot.
    oem_a = session_for(chromium, live_server, world.oem)
    bid(oem_a, round_id, 100, model_a.code, "231000")
    oem_b = session_for(chromium, live_server, world.other_oem)
    bid(oem_b, round_id, 100, model_b.code, "229500.50")

    # The coordinator closes bids, computes two scenarios and compares them.
    coordinator.goto(f"/coordinator/rounds/{round_id}")
    coordinator.get_by_role("link", name="Close bids…").click()
    coordinator.get_by_label("I have read what this move does and want to make it").check()
    coordinator.get_by_role("button", name="Close bids").click()
    coordinator.goto(f"/coordinator/rounds/{round_id}/scenarios")
    coordinator.get_by_label("Scenario name").fill("Round rules")
    coordinator.get_by_role("button", name="Compute scenario").click()
    coordinator.get_by_label("Scenario name").fill(f"Without {world.other_oem.organization.name}")
    coordinator.get_by_label("Exclude suppliers").select_option(label=world.other_oem.organization.name)
    coordinator.get_by_role("button", name="Compute scenario").click()
    comparison = coordinator.get_by_test_id("comparison")
    assert "Round rules" in comparison.inner_text()
    assert "5,049,011" in comparison.inner_text()  # 22 x 229,500.50
    assert "5,082,000" in comparison.inner_text()  # 22 x 231,000 without the cheaper OEM
    screenshot(coordinator, "round-scenario-comparison")
    coordinator.get_by_role("link", name="Publish this award…").first.click()
    assert "22 vehicles of 22 awarded" in coordinator.get_by_test_id("consequences").inner_text()
    screenshot(coordinator, "round-publish-award-confirm")
    coordinator.get_by_label("I have read what this move does and want to make it").check()
    coordinator.get_by_role("button", name="Publish the award").click()
    assert phase(round_id) is RoundPhase.AWARDED
    coordinator.goto(f"/coordinator/rounds/{round_id}")
    coordinator.get_by_role("link", name="Open confirmations…").click()
    coordinator.get_by_label("I have read what this move does and want to make it").check()
    coordinator.get_by_role("button", name="Open confirmations").click()
    assert phase(round_id) is RoundPhase.CONTRACTING

    # The fleets confirm their allocations.
    for fleet in (fleet_a, fleet_b):
        fleet.goto(f"/fleet/rounds/{round_id}/allocations")
        assert world.other_oem.organization.name in fleet.get_by_test_id("allocations").inner_text()
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
    coordinator.get_by_role("link", name="Close round…").click()
    coordinator.get_by_label("I have read what this move does and want to make it").check()
    coordinator.get_by_role("button", name="Close round").click()
    assert phase(round_id) is RoundPhase.CLOSED
    coordinator.goto(f"/coordinator/rounds/{round_id}/contracting")
    assert "confirmed" in coordinator.get_by_test_id("confirmations").inner_text()
    report = coordinator.goto(f"/coordinator/rounds/{round_id}/report")
    assert report is not None and report.status == 200
    assert "22" in coordinator.get_by_role("main").inner_text()
    screenshot(coordinator, "round-report")
    for page in (coordinator, fleet_a, fleet_b, oem_a, oem_b):
        page.context.close()
