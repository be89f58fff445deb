"""Lists that grow with the data page on the server (issue 16): the round's audit log, reachable in full."""

from __future__ import annotations

import io

from marketplace.extensions import db
from marketplace.models import RoundPhase
from marketplace.services import audit
from tests.factories import make_round


def _log(world, count: int):
    rnd = make_round(world.coordinator, RoundPhase.DRAFT)
    for n in range(1, count + 1):
        actor = world.coordinator if n % 2 else None
        audit.record(actor, "test.note", rnd, summary=f"Note number {n:03d}.", round_id=rnd.id)
    db.session.commit()
    return rnd


def test_the_whole_audit_log_is_reachable_a_page_at_a_time(world, login):
    rnd = _log(world, 120)  # and the round's creation entry
    client = login(world.coordinator)
    first = client.get(f"/coordinator/rounds/{rnd.id}").get_data(as_text=True)
    assert "1–50 of 121 entries" in first
    assert "Note number 120." in first and "Note number 070." not in first  # newest first
    last = client.get(f"/coordinator/rounds/{rnd.id}?log_page=3").get_data(as_text=True)
    assert "101–121 of 121 entries" in last
    assert "Note number 001." in last and "Note number 120." not in last
    oldest_first = client.get(f"/coordinator/rounds/{rnd.id}?log_sort=when&log_dir=asc").get_data(as_text=True)
    assert oldest_first.index("Note number 001.") < oldest_first.index("Note number 002.")


def test_the_audit_log_filters_by_what_and_who(world, login):
    rnd = _log(world, 30)
    client = login(world.coordinator)
    page = client.get(f"/coordinator/rounds/{rnd.id}?log_what=number 01").get_data(as_text=True)
    assert "1–10 of 10 entries" in page  # 010-019
    page = client.get(f"/coordinator/rounds/{rnd.id}?log_who={world.coordinator.email}&log_what=note").get_data(
        as_text=True
    )
    assert "1–15 of 15 entries" in page  # the odd notes were the coordinator's
    page = client.get(f"/coordinator/rounds/{rnd.id}?log_what=100%25_off").get_data(as_text=True)
    assert "No entries" in page  # wildcards are taken literally out, not matched


def test_a_page_past_the_end_shows_the_last_page(world, login):
    rnd = _log(world, 60)
    client = login(world.coordinator)
    page = client.get(f"/coordinator/rounds/{rnd.id}?log_page=99").get_data(as_text=True)
    assert "51–61 of 61 entries" in page
    assert client.get(f"/coordinator/rounds/{rnd.id}?log_page=abc&log_per_page=-5").status_code == 200


def test_an_upload_preview_shows_a_page_of_its_rows(app, world, login):
    from tests.demand_helpers import csv_bytes, open_round, sheet_row

    rnd = open_round(world)
    client = login(world.fleet)
    rows = [sheet_row(quantity=n % 30 + 1, note=f"line {n:03d}") for n in range(1, 251)]
    response = client.post(
        f"/fleet/rounds/{rnd.id}/upload",
        data={"file": (io.BytesIO(csv_bytes(rows)), "lines.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    preview = client.get(response.location).get_data(as_text=True)
    assert "1–100 of 250 lines" in preview and "Save all 250 lines" in preview
    assert "line 100" in preview and "line 101" not in preview
    last = client.get(response.location + "?page=3").get_data(as_text=True)
    assert "201–250 of 250 lines" in last and "line 250" in last and "line 001" not in last


def test_a_lot_shows_its_lines_a_page_at_a_time_and_the_pooling_page_lists_lots_only(world, login):
    from marketplace.models import Lot, LotMember, PoolingRun, RunStatus
    from tests.factories import make_line

    rnd = make_round(world.coordinator, RoundPhase.POOLED)
    run = PoolingRun(round_id=rnd.id, min_lot_quantity=1, max_lot_quantity=1000, max_levels_up=2,
                     status=RunStatus.SUCCEEDED, lot_count=1)  # fmt: skip
    db.session.add(run)
    db.session.flush()
    lot = Lot(round_id=rnd.id, pooling_run_id=run.id, code="lot-1", segment_id="md_box_truck", region_id="US-CA",
              earliest_quarter="2027Q2", latest_quarter="2027Q3", charging="CCS1", quantity=0, fleet_count=2)  # fmt: skip
    db.session.add(lot)
    db.session.flush()
    for n in range(60):
        org = (world.fleet if n % 3 else world.other_fleet).organization
        line = make_line(rnd, org, quantity=n + 1)
        db.session.add(LotMember(lot_id=lot.id, demand_line_id=line.id, quantity=n + 1))
    db.session.commit()
    client = login(world.coordinator)
    pooling = client.get(f"/coordinator/rounds/{rnd.id}/pooling?run={run.id}").get_data(as_text=True)
    assert f"/coordinator/lots/{lot.id}" in pooling and 'data-line="' not in pooling  # no member listed there
    page = client.get(f"/coordinator/lots/{lot.id}").get_data(as_text=True)
    assert page.count('data-line="') == 50 and "1–50 of 60 lines" in page
    other = world.other_fleet.organization.name
    page = client.get(f"/coordinator/lots/{lot.id}?fleet={other}&sort=vehicles&dir=desc").get_data(as_text=True)
    assert page.count('data-line="') == 20 and page.index(">58<") < page.index(">55<")
