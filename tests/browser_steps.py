"""Steps the browser tests share: logging in, creating and opening a round, posting demand, bidding.

Every step that clicks something which submits or navigates waits for the page that follows (its
message or its address) before it returns: a click returns once the request is on its way, so the
next action, a database read or a `page.goto` would otherwise race the server's answer. Assertions
on the page are web-first (`expect`, which retries until its timeout), never a `.count()`,
`.is_visible()` or `inner_text()` read once right after an action.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from marketplace.extensions import db
from marketplace.models import Round, RoundPhase
from tests.conftest import BROWSER_TIMEOUT_MS
from tests.factories import PASSWORD


def log_in(page, email: str) -> None:
    """Log in through the form and wait until the app has answered (the session cookie is set)."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    flash_says(page, "You are logged out")


def session_for(chromium, live_server, user):
    """A browser context of its own, logged in as `user`."""
    context = chromium.new_context(base_url=live_server, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    log_in(page, user.email)
    return page


def flash_says(page, text: str) -> None:
    """A message containing `text` is shown. Waits for it: the click that causes it returns before
    the browser has loaded the page the form redirects to, so counting at once races the page."""
    expect(page.locator(".alert").filter(has_text=text).first).to_be_visible()


def create_round(page, name: str) -> int:
    """The coordinator creates a draft round for box trucks in the US (deadlines in 2030); its id."""
    page.goto("/coordinator/rounds/new")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Segments in scope").select_option(["md_box_truck"])
    page.get_by_label("Regions in scope").select_option(["US"])
    page.get_by_label("Demand deadline").fill("2030-01-10T12:00")
    page.get_by_label("Bid deadline").fill("2030-02-10T12:00")
    page.get_by_label("Confirmation deadline").fill("2030-03-10T12:00")
    page.get_by_label("Minimum lot size (vehicles)").fill("20")
    page.get_by_role("button", name="Create round").click()
    flash_says(page, "created in draft")  # the round is saved: only now may the database be read
    return db.session.execute(sa.select(Round.id).where(Round.name == name)).scalar_one()


def move(page, link: str, button: str, done: str = "is now in phase") -> None:
    """A round move through its confirmation page ("Open demand…", then the box and the button);
    returns once the page says it is done (`done`, a part of the message)."""
    page.get_by_role("link", name=link).click()
    page.get_by_label("I have read what this move does and want to make it").check()
    page.get_by_role("button", name=button).click()
    flash_says(page, done)


def post_demand(page, round_id: int, quantity: int) -> None:
    page.goto(f"/fleet/rounds/{round_id}")
    page.get_by_role("link", name="Add a demand line").first.click()
    expect(page.get_by_role("button", name="Save demand line")).to_be_visible()
    page.get_by_label("Segment").select_option("md_box_truck")
    page.get_by_label("Region").fill("us-ca-los-angeles")
    page.get_by_label("Quantity (vehicles)").fill(str(quantity))
    page.get_by_label("Earliest delivery quarter").fill("2027Q2")
    page.get_by_label("Latest delivery quarter").fill("2027Q4")
    page.get_by_label("CCS1 (Combo 1)").check()
    page.get_by_label("Maximum unit price").fill("250000")
    page.get_by_role("button", name="Save demand line").click()
    flash_says(page, "Demand line saved")
    page.get_by_role("button", name="Review and commit all draft lines").click()
    page.get_by_role("button", name="Commit 1 line").click()
    flash_says(page, "Committed 1 line")


def bid(page, round_id: int, capacity: int, model_code: str, price: str) -> None:
    page.goto(f"/oem/rounds/{round_id}")
    page.locator("#capacity").fill(str(capacity))
    page.get_by_role("button", name="Save capacity").click()
    flash_says(page, f"Your capacity for this round: {capacity:,} vehicles")
    page.get_by_role("link", name="Bid", exact=True).first.click()
    page.locator("#model_code").select_option(model_code)
    page.locator("#min_quantity").fill("5")
    page.locator("#max_quantity").fill("22")
    page.locator("#tier1_min").fill("5")
    page.locator("#tier1_price").fill(price)
    page.get_by_role("button", name="Submit sealed bid").click()
    flash_says(page, "it is the one that counts")


def phase(round_id: int) -> RoundPhase:
    db.session.expire_all()
    return db.session.get(Round, round_id).phase
