"""A person's first minute: each role logs in with the browser and sees its dashboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from marketplace.models import RoundPhase
from tests.browser_steps import flash_says, log_in, log_out
from tests.conftest import screenshot
from tests.factories import make_line, make_round

pytestmark = pytest.mark.browser


def test_each_role_logs_in_and_sees_its_dashboard(world, page):
    open_round = make_round(world.coordinator, RoundPhase.DEMAND_OPEN, name="2027 Bay Area vans")
    make_line(open_round, world.fleet.organization, quantity=12)
    make_round(world.coordinator, RoundPhase.DRAFT, name="2028 Refuse draft")

    page.goto("/")
    expect(page.get_by_role("heading", name="Buy zero-emission trucks and buses together.")).to_be_visible()
    screenshot(page, "landing")

    log_in(page, world.coordinator.email)
    expect(page).to_have_url("/coordinator/")
    expect(page.get_by_role("heading", name="Tender rounds")).to_be_visible()
    row = page.locator(f"tr[data-round='{open_round.id}']")
    expect(row.get_by_role("link", name="Close demand…")).to_be_visible()
    expect(row).to_contain_text("12 vehicles")
    screenshot(page, "coordinator-dashboard")

    # A coordinator moves the draft round on from the dashboard.
    page.get_by_role("link", name="Open demand…").click()
    page.get_by_label("I have read what this move does and want to make it").check()
    page.get_by_role("button", name="Open demand").click()
    flash_says(page, "is now in phase “Demand open”")
    log_out(page)

    log_in(page, world.fleet.email)
    expect(page).to_have_url("/fleet/")
    card = page.locator(f"[data-round='{open_round.id}']")
    expect(card).to_contain_text("Your demand: 12 vehicles in 1 line (12 committed)")
    screenshot(page, "fleet-dashboard")
    log_out(page)

    log_in(page, world.oem.email)
    expect(page).to_have_url("/oem/")
    expect(page.get_by_role("heading", name="Open for bids")).to_be_visible()
    expect(page.locator(f"[data-round='{open_round.id}']")).to_be_visible()  # coming up
    screenshot(page, "oem-dashboard")


def test_a_wrong_password_shows_a_message_in_the_browser(world, page):
    page.goto("/login")
    page.get_by_label("Email").fill(world.fleet.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Wrong email or password.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(world.fleet.email)
