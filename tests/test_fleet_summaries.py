"""Fleets see what is at stake before they commit or decide, and what happens next (issue 18 item 5)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Allocation, ConfirmationStatus, DemandStatus, Deposit, Round, RoundPhase
from marketplace.services import rounds
from tests.factories import make_line, make_round
from tests.report_helpers import report_round


def test_committing_starts_with_a_summary_of_vehicles_maximum_spend_and_deposit(world, login):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN, deposit_per_vehicle=Decimal("500"))
    a = make_line(
        rnd, world.fleet.organization, quantity=8, max_unit_price=Decimal("200000"), status=DemandStatus.DRAFT
    )
    b = make_line(rnd, world.fleet.organization, quantity=4, max_unit_price=Decimal("250000.50"),
                  status=DemandStatus.DRAFT, region_id="US-TX", earliest_quarter="2027Q2", latest_quarter="2027Q2")  # fmt: skip
    other = make_line(rnd, world.other_fleet.organization, status=DemandStatus.DRAFT)
    client = login(world.fleet)
    page = client.get(f"/fleet/rounds/{rnd.id}/commit", query_string={"all": "1"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="vehicles">12<' in html
    assert 'data-testid="max-spend">2,600,002 USD<' in html  # 8 x 200,000 + 4 x 250,000.50
    assert "payments are off" in html  # the test app has no Stripe key: no hold is taken
    assert "Medium-duty box truck in Texas, 2027Q2" in html  # lines named in words
    # Nothing was committed by looking at the summary.
    db.session.expire_all()
    assert {a.status, b.status} == {DemandStatus.DRAFT}
    # Another fleet's line cannot be summarised, nor committed.
    refused = client.get(f"/fleet/rounds/{rnd.id}/commit", query_string={"line_ids": [a.id, other.id]})
    assert refused.status_code == 302
    # The summary's button commits exactly the lines it showed.
    assert f'name="line_ids" value="{a.id}"' in html and 'name="all"' not in html
    client.post(f"/fleet/rounds/{rnd.id}/commit", data={"line_ids": [a.id]})
    db.session.expire_all()
    assert (a.status, b.status, other.status) == (DemandStatus.COMMITTED, DemandStatus.DRAFT, DemandStatus.DRAFT)


def test_the_round_page_says_what_happens_next_and_when(world, login):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    client = login(world.fleet)
    html = client.get(f"/fleet/rounds/{rnd.id}").get_data(as_text=True)
    steps = html[html.index('data-testid="next-steps"') :]
    assert steps.index('data-state="now"') < steps.index("Post demand lines") < steps.index("OEMs bid on the lots")
    assert "within" not in steps  # the round has a confirmation deadline
    assert rnd.demand_deadline.strftime("%Y-%m-%d %H:%M") in steps and "after the bid deadline" in steps
    # Closed early: the finished step says when it really ended, not the deadline it never reached.
    rounds.transition(rnd.id, RoundPhase.DEMAND_CLOSED, world.coordinator)
    ended = rounds.ended_at(db.session.get(Round, rnd.id), RoundPhase.DEMAND_OPEN)
    assert ended is not None and ended < rnd.demand_deadline
    html = client.get(f"/fleet/rounds/{rnd.id}").get_data(as_text=True)
    done = html[html.index('data-testid="next-steps"') :].split('data-state="now"')[0]
    assert f'ended <time datetime="{ended.isoformat()}"' in done
    assert rnd.demand_deadline.isoformat() not in done
    made = report_round(world, "tendering")
    html = client.get(f"/fleet/rounds/{made.round.id}").get_data(as_text=True)
    now = html[html.index('data-state="now"') :]
    assert now.index("OEMs bid on the lots") < 300


def _pending_award(world):
    made = report_round(world, "awarded")
    rounds.transition(made.round.id, RoundPhase.CONTRACTING, world.coordinator)
    allocations = {
        a.demand_line_id: a
        for a in db.session.execute(
            sa.select(Allocation).where(Allocation.scenario_id == made.round.published_scenario_id)
        ).scalars()
    }
    return made, {key: allocations[line.id] for key, line in made.lines.items() if line.id in allocations}


@pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)
def test_several_allocations_are_confirmed_after_a_summary_all_or_nothing(world, login):
    made, allocations = _pending_award(world)
    l2, l3 = allocations["L2"], allocations["L3"]  # fleet B's: 10 at 230,000 and 12 at 850,000.50
    client = login(world.other_fleet)
    url = f"/fleet/rounds/{made.round.id}/allocations"
    html = client.get(url + "/review", query_string={"decision": "confirm", "ids": [l2.public_id, l3.public_id]})
    text = html.get_data(as_text=True)
    assert html.status_code == 200
    assert 'data-testid="vehicles">22<' in text
    assert 'data-testid="total-price">12,500,006 USD<' in text  # 10 x 230,000 + 12 x 850,000.50
    assert 'data-testid="max-total">13,200,000 USD<' in text  # 10 x 240,000 + 12 x 900,000
    # One allocation of another fleet in the batch: nothing is decided.
    response = client.post(url + "/decide", data={"decision": "confirm",
                                                  "ids": [l2.public_id, allocations["L1"].public_id]})  # fmt: skip
    assert response.status_code == 303
    db.session.expire_all()
    assert {l2.confirmation, l3.confirmation} == {ConfirmationStatus.PENDING}
    # Both of its own: both confirmed in one go, each with its audit entry.
    client.post(url + "/decide", data={"decision": "confirm", "ids": [l2.public_id, l3.public_id]})
    db.session.expire_all()
    assert {l2.confirmation, l3.confirmation} == {ConfirmationStatus.CONFIRMED}
    # Deciding them again is refused as a whole.
    response = client.post(url + "/decide", data={"decision": "decline", "ids": [l2.public_id]})
    assert response.status_code == 303
    db.session.expire_all()
    assert l2.confirmation is ConfirmationStatus.CONFIRMED


@pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)
def test_a_bad_decision_request_names_what_is_wrong(world, login):
    made, allocations = _pending_award(world)
    client = login(world.other_fleet)
    url = f"/fleet/rounds/{made.round.id}/allocations/review"
    page = client.get(url, query_string={"decision": "confirm"}, follow_redirects=True)
    assert "Allocations: tick at least one" in page.get_data(as_text=True)
    page = client.get(url, query_string={"decision": "buy", "ids": allocations["L2"].public_id}, follow_redirects=True)
    assert "Decision: choose confirm or decline" in page.get_data(as_text=True)


def test_deposits_are_named_by_their_line_in_words(world, login):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN, deposit_per_vehicle=Decimal("500"))
    line = make_line(rnd, world.fleet.organization, quantity=6, region_id="US-TX", earliest_quarter="2027Q2",
                     latest_quarter="2027Q4")  # fmt: skip
    db.session.add(Deposit(round_id=rnd.id, demand_line_id=line.id, organization_id=line.organization_id,
                           currency="USD", amount=Decimal("3000")))  # fmt: skip
    db.session.commit()
    html = login(world.fleet).get("/payments/deposits").get_data(as_text=True)
    assert "6 Medium-duty box truck in Texas, 2027Q2–2027Q4" in html
    assert "md_box_truck" not in html


@pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)
def test_allocations_filter_by_status_from_a_closed_list(world, login):
    made, allocations = _pending_award(world)
    client = login(world.other_fleet)
    client.post(f"/fleet/rounds/{made.round.id}/allocations/decide",
                data={"decision": "confirm", "ids": [allocations["L2"].public_id]})  # fmt: skip
    url = f"/fleet/rounds/{made.round.id}/allocations"
    page = client.get(url).get_data(as_text=True)
    # A closed list, not free text: "Pending" typed by hand used to match nothing.
    assert '<select class="form-select form-select-sm" id="status" name="status">' in page
    assert '<option value="declined" >declined</option>' in page
    confirmed = client.get(url, query_string={"status": "confirmed"}).get_data(as_text=True)
    assert allocations["L2"].public_id in confirmed and allocations["L3"].public_id not in confirmed
    assert '<option value="confirmed" selected>' in confirmed
