"""An OEM in the browser: states its capacity, submits a tiered bid, revises it, submits a package, sees the history."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser_steps import log_in
from tests.conftest import screenshot
from tests.factories import make_model, make_tender

pytestmark = pytest.mark.browser


def test_an_oem_bids_revises_packages_and_sees_its_history(world, page):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization, name="2027 West box trucks")
    make_model(world.oem.organization, name="eRoute 26", code="eroute_26")
    make_model(world.oem.organization, name="Shorty 18", code="shorty_18", range_km=220)
    make_model(world.other_oem.organization, name="Rival truck")

    log_in(page, world.oem.email)
    expect(page).to_have_url("/oem/")
    page.get_by_role("link", name="Open tender").click()
    expect(page.locator("[data-testid=lots] tbody tr")).to_have_count(2)
    assert "Rival" not in page.content()
    page.locator("#capacity").fill("60")
    page.get_by_role("button", name="Save capacity").click()
    expect(page.get_by_text("Your capacity for this round: 60 vehicles")).to_be_visible()

    # A tiered bid on lot-1, first with a mistake the page names.
    page.locator("tr[data-lot='lot-1']").get_by_role("link", name="Bid").click()
    expect(page.get_by_role("button", name="Submit sealed bid")).to_be_visible()
    page.locator("#model_code").select_option("eroute_26")
    page.locator("#min_quantity").fill("10")
    page.locator("#max_quantity").fill("40")
    page.locator("#tier1_min").fill("10")
    page.locator("#tier1_price").fill("231000")
    page.locator("#tier2_min").fill("25")
    page.locator("#tier2_price").fill("224500.505")
    page.get_by_role("button", name="Submit sealed bid").click()
    expect(page.locator("[data-error=tier2_price]")).to_have_text("more than 2 decimals: prices are exact to the cent")
    expect(page.locator("#tier1_price")).to_have_value("231000")  # what was typed stays
    screenshot(page, "oem-bid-error")
    page.locator("#tier2_price").fill("224500.50")
    page.get_by_role("button", name="Submit sealed bid").click()
    expect(page.get_by_text("Bid on lot-1 saved as revision 1")).to_be_visible()

    # Revise: a third tier and a lower price.
    page.locator("#tier2_price").fill("223900")
    page.locator("#tier3_min").fill("35")
    page.locator("#tier3_price").fill("219000")
    page.get_by_role("button", name="Save revision 2").click()
    expect(page.get_by_text("saved as revision 2")).to_be_visible()
    # The bid page shows the revision that counts; the history is its own page.
    expect(page.locator("[data-testid=history] tr[data-revision]")).to_have_count(1)
    page.get_by_test_id("history-link").click()
    expect(page.get_by_role("heading", name="Revisions of your bid on")).to_be_visible()
    history = page.locator("[data-testid=history]")
    expect(history.locator("tr[data-revision]")).to_have_count(2)
    expect(history.locator("tr[data-revision='2']")).to_contain_text("from 35: 219,000 USD")
    expect(history.locator("tr[data-revision='1']")).to_contain_text("224,500.50 USD")
    screenshot(page, "oem-bid-history")
    page.get_by_role("link", name="Lot lot-1").click()
    expect(page.get_by_role("button", name="Save revision 3")).to_be_visible()

    # A package over both lots.
    page.get_by_role("link", name="Back to the lots").click()
    page.get_by_role("link", name="New package").click()
    expect(page.get_by_role("button", name="Submit package")).to_be_visible()
    page.locator("#name").fill("West + Texas")
    for lot, quantity, price in ((lots[0], "20", "222000"), (lots[1], "25", "218000.25")):
        row = page.locator(f"tr[data-lot='{lot.code}']")
        row.get_by_label(f"Model for {lot.code}").select_option("eroute_26")
        row.get_by_label(f"Quantity for {lot.code}").fill(quantity)
        row.get_by_label(f"Unit price for {lot.code}").fill(price)
    page.get_by_role("button", name="Submit package").click()
    expect(page.get_by_text("Package saved as revision 1")).to_be_visible()
    expect(page.locator("[data-testid=history]")).to_contain_text("lot-2: 25 × eRoute 26 at 218,000.25 USD")
    screenshot(page, "oem-package")

    page.get_by_role("link", name=rnd.name).click()
    expect(page.locator("tr[data-lot='lot-1'] [data-testid=bid-status]")).to_contain_text("Rev 2")
    expect(page.locator("[data-testid=packages]")).to_contain_text("West + Texas")
    screenshot(page, "oem-tender")

    page.get_by_role("link", name="Tenders").click()
    page.get_by_role("link", name="Manage catalog →").click()
    expect(page.locator("[data-testid=catalog]")).to_contain_text("Shorty 18")
    screenshot(page, "oem-catalog")

    # Adding a model: each problem next to its field.
    page.get_by_role("link", name="Add a model").click()
    expect(page.get_by_role("heading", name="Add a model to your catalog")).to_be_visible()
    page.get_by_label("Range (km)").fill("far")
    page.get_by_role("button", name="Add to catalog").click()
    expect(page.get_by_text("give the model a name")).to_be_visible()
    expect(page.get_by_text("must be a whole number of km above 0")).to_be_visible()
    screenshot(page, "oem-model-form")
