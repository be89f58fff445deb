"""A fleet in the browser: a spreadsheet with one bad row, the error, the fix, the save, its lines and pool progress."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from marketplace.models import DemandStatus
from tests.browser_steps import log_in
from tests.conftest import screenshot
from tests.demand_helpers import NOW, csv_bytes, open_round, sheet_row, xlsx_bytes
from tests.factories import make_line

pytestmark = pytest.mark.browser


def test_a_fleet_uploads_fixes_saves_commits_and_sees_progress(world, page, frozen_clock):
    frozen_clock.freeze(NOW)
    rnd = open_round(world, name="2027 California box trucks", region_ids=["US-CA"], min_lot_quantity=30)
    # Another fleet's committed demand that the uploaded lines can pool with.
    make_line(rnd, world.other_fleet.organization, quantity=14, region_id="us-ca-bay-area",
              earliest_quarter="2027Q2", latest_quarter="2027Q4")  # fmt: skip

    log_in(page, world.fleet.email)
    expect(page).to_have_url("/fleet/")
    page.locator(f"[data-round='{rnd.id}']").get_by_role("link", name="Upload a spreadsheet").click()
    expect(page).to_have_url(f"/fleet/rounds/{rnd.id}/upload")

    rows = [sheet_row(quantity=6), sheet_row(quantity="six", region="us-ca-bay-area")]
    page.get_by_label("Spreadsheet (.xlsx or .csv)").set_input_files(
        files=[{"name": "our-demand.csv", "mimeType": "text/csv", "buffer": csv_bytes(rows)}]
    )
    page.get_by_role("button", name="Check the file").click()
    problems = page.get_by_test_id("upload-problems")
    expect(problems).to_contain_text("Nothing was saved: 1 problem in 1 of 2 rows")
    expect(problems).to_contain_text("row 3, quantity: must be a whole number above 0")
    screenshot(page, "fleet-upload-problem")

    rows[1] = sheet_row(quantity=4, region="us-ca-bay-area", splittable="yes")
    page.get_by_label("Spreadsheet (.xlsx or .csv)").set_input_files(
        files=[{"name": "our-demand.xlsx", "mimeType": "application/octet-stream", "buffer": xlsx_bytes(rows)}]
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="Every row is right: 2 demand lines, 10 vehicles")).to_be_visible()
    screenshot(page, "fleet-upload-preview")

    page.get_by_role("button", name="Save all 2 lines").click()
    expect(page.get_by_text("Saved 2 demand lines (10 vehicles) as drafts")).to_be_visible()
    expect(page).to_have_url(f"/fleet/rounds/{rnd.id}")
    expect(page.locator("tr[data-line]")).to_have_count(2)
    expect(page.locator(".progress")).to_have_count(2)
    first = page.locator("tr[data-line]").first
    expect(first).to_contain_text("20 of 30 vehicles could pool")  # 6 (draft) + 14 committed elsewhere
    expect(first).to_contain_text("(once committed)")

    page.get_by_role("button", name="Review and commit all draft lines").click()
    expect(page.get_by_test_id("vehicles")).to_have_text("10")  # the summary first: vehicles, spend, deposit
    screenshot(page, "fleet-commit-summary")
    page.get_by_role("button", name="Commit 2 lines").click()
    expect(page.get_by_text("Committed 2 lines (10 vehicles).")).to_be_visible()
    expect(page.get_by_test_id("committed-vehicles")).to_have_text("10 vehicles")
    expect(page.locator("tr[data-line]").first).to_contain_text("24 of 30 vehicles could pool")  # 6 + 4 + 14
    screenshot(page, "fleet-round-lines")

    # One more line by form: the region list is searchable, each field says what it means to the pool.
    page.get_by_role("link", name="Add a demand line").click()
    expect(page.get_by_role("button", name="Save demand line")).to_be_visible()
    page.get_by_label("Segment").select_option("md_box_truck")
    page.get_by_label("Region").fill("us-ca-los-angeles")
    page.get_by_label("Quantity (vehicles)").fill("8")
    page.get_by_label("Earliest delivery quarter").fill("2027Q3")
    page.get_by_label("Latest delivery quarter").fill("2027Q2")
    page.get_by_label("CCS1 (Combo 1)").check()
    page.get_by_label("Maximum unit price").fill("240000")
    page.get_by_role("button", name="Save demand line").click()
    expect(page.get_by_text("Must not be before the earliest quarter (2027Q3).")).to_be_visible()
    expect(page.get_by_label("Quantity (vehicles)")).to_have_value("8")  # the form keeps what was typed
    screenshot(page, "fleet-line-form-error")
    page.get_by_label("Latest delivery quarter").fill("2028Q1")
    page.get_by_role("button", name="Save demand line").click()
    expect(page.get_by_text("Demand line saved: 8 vehicles")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/fleet/rounds/{rnd.id}#line-\d+$"))
    expect(page.locator("tr[data-line]")).to_have_count(3)
    new_row = page.locator("tr[data-line]").last
    expect(new_row).to_contain_text("draft")
    new_row.get_by_role("checkbox").check()
    page.get_by_role("button", name="Review and commit selected").click()
    page.get_by_role("button", name="Commit 1 line").click()
    expect(page.get_by_test_id("committed-vehicles")).to_have_text("18 vehicles")
    expect(page.locator("tr[data-line]").first).to_contain_text("Lot size reached")  # 6 + 4 + 8 + 14 = 32
    screenshot(page, "fleet-round-lot-reached")
    assert world.other_fleet.organization.name not in page.content()
    assert DemandStatus.COMMITTED.value in page.content()
