"""What the busiest pages cost per request, in SQL statements (bench/web.py measures them under load).

Each test pins a fix that would regress silently: the page would still work, only slower.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import current_app

from marketplace.extensions import db
from marketplace.models import AuditEntry, Bid, BidRevision, RoundPhase
from tests.factories import make_bid, make_line, make_model, make_round, make_tender, make_user

pytestmark = pytest.mark.commits  # statement counts: a rolled-back test adds SAVEPOINT statements (tests/conftest.py)


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements run inside the block, on the app's engine.

    The block runs in an app context of its own: the test client's request then gets a new
    session and `g` (nothing loaded, no user cached), as every request does when served.
    """
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        with current_app.app_context():
            yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def test_the_landing_page_reads_its_four_figures_in_one_statement(client, world):
    client.get("/")  # first use: nothing cached but the statement
    with statements() as seen:
        response = client.get("/")
    assert response.status_code == 200
    assert len(seen) == 1, seen


def test_a_logged_in_request_loads_the_user_with_its_organization_in_one_statement(world, login):
    client = login(world.fleet)
    with statements() as seen:
        response = client.get("/dashboard")  # a redirect: nothing read but who is asking
    assert response.status_code == 302
    assert len(seen) == 1 and "organization" in seen[0], seen


def test_a_bid_submission_does_not_read_the_bid_history(world, login):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization)
    make_bid(world.oem, lots[0], model)
    client = login(world.oem)
    url = f"/oem/rounds/{rnd.id}/lots/{lots[0].id}/bid"
    form = {"model_code": model.code, "min_quantity": "10", "max_quantity": str(lots[0].quantity), "tier1_min": "10"}
    bid_id = db.session.execute(sa.select(BidRevision.bid_id)).scalar_one()

    def submit(price: str) -> list[str]:
        with statements() as seen:
            response = client.post(url, data={**form, "tier1_price": price})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return seen

    short = submit("229000")
    for n in range(6):
        submit(f"22{n}500")
    long = submit("219000")
    assert len(long) == len(short)
    # Saving a revision reads no earlier revision's tiers (the history is only for showing the page):
    # at most the new revision's own, never the tiers of a list of revisions.
    assert not [s for s in long if s.lstrip().startswith("SELECT") and "FROM bid_tier" in s and " IN (" in s], long
    numbers = (
        db.session.execute(
            sa.select(BidRevision.number).where(BidRevision.bid_id == bid_id).order_by(BidRevision.number)
        )
        .scalars()
        .all()
    )
    assert numbers == list(range(1, 10))  # every submission was saved as a new revision


def test_the_bid_page_reads_the_revision_that_counts_and_the_history_pages(world, login):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization)
    for n in range(3):
        make_bid(world.oem, lots[0], model, tiers=((10, f"23{n}000"),))
    client = login(world.oem)
    url = f"/oem/rounds/{rnd.id}/lots/{lots[0].id}/bid"
    bid = db.session.execute(sa.select(BidRevision.bid_id)).scalars().first()
    public_id = db.session.get(Bid, bid).public_id

    def read(address: str) -> tuple[str, int, int]:
        with statements() as seen:
            response = client.get(address)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        return text, len(seen), text.count("data-revision=")

    page, few, rows = read(url)
    assert rows == 1 and "232,000" in page and "230,000" not in page  # the one that counts, not the history
    for n in range(57):
        make_bid(world.oem, lots[0], model, tiers=((10, f"2{n + 10}000"),))
    page, many, rows = read(url)
    assert (many, rows) == (few, 1) and "All 60 revisions" in page
    history, first, rows = read(f"/oem/bids/{public_id}/history")
    assert rows == 50 and "1–50 of 60 revisions" in history and 'data-revision="60"' in history
    history, second, rows = read(f"/oem/bids/{public_id}/history?page=2")
    assert rows == 10 and 'data-revision="1"' in history and second == first


