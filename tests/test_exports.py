"""A scenario's exports (allocations line by line, summary by supplier and by lot) and the audit log page."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from marketplace.extensions import db
from marketplace.models import Allocation, AuditEntry
from marketplace.services import audit
from tests.report_helpers import _lot, report_round

pytestmark = pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)


def test_the_scenario_summary_adds_up_by_supplier_and_by_lot(world, login):
    made = report_round(world, "contracting")
    client = login(world.coordinator)
    html = client.get(f"/coordinator/scenarios/{made.round.published_scenario_id}").get_data(as_text=True)
    assert 'data-testid="by-supplier"' in html and 'data-testid="by-lot"' in html
    assert "76.9 %" in html and "23.1 %" in html  # 40 and 12 of 52 vehicles
    assert "40 of 40" in html and "12 of 12" in html
    response = client.get(f"/coordinator/scenarios/{made.round.published_scenario_id}/summary.xlsx")
    book = load_workbook(io.BytesIO(response.data))
    suppliers = {r[0]: r for r in book["By supplier"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert suppliers[made.oem_a.name][1:5] == (1, 2, 40, 9200000)
    assert suppliers[made.oem_b.name][1:5] == (1, 1, 12, Decimal("10200006.00"))
    lots = {r[0]: r for r in book["By lot"].iter_rows(min_row=2, values_only=True)}
    assert lots["lot-1"][4:8] == (40, 40, 1, 9200000)
    text = client.get(f"/coordinator/scenarios/{made.round.published_scenario_id}/summary.csv").get_data(as_text=True)
    assert f"By supplier,{made.oem_a.name},1,2,40,9200000.00,USD,76.9" in text


def _by_lot(html: str) -> list[str]:
    """The lot codes of the "By lot" table, in the order shown."""
    table = html[html.index('data-testid="by-lot"') :]
    return re.findall(r"<tr class=\"[^\"]*\"><td>(lot-\d+)</td>", table[: table.index("</table>")])


def test_the_by_lot_summary_pages_sorts_and_filters_on_the_server(world, login):
    made = report_round(world, "contracting")
    scenario_id = made.round.published_scenario_id
    # A third lot nobody bid on, and lot-1 served in part (35 of 40 vehicles).
    _lot(made.round, made.lots["lot-1"].pooling_run, "lot-3", "md_box_truck", "ca-bc-vancouver", [made.lines["L4"]])
    db.session.execute(
        sa.update(Allocation)
        .where(Allocation.scenario_id == scenario_id, Allocation.demand_line_id == made.lines["L2"].id)
        .values(quantity=5)
    )
    db.session.commit()
    client = login(world.coordinator)

    def shown(**args) -> tuple[list[str], str]:
        html = client.get(f"/coordinator/scenarios/{scenario_id}", query_string=args).get_data(as_text=True)
        return _by_lot(html), html

    assert shown()[0] == ["lot-1", "lot-2", "lot-3"]  # lot order
    second, html = shown(bylot_per_page=1, bylot_page=2)
    assert second == ["lot-2"] and "2–2 of 3 lots" in html
    assert shown(bylot_sort="value", bylot_dir="desc")[0] == ["lot-2", "lot-1", "lot-3"]
    assert shown(bylot_sort="awarded", bylot_dir="desc", bylot_per_page=1)[0] == ["lot-1"]  # 35, then 12, then 0
    assert shown(bylot_awarded="nothing")[0] == ["lot-3"]
    assert shown(bylot_awarded="in part")[0] == ["lot-1"]
    assert shown(bylot_awarded="in full")[0] == ["lot-2"]
    # A value the "Awarded" list does not offer (an edited link) is ignored, like an unknown sort: every lot.
    codes, html = shown(bylot_awarded="everything", bylot_sort="nonsense")
    assert codes == ["lot-1", "lot-2", "lot-3"] and "selected" not in html[html.index('id="bylot_awarded"') :][:400]
    assert shown(bylot_segment="transit")[0] == ["lot-2"]
    codes, html = shown(bylot_lot="lot-9")
    assert codes == [] and "No lot matches the filter." in html
    # Another list's page and order stay as they were when this one is sorted or filtered.
    _, html = shown(page=2, bylot_awarded="in full")
    assert 'name="page" value="2"' in html and "bylot_sort=awarded" in html


def test_allocations_export_line_by_line_with_the_fleets_decision(world, login):
    made = report_round(world, "contracting")
    made.fleet_a.name = "@SUM(1+1)*cmd|' /C calc'!A0"  # a hostile name stays text
    db.session.commit()
    client = login(world.coordinator)
    url = f"/coordinator/scenarios/{made.round.published_scenario_id}/allocations"
    rows = list(csv.reader(io.StringIO(client.get(url + ".csv").get_data(as_text=True))))
    assert rows[0][:6] == ["Lot", "Segment", "Region", "Delivery window", "Fleet", "Line"]
    by_line = {int(r[5]): r for r in rows[1:]}
    assert set(by_line) == {made.lines[k].id for k in ("L1", "L2", "L3")}
    l1 = by_line[made.lines["L1"].id]
    assert (
        l1[4] == "'" + made.fleet_a.name and l1[8] == made.oem_a.name and l1[11:14] == ["30", "230000.00", "6900000.00"]
    )
    assert l1[-1] == "confirmed" and by_line[made.lines["L2"].id][-1] == "declined"
    book = load_workbook(io.BytesIO(client.get(url + ".xlsx").data))
    assert book.sheetnames == ["Allocations", "By supplier", "By lot"]
    cell = next(c for row in book["Allocations"].iter_rows(min_row=2) for c in row if c.value == made.fleet_a.name)
    assert cell.data_type == "s"
    # Fleets and OEMs cannot export the coalition's allocations.
    assert login(world.oem).get(url + ".csv").status_code == 403


def _entry(at: datetime, action: str, summary: str, actor=None, round_id=None, object_id="1"):
    entry = AuditEntry(at=at, action=action, object_type="Allocation", object_id=object_id, summary=summary,
                       actor_id=actor.id if actor else None,
                       organization_id=actor.organization_id if actor else None, round_id=round_id)  # fmt: skip
    db.session.add(entry)
    db.session.commit()
    return entry


def test_the_audit_log_filters_by_who_what_object_and_day(world, login):
    _entry(datetime(2026, 11, 3, 12, tzinfo=UTC), "allocation.confirm", "Confirmed 30 vehicles", world.fleet,
           object_id="77")  # fmt: skip
    _entry(datetime(2026, 11, 5, 12, tzinfo=UTC), "allocation.decline", "Declined 10 vehicles", world.other_fleet)
    _entry(datetime(2026, 11, 6, 12, tzinfo=UTC), "deposit.release", "Released by the deadline job")
    client = login(world.coordinator)

    def shown(**args):
        html = client.get("/coordinator/audit", query_string=args).get_data(as_text=True)
        return {s for s in ("Confirmed 30", "Declined 10", "Released by") if s in html}

    assert shown() == {"Confirmed 30", "Declined 10", "Released by"}
    assert shown(who=world.other_fleet.email) == {"Declined 10"}
    assert shown(who="system") == {"Released by"}
    assert shown(what="decline") == {"Declined 10"}
    assert shown(object="Allocation 77") == {"Confirmed 30"}
    assert shown(since="2026-11-04", until="2026-11-05") == {"Declined 10"}  # "until" includes its day
    # A day that cannot be read is a message naming the field, and no entry is shown as if unfiltered.
    response = client.get("/coordinator/audit", query_string={"since": "4/11/2026"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "From (day): write the day as YYYY-MM-DD" in html
    assert 'value="4/11/2026"' in html and "Confirmed 30" not in html
    assert client.get("/coordinator/audit.csv", query_string={"until": "tomorrow"}).status_code == 400
    # The CSV streams the filtered entries, newest first.
    rows = list(csv.reader(io.StringIO(client.get("/coordinator/audit.csv",
                                                  query_string={"what": "allocation"}).get_data(as_text=True))))  # fmt: skip
    assert [r[3] for r in rows[1:]] == ["allocation.decline", "allocation.confirm"]
    assert rows[1][1] == world.other_fleet.email


def test_the_audit_log_is_for_coordinators_only(world, login):
    assert login(world.fleet).get("/coordinator/audit").status_code == 403
    assert login(world.oem).get("/coordinator/audit.csv").status_code == 403
    assert audit.day_start(None, UTC) is None
