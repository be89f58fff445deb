"""In the browser: a winner withdraws after the award, the coordinator promotes its backup, the backup OEM
accepts, and the fleet re-confirms (issue 20). Screenshots of each new page go to test-artifacts/."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Allocation, Backup
from tests.conftest import screenshot
from tests.test_backups import contracting_round, with_backups  # noqa: F401 (fixtures, found by name)
from tests.test_full_round_browser import flash_says, session_for

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
    row = coordinator.locator(f'tr[data-backup="{backup.public_id}"]')
    assert world.other_oem.organization.name in row.inner_text()
    screenshot(coordinator, "backups-coordinator")
    row.get_by_role("link", name="Winner drops out").click()
    assert "40 vehicles" in coordinator.get_by_test_id("consequences").inner_text()
    coordinator.get_by_label("It withdrew").check()
    coordinator.get_by_label("What happened").fill("The plant burned down: no deliveries this year.")
    coordinator.get_by_role("button", name="Take back and promote the backup").click()
    assert "Tick the box" in coordinator.content()  # nothing happens without it
    coordinator.get_by_label("It withdrew").check()
    coordinator.get_by_label("What happened").fill("The plant burned down: no deliveries this year.")
    coordinator.get_by_label("I have read what this move does").check()
    screenshot(coordinator, "backups-promote")
    coordinator.get_by_role("button", name="Take back and promote the backup").click()
    flash_says(coordinator, "40 vehicles offered to the backup")
    assert (
        "waiting for the backup supplier" in coordinator.locator(f'tr[data-backup="{backup.public_id}"]').inner_text()
    )

    fleet = session_for(chromium, live_server, world.fleet)
    fleet.goto(f"/fleet/rounds/{rnd.id}/allocations")
    assert "supplier dropped out" in fleet.get_by_test_id("allocations").inner_text()

    oem = session_for(chromium, live_server, world.other_oem)
    oem.goto(f"/oem/rounds/{rnd.id}/results")
    oem.get_by_test_id("backup-offers").get_by_role("link").click()
    assert oem.get_by_test_id("offer-state").inner_text() == "waiting for your answer"
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
