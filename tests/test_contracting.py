"""After the award: each side sees its own results; fleets confirm or decline before the deadline."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Allocation, AuditEntry, ConfirmationStatus, Round, RoundPhase
from marketplace.services import contracting, rounds
from marketplace.services.errors import Conflict, NotFound
from tests.factories import make_contracting_round, make_tender

pytestmark = pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)


@pytest.fixture
def awarded(world):
    return make_contracting_round(world)


def test_each_side_sees_only_its_own_results(world, awarded, login):
    mine = contracting.fleet_results(awarded.id, world.fleet)
    assert sorted((a.quantity, a.unit_price) for a in mine.allocations) == [
        (25, Decimal("240000.00")), (40, Decimal("230000.00")),
    ]  # fmt: skip
    assert contracting.fleet_results(awarded.id, world.other_fleet).allocations == []
    won = contracting.oem_results(awarded.id, world.oem)
    assert [(a.quantity, a.supplier.id) for a in won] == [(40, world.oem.organization_id)]
    page = login(world.oem).get(f"/oem/rounds/{awarded.id}/results").get_data(as_text=True)
    assert world.fleet.organization.name in page  # fleet names are visible after the award
    assert "240,000" not in page  # ...but never another OEM's price
    page = login(world.fleet).get(f"/fleet/rounds/{awarded.id}/allocations").get_data(as_text=True)
    assert "Confirm" in page and world.other_oem.organization.name in page
    # Both find their way there from their own pages.
    assert f"/fleet/rounds/{awarded.id}/allocations" in login(world.fleet).get(f"/fleet/rounds/{awarded.id}").get_data(
        as_text=True
    )
    assert f"/oem/rounds/{awarded.id}/results" in login(world.oem).get("/oem/").get_data(as_text=True)


def test_a_fleet_confirms_and_declines_once_each(world, awarded, login):
    first, second = contracting.fleet_results(awarded.id, world.fleet).allocations
    client = login(world.fleet)
    assert client.post(f"/fleet/allocations/{first.public_id}/confirm").status_code == 302
    assert client.post(f"/fleet/allocations/{second.public_id}/decline").status_code == 302
    db.session.expire_all()
    assert db.session.get(Allocation, first.id).confirmation is ConfirmationStatus.CONFIRMED
    assert db.session.get(Allocation, second.id).confirmation is ConfirmationStatus.DECLINED
    assert client.post(f"/fleet/allocations/{first.public_id}/decline").status_code == 409
    assert client.post(f"/fleet/allocations/{first.id}/decline").status_code == 404  # row ids address nothing
    page = client.get(f"/fleet/rounds/{awarded.id}/allocations").get_data(as_text=True)
    assert f'data-allocation="{first.public_id}"' in page and f'data-allocation="{first.id}"' not in page
    actions = db.session.execute(sa.select(AuditEntry.action).where(AuditEntry.round_id == awarded.id)).scalars()
    assert {"allocation.confirm", "allocation.decline"} <= set(actions)
    _, _, counts = contracting.all_allocations(awarded.id, world.coordinator)
    assert counts == {"confirmed": 1, "declined": 1}


def test_a_decision_returns_the_fleet_to_the_page_order_and_filter_it_had(world, awarded, login):
    """On page 2 of its pending allocations, sorted by price, a fleet confirms one: it lands on the same
    list, not on page 1 of everything (only the lists' own arguments are carried)."""
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    client = login(world.fleet)
    url = f"/fleet/rounds/{awarded.id}/allocations?status=pending&sort=price&dir=desc&per_page=1&page=2&out_page=1"
    page = client.get(url + "&next=https://evil.example/").get_data(as_text=True)
    action = unescape(next(a for a in re.findall(r'action="([^"]+)"', page) if "/confirm?" in a))
    answer = client.post(action)
    assert answer.status_code == 302
    landed = urlsplit(answer.headers["Location"])
    assert landed.path == f"/fleet/rounds/{awarded.id}/allocations"
    assert parse_qs(landed.query) == {
        "status": ["pending"], "sort": ["price"], "dir": ["desc"], "per_page": ["1"], "page": ["2"], "out_page": ["1"],
    }  # fmt: skip


def test_another_fleet_cannot_decide_and_gets_404(world, awarded, login):
    allocation = contracting.fleet_results(awarded.id, world.fleet).allocations[0]
    with pytest.raises(NotFound):
        contracting.decide(allocation.id, True, world.other_fleet)
    assert login(world.other_fleet).post(f"/fleet/allocations/{allocation.public_id}/confirm").status_code == 404
    assert db.session.get(Allocation, allocation.id).confirmation is ConfirmationStatus.PENDING


def test_the_confirmation_deadline_closes_decisions_to_the_second(world, awarded, frozen_clock):
    allocation = contracting.fleet_results(awarded.id, world.fleet).allocations[0]
    frozen_clock.freeze(awarded.confirmation_deadline - timedelta(seconds=1))
    contracting.decide(allocation.id, True, world.fleet)
    other = contracting.fleet_results(awarded.id, world.fleet).allocations[1]
    frozen_clock.freeze(awarded.confirmation_deadline)
    with pytest.raises(Conflict):
        contracting.decide(other.id, True, world.fleet)
    db.session.expire_all()
    assert db.session.get(Round, awarded.id).phase is RoundPhase.CLOSED
    # A lapse is a decline: no closed round keeps an undecided allocation.
    assert db.session.get(Allocation, other.id).confirmation is ConfirmationStatus.DECLINED


def test_results_are_hidden_until_the_award_is_published(world, login):
    rnd, _ = make_tender(world.coordinator, world.fleet.organization)
    with pytest.raises(Conflict, match="not published"):
        contracting.fleet_results(rnd.id, world.fleet)
    assert login(world.oem).get(f"/oem/rounds/{rnd.id}/results").status_code == 409


def test_a_round_cannot_close_early_while_allocations_are_pending(world, awarded):
    """Closing before the confirmation deadline with pending allocations is refused, and nothing changes."""
    with pytest.raises(Conflict, match=r"2 allocations \(65 vehicles\) are still pending"):
        rounds.transition(awarded.id, RoundPhase.CLOSED, world.coordinator)
    db.session.expire_all()
    assert db.session.get(Round, awarded.id).phase is RoundPhase.CONTRACTING
    assert contracting.pending_of(db.session.get(Round, awarded.id)) == (2, 65)


def test_closing_early_can_treat_pending_allocations_as_declined_with_a_reason(world, awarded, login):
    allocations = contracting.fleet_results(awarded.id, world.fleet).allocations
    contracting.decide(allocations[0].id, True, world.fleet)
    client = login(world.coordinator)
    # Without the reason the form is refused and the round stays open.
    response = client.post(
        f"/coordinator/rounds/{awarded.id}/transition",
        data={"target": "closed", "confirm": "y", "decline_pending": "y", "reason": " "},
    )
    assert response.status_code in (400, 409)
    assert db.session.get(Round, awarded.id).phase is RoundPhase.CONTRACTING
    response = client.post(
        f"/coordinator/rounds/{awarded.id}/transition",
        data={"target": "closed", "confirm": "y", "decline_pending": "y", "reason": "Fleet board vote postponed"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Round, awarded.id).phase is RoundPhase.CLOSED
    states = {a.id: db.session.get(Allocation, a.id).confirmation for a in allocations}
    assert states == {allocations[0].id: ConfirmationStatus.CONFIRMED, allocations[1].id: ConfirmationStatus.DECLINED}
    entries = (
        db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.round_id == awarded.id, AuditEntry.action == "allocation.decline")
        )
        .scalars()
        .all()
    )
    assert [e.actor_id for e in entries] == [world.coordinator.id]
    assert "Fleet board vote postponed" in entries[0].summary
    close = (
        db.session.execute(
            sa.select(AuditEntry)
            .where(AuditEntry.round_id == awarded.id, AuditEntry.action == "round.transition")
            .order_by(AuditEntry.id.desc())
        )
        .scalars()
        .first()
    )
    assert close.after == {"phase": "closed", "pending_declined": 1, "reason": "Fleet board vote postponed"}
    _, _, counts = contracting.all_allocations(awarded.id, world.coordinator)
    assert counts == {"confirmed": 1, "declined": 1}
