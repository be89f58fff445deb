"""An action started from a paged, sorted, filtered list brings the user back to the rows it left: the
fleet's bulk review of allocations, its review and commit of demand lines, editing and withdrawing a line,
the coordinator's deposit actions and "mark all as read" (marketplace.pagination.kept_state)."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from marketplace.extensions import db
from marketplace.models import ConfirmationStatus, DemandStatus, Deposit, RoundPhase
from marketplace.services import contracting
from tests.factories import make_contracting_round, make_line, make_round


def _hidden_fields(html: str, form_id: str) -> dict[str, str]:
    form = re.search(rf'<form id="{form_id}"[^>]*>(.*?)</form>', html, re.S)
    assert form is not None, f"no form {form_id}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(1)))


def _action(html: str, piece: str) -> str:
    return unescape(next(a for a in re.findall(r'(?:action|href)="([^"]+)"', html) if piece in a))


def _landed(response) -> tuple[str, dict[str, list[str]]]:
    assert response.status_code in (302, 303), response.status_code
    where = urlsplit(response.headers["Location"])
    return where.path, parse_qs(where.query)


@pytest.mark.commits  # the award runs the solver job, which reports on a connection of its own
def test_the_bulk_review_of_allocations_returns_to_the_page_order_and_filter_the_fleet_had(world, login):
    rnd = make_contracting_round(world)
    client = login(world.fleet)
    state = {"status": ["pending"], "sort": ["price"], "dir": ["desc"], "per_page": ["1"], "page": ["2"]}
    listing = f"/fleet/rounds/{rnd.id}/allocations?status=pending&sort=price&dir=desc&per_page=1&page=2"
    page = client.get(listing + "&next=https://evil.example/").get_data(as_text=True)
    kept = _hidden_fields(page, "bulk-form")
    assert {k: [v] for k, v in kept.items()} == state  # only the list's own arguments ride along
    ticked = [a.public_id for a in contracting.fleet_results(rnd.id, world.fleet).allocations][:1]
    review = client.get(f"/fleet/rounds/{rnd.id}/allocations/review", query_string={
        **kept, "decision": "confirm", "ids": ticked,
    }).get_data(as_text=True)  # fmt: skip
    assert parse_qs(urlsplit(_action(review, f"/fleet/rounds/{rnd.id}/allocations?")).query) == state  # "Back"
    done = client.post(_action(review, "/allocations/decide"), data={"decision": "confirm", "ids": ticked})
    assert _landed(done) == (f"/fleet/rounds/{rnd.id}/allocations", state)
    db.session.expire_all()
    assert {a.confirmation for a in contracting.fleet_results(rnd.id, world.fleet).allocations} == {
        ConfirmationStatus.CONFIRMED, ConfirmationStatus.PENDING,
    }  # fmt: skip
    # A refused batch (nothing ticked) also lands on the same rows.
    refused = client.get(f"/fleet/rounds/{rnd.id}/allocations/review", query_string={**kept, "decision": "confirm"})
    assert _landed(refused) == (f"/fleet/rounds/{rnd.id}/allocations", state)


def test_review_and_commit_returns_to_the_lines_page_order_and_filter_the_fleet_had(world, login):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    lines = [make_line(rnd, world.fleet.organization, status=DemandStatus.DRAFT, quantity=n) for n in (3, 4, 5)]
    client = login(world.fleet)
    state = {"status": ["draft"], "sort": ["quantity"], "dir": ["desc"], "per_page": ["1"], "page": ["2"]}
    page = client.get(f"/fleet/rounds/{rnd.id}?status=draft&sort=quantity&dir=desc&per_page=1&page=2&x=1")
    html = page.get_data(as_text=True)
    kept = _hidden_fields(html, "commit-form")
    assert {k: [v] for k, v in kept.items()} == state
    review = client.get(f"/fleet/rounds/{rnd.id}/commit", query_string={**kept, "line_ids": [lines[1].id]})
    review_html = review.get_data(as_text=True)
    assert parse_qs(urlsplit(_action(review_html, f"/fleet/rounds/{rnd.id}?")).query) == state  # "Back"
    done = client.post(_action(review_html, f"/fleet/rounds/{rnd.id}/commit?"), data={"line_ids": [lines[1].id]})
    assert _landed(done) == (f"/fleet/rounds/{rnd.id}", state)
    db.session.expire_all()
    assert [line.status for line in lines] == [DemandStatus.DRAFT, DemandStatus.COMMITTED, DemandStatus.DRAFT]
    # Withdrawing the line shown (the second largest) from that page comes back there too.
    withdraw = _action(html, f"/fleet/lines/{lines[1].id}/withdraw")
    assert _landed(client.post(withdraw)) == (f"/fleet/rounds/{rnd.id}", state)
    db.session.expire_all()
    assert lines[1].status is DemandStatus.WITHDRAWN


def test_deposit_actions_return_to_the_page_and_filter_the_coordinator_had(world, login):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN, deposit_per_vehicle=Decimal("500"))
    for n in range(3):
        line = make_line(rnd, world.fleet.organization, quantity=2 + n)
        db.session.add(Deposit(round_id=rnd.id, demand_line_id=line.id, organization_id=line.organization_id,
                               currency="USD", amount=Decimal(1000 + 500 * n)))  # fmt: skip
    db.session.commit()
    client = login(world.coordinator)
    state = {"state": ["pending"], "sort": ["deposit"], "dir": ["desc"], "per_page": ["1"], "page": ["2"]}
    html = client.get(
        f"/payments/rounds/{rnd.id}/deposits?state=pending&sort=deposit&dir=desc&per_page=1&page=2&y=2"
    ).get_data(as_text=True)
    settle = _action(html, f"/payments/rounds/{rnd.id}/settle")
    assert _landed(client.post(settle)) == (f"/payments/rounds/{rnd.id}/deposits", state)


def test_mark_all_as_read_returns_to_the_page_of_notices(world, login):
    client = login(world.fleet)
    answer = client.post("/notices/read?page=2&per_page=1&other=x")
    assert _landed(answer) == ("/notices", {"page": ["2"], "per_page": ["1"]})


@pytest.mark.commits  # the award runs the solver job, which reports on a connection of its own
def test_a_status_the_list_does_not_offer_is_ignored_rather_than_emptying_the_list(world, login):
    # An edited or stale link (?status=approved) shows the whole list with "any" selected, as an unknown
    # sort does, instead of an empty list under a select that claims "any".
    rnd = make_contracting_round(world)
    client = login(world.fleet)
    url = f"/fleet/rounds/{rnd.id}/allocations"
    everything = client.get(url).get_data(as_text=True)
    edited = client.get(url + "?status=approved").get_data(as_text=True)
    ids = [a.public_id for a in contracting.fleet_results(rnd.id, world.fleet).allocations]
    assert ids and all(i in edited for i in ids)
    assert "selected" not in edited.split('id="status"')[1][:600]
    assert edited.count("<tr") == everything.count("<tr")
    # The demand lines of a round: the same with their own status list.
    open_round = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    lines = [make_line(open_round, world.fleet.organization, status=DemandStatus.DRAFT, quantity=n) for n in (3, 4)]
    page = client.get(f"/fleet/rounds/{open_round.id}?status=approved").get_data(as_text=True)
    assert all(f'id="line-{line.id}"' in page for line in lines)
    assert "selected" not in page.split('id="status"')[1][:600]
    drafts = client.get(f"/fleet/rounds/{open_round.id}?status=committed").get_data(as_text=True)
    assert not any(f'id="line-{line.id}"' in drafts for line in lines)  # an offered value still filters
