"""A person's first minute: each role logs in with the browser and sees its dashboard."""

from __future__ import annotations

import pytest

from marketplace.models import RoundPhase
from tests.browser_steps import log_in
from tests.conftest import screenshot
from tests.factories import make_line, make_round

pytestmark = pytest.mark.browser


def test_each_role_logs_in_and_sees_its_dashboard(world, page):
    open_round = make_round(world.coordinator, RoundPhase.DEMAND_OPEN, name="2027 Bay Area vans")
    make_line(open_round, world.fleet.organization, quantity=12)
    make_round(world.coordinator, RoundPhase.DRAFT, name="2028 Refuse draft")

    page.goto("/")
    assert page.get_by_role("heading", name="Buy zero-emission trucks and buses together.").is_visible()
    screenshot(page, "landing")

    log_in(page, world.coordinator.email)
    page.wait_for_url("**/coordinator/")
    assert page.get_by_role("heading", name="Tender rounds").is_visible()
    row = page.locator(f"tr[data-round='{open_round.id}']")
    assert row.get_by_role("link", name="Close demand…").is_visible()
    assert "12 vehicles" in row.inner_text()
    screenshot(page, "coordinator-dashboard")

    # A coordinator moves the draft round on from the dashboard.
    page.get_by_role("link", name="Open demand…").click()
    page.get_by_label("I have read what this move does and want to make it").check()
    page.get_by_role("button", name="Open demand").click()
    assert page.get_by_text("is now in phase “Demand open”").is_visible()
    page.get_by_role("button", name="Log out").click()

    log_in(page, world.fleet.email)
    page.wait_for_url("**/fleet/")
    card = page.locator(f"[data-round='{open_round.id}']")
    assert "Your demand: 12 vehicles in 1 line (12 committed)" in card.inner_text()
    screenshot(page, "fleet-dashboard")
    page.get_by_role("button", name="Log out").click()

    log_in(page, world.oem.email)
    page.wait_for_url("**/oem/")
    assert page.get_by_role("heading", name="Open for bids").is_visible()
    assert page.locator(f"[data-round='{open_round.id}']").is_visible()  # coming up
    screenshot(page, "oem-dashboard")


def test_a_wrong_password_shows_a_message_in_the_browser(world, page):
    page.goto("/login")
    page.get_by_label("Email").fill(world.fleet.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("Wrong email or password.").is_visible()
    assert page.get_by_label("Email").input_value() == world.fleet.email
