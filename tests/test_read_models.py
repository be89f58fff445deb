"""Figures computed once, read many times, never stale (services/read_models.py).

Each test reads a stored page, changes the data under it through the app, and checks the page
follows; the first shows that a second read is served from the store, not recomputed.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Allocation, DemandLine, Organization, ReadModel, VehicleModel
from marketplace.services import award, contracting, read_models, reports, rounds
from tests.report_helpers import report_round

pytestmark = pytest.mark.commits  # the read-model store writes on a connection of its own (tests/conftest.py)


def _counts() -> tuple[int, int]:
    return read_models.hits, read_models.computed


def _allocation_of(made, key: str) -> Allocation:
    return db.session.execute(
        sa.select(Allocation).where(
            Allocation.scenario_id == made.round.published_scenario_id,
            Allocation.demand_line_id == made.lines[key].id,
        )
    ).scalar_one()


def _csv_funnel(client, round_id: int) -> dict[str, str]:
    text = client.get(f"/coordinator/rounds/{round_id}/report.csv").get_data(as_text=True)
    return {row["key"]: row["vehicles"] for row in csv.DictReader(io.StringIO(text)) if row["section"] == "funnel"}


def test_the_report_is_stored_and_follows_a_confirmation(world, login):
    made = report_round(world, "contracting")
    client = login(world.coordinator)
    url = f"/coordinator/rounds/{made.round.id}/report"
    assert client.get(url).status_code == 200
    hits, computed = _counts()
    assert client.get(url).status_code == 200
    assert _counts() == (hits + 1, computed), "the second read must come from the store"
    assert _csv_funnel(client, made.round.id)["confirmed"] == "30"

    # Fleet B confirms its pending bus allocation (L3, 12 vehicles): every form of the report follows.
    contracting.decide(_allocation_of(made, "L3").id, True, world.other_fleet)
    assert _csv_funnel(client, made.round.id)["confirmed"] == "42"
    page = client.get(url).get_data(as_text=True)
    assert "12 not decided yet" not in page
    xlsx = client.get(f"/coordinator/rounds/{made.round.id}/report.xlsx").data
    from openpyxl import load_workbook

    funnel = {row[0]: row[1] for row in load_workbook(io.BytesIO(xlsx))["Funnel"].iter_rows(values_only=True) if row}
    assert funnel["Confirmed"] == 42


def test_the_ocds_package_follows_a_confirmation_and_a_renamed_supplier(world, login):
    made = report_round(world, "contracting")
    client = login(world.coordinator)
    url = f"/coordinator/rounds/{made.round.id}/ocds.json"

    def package():
        return json.loads(client.get(url).get_data(as_text=True))

    before = package()
    assert package() == before  # served from the store
    contracting.decide(_allocation_of(made, "L3").id, True, world.other_fleet)
    after = package()
    contracts = after["releases"][0]["contracts"]
    assert len(contracts) == len(before["releases"][0]["contracts"]) + 1

    # A supplier renames itself: no row of the round changed, the package still follows (shared data).
    oem = db.session.get(Organization, made.oem_b.id)
    oem.name = "Metro Bus Works Renamed"
    db.session.commit()
    names = {party["name"] for party in package()["releases"][0]["parties"]}
    assert "Metro Bus Works Renamed" in names


def test_scenario_figures_follow_the_catalog_list_price(world, login):
    made = report_round(world, "contracting")
    client = login(world.coordinator)
    scenario = award.get_scenario(made.round.published_scenario_id)
    first = award.figures(made.round, scenario)
    assert award.figures(made.round, scenario).savings_vs_list == first.savings_vs_list
    bus = db.session.execute(sa.select(VehicleModel).where(VehicleModel.name == "Metro 12")).scalar_one()
    bus.list_price = bus.list_price + Decimal("1000")
    db.session.commit()
    again = award.figures(made.round, award.get_scenario(scenario.id))
    assert again.savings_vs_list == first.savings_vs_list + 12 * Decimal("1000")
    page = client.get(f"/coordinator/rounds/{made.round.id}/scenarios").get_data(as_text=True)
    assert f"{again.savings_vs_list:,.0f}" in page or f"{again.savings_vs_list:,.2f}" in page


def test_uncommitted_changes_are_never_stored(world):
    made = report_round(world, "contracting")
    committed = reports.round_report(made.round).stage("committed").vehicles
    line = db.session.get(DemandLine, made.lines["L1"].id)
    line.quantity += 100  # not committed: this transaction sees it, nobody else may
    assert reports.round_report(made.round).stage("committed").vehicles == committed + 100
    db.session.rollback()
    assert reports.round_report(made.round).stage("committed").vehicles == committed


def test_a_reader_holding_the_round_lock_still_stores_its_document(world):
    """A write use case that holds the round's lock (rounds.lock) may read a stored document: storing it on
    its own connection must not wait for that lock (PostgreSQL checks read_model.round_id's foreign key
    with FOR KEY SHARE on the round row, which a FOR UPDATE lock would block until the reader's end)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite has no row locks")
    made = report_round(world, "contracting")
    rnd = rounds.lock(made.round.id)  # this transaction holds the round's lock from here on

    def bounded(connection):
        # Any wait here is the bug (this transaction holds the lock until the store returns): a lock
        # timeout turns it into a failed store, seen below, instead of a hung suite. No clock is read:
        # without a lock wait the timeout never fires, however slow the machine.
        connection.exec_driver_sql("SET LOCAL lock_timeout = '3s'")

    sa.event.listen(db.engine, "begin", bounded)
    try:
        assert read_models.cached(rnd, "locked-reader", lambda: "figures", str, str) == "figures"
    finally:
        sa.event.remove(db.engine, "begin", bounded)
    with db.engine.connect() as other:
        stored = other.execute(
            sa.select(ReadModel.body).where(ReadModel.round_id == rnd.id, ReadModel.name == "locked-reader")
        ).scalar_one_or_none()
    db.session.rollback()
    assert stored == "figures"
