"""In the browser: a winner withdraws after the award, the coordinator promotes its backup, the backup OEM
accepts, and the fleet re-confirms (issue 20). Screenshots of each new page go to test-artifacts/."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from marketplace.extensions import db
from marketplace.models import Allocation, Backup
from tests.browser_steps import flash_says, session_for
from tests.conftest import screenshot
from tests.test_backups import contracting_round, with_backups  # noqa: F401 (fixtures, found by name)

pytestmark = pytest.mark.browser


def test_a_winner_withdraws_and_its_backup_is_promoted_through_to_reconfirmation(
    world,
    contracting_round,  # noqa: F811
    chromium,
    live_server,
):
    rnd = contracting_round
    backup = db.session.execute(
        sa.select(Backup).where(
            Backup.scenario_id == rnd.published_scenario_id, Backup.withdrawn_id == world.oem.organization_id
        )
    ).scalar_one()

    coordinator = session_for(chromium, live_server, world.coordinator)
    coordinator.goto(f"/coordinator/rounds/{rnd.id}")
    coordinator.get_by_role("link", name="Backups").click()
    # The coordinator narrows the list to the failing winner; the promotion brings it back narrowed.
    coordinator.get_by_role("textbox", name="Winner").fill(world.oem.organization.name)
    coordinator.get_by_role("button", name="Filter").click()
    expect(coordinator.get_by_test_id("pager-count").first).to_have_text("1–1 of 1 winners")
    row = coordinator.locator(f'tr[data-backup="{backup.public_id}"]')
    expect(row).to_contain_text(world.other_oem.organization.name)
    screenshot(coordinator, "backups-coordinator")
    row.get_by_role("link", name="Winner drops out").click()
    expect(coordinator.get_by_test_id("consequences")).to_contain_text("40 vehicles")
    coordinator.get_by_label("It withdrew").check()
    coordinator.get_by_label("What happened").fill("The plant burned down: no deliveries this year.")
    coordinator.get_by_role("button", name="Take back and promote the backup").click()
    expect(coordinator.get_by_text("Tick the box").first).to_be_visible()  # nothing happens without it
    coordinator.get_by_label("It withdrew").check()
    coordinator.get_by_label("What happened").fill("The plant burned down: no deliveries this year.")
    coordinator.get_by_label("I have read what this move does").check()
    screenshot(coordinator, "backups-promote")
    coordinator.get_by_role("button", name="Take back and promote the backup").click()
    flash_says(coordinator, "40 vehicles offered to the backup")
    expect(coordinator.locator(f'tr[data-backup="{backup.public_id}"]')).to_contain_text(
        "waiting for the backup supplier"
    )
    expect(coordinator.get_by_role("textbox", name="Winner")).to_have_value(world.oem.organization.name)
    expect(coordinator.get_by_test_id("pager-count").first).to_have_text("1–1 of 1 winners")

    fleet = session_for(chromium, live_server, world.fleet)
    fleet.goto(f"/fleet/rounds/{rnd.id}/allocations")
    expect(fleet.get_by_test_id("allocations")).to_contain_text("supplier dropped out")

    oem = session_for(chromium, live_server, world.other_oem)
    oem.goto(f"/oem/rounds/{rnd.id}/results")
    oem.get_by_test_id("backup-offers").get_by_role("link").click()
    expect(oem.get_by_test_id("offer-state")).to_have_text("waiting for your answer")
    screenshot(oem, "backups-offer")
    oem.get_by_role("button", name="Accept").click()
    flash_says(oem, "You accepted to supply 40 vehicles")

    offered = db.session.execute(sa.select(Allocation).where(Allocation.backup_id == backup.id)).scalar_one()
    fleet.goto(f"/fleet/rounds/{rnd.id}/allocations")
    fleet.locator(f'tr[data-allocation="{offered.public_id}"]').get_by_role("button", name="Confirm").click()
    flash_says(fleet, "You confirmed 40 vehicles")
    screenshot(fleet, "backups-fleet-reconfirmed")
    db.session.expire_all()
    assert db.session.get(Allocation, offered.id).confirmation.value == "confirmed"