def test_the_fleet_round_page_costs_the_same_for_three_lines_or_thirty(world, login):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    url = f"/fleet/rounds/{rnd.id}"
    mine, theirs = world.fleet.organization, world.other_fleet.organization
    client = login(world.fleet)

    def page_statements() -> int:
        with statements() as seen:
            response = client.get(url)
        assert response.status_code == 200
        return len(seen)

    for n in range(3):
        make_line(rnd, mine, region_id=["us-ca-los-angeles", "US-TX", "MX"][n])
    few = page_statements()
    for n in range(27):
        make_line(
            rnd,
            mine,
            quantity=n + 1,
            earliest_quarter=f"2027Q{n % 3 + 1}",
            segment_id=["md_box_truck", "transit_bus"][n % 2],
        )
        make_line(rnd, theirs, quantity=n + 1)

    assert page_statements() == few


def test_the_fleet_round_page_shows_a_page_of_lines_with_totals_over_all_of_them(world, login):
    from marketplace.models import DemandStatus

    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    mine = world.fleet.organization
    for n in range(70):
        status = DemandStatus.COMMITTED if n < 10 else DemandStatus.DRAFT
        make_line(rnd, mine, quantity=n + 1, status=status, segment_id=["md_box_truck", "transit_bus"][n % 2])
    client = login(world.fleet)
    page = client.get(f"/fleet/rounds/{rnd.id}").get_data(as_text=True)
    assert page.count('data-line="') == 50 and page.count("1–50 of 70 lines") == 2  # pages at the top and bottom
    assert "2,485 vehicles" in page  # 1 + 2 + ... + 70, from SQL, not from the 50 lines shown
    assert "60 draft lines" in page
    page = client.get(f"/fleet/rounds/{rnd.id}?segment=transit&sort=quantity&dir=desc").get_data(as_text=True)
    assert page.count('data-line="') == 35 and "1–35 of 35 lines" in page
    assert page.index(">70<") < page.index(">68<")  # the largest transit bus line first
    # Found by the names the table shows, as by their codes.
    make_line(rnd, mine, quantity=99, region_id="us-tx-houston")
    by_name = client.get(f"/fleet/rounds/{rnd.id}?segment=Transit+bus").get_data(as_text=True)
    assert by_name.count('data-line="') == 35
    for query in ("region=Houston", "region=us-tx"):
        page = client.get(f"/fleet/rounds/{rnd.id}?{query}").get_data(as_text=True)
        assert page.count('data-line="') == 1 and ">99<" in page


def test_the_coordinator_round_page_names_every_actor_of_its_log_in_one_statement(world, login):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    url = f"/coordinator/rounds/{rnd.id}"
    client = login(world.coordinator)

    def page_statements() -> int:
        with statements() as seen:
            response = client.get(url)
        assert response.status_code == 200
        return len(seen)

    few = page_statements()
    for n in range(8):  # entries by eight different people
        actor = make_user(world.fleet.organization, email=f"member{n}@example.org")
        db.session.add(AuditEntry(actor_id=actor.id, action="note", object_type="Round", object_id=str(rnd.id),
                                  round_id=rnd.id, summary=f"note {n}"))  # fmt: skip
    db.session.commit()
    assert page_statements() <= few + 1  # one statement for all actors, not one each


def test_a_saved_bid_above_the_capacity_is_warned_about_by_lot(world, login):
    from marketplace.services import bidding

    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization)
    bidding.set_capacity(rnd.id, 12, world.oem)
    client = login(world.oem)
    form = {"model_code": model.code, "min_quantity": "20", "max_quantity": "25", "tier1_min": "20",
            "tier1_price": "230000"}  # fmt: skip
    client.post(f"/oem/rounds/{rnd.id}/lots/{lots[1].id}/bid", data=form)
    page = client.post(f"/oem/rounds/{rnd.id}/lots/{lots[0].id}/bid", data={**form, "min_quantity": "11",
                       "tier1_min": "11"}, follow_redirects=True).get_data(as_text=True)  # fmt: skip
    # Only the bid whose minimum is above the capacity, by its lot's code.
    assert "Your capacity of 12 vehicles is below the minimum quantity of your bids on lot-2 (at least 20)" in page
