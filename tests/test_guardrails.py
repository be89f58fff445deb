"""Guardrails on the coordinator's irreversible moves, and the displays that state them.

Each move shows its consequences in numbers before the POST that makes it; a round cannot close with
pending allocations unless the coordinator treats them as declined with a reason; an award of no
vehicles or one leaving servable lines unserved needs a typed reason; a move that cannot be made
says what is missing and links to the fix; deadlines in the past are refused; pages show when a
phase really ended.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace import gateways
from marketplace.extensions import db
from marketplace.filters import count_of, localtime, number
from marketplace.models import Allocation, AuditEntry, ConfirmationStatus, DemandStatus, Round, RoundPhase
from marketplace.services import award, rounds
from marketplace.services.errors import ValidationFailed
from tests.deposit_helpers import deposit_round, held_deposit, ledger, publish_award
from tests.factories import make_bid, make_line, make_model, make_round, make_tender
from tests.fake_gateway import FakeGateway

C = ConfirmationStatus


@pytest.fixture
def fake(app):
    gw = FakeGateway()
    gateways.use(gw)
    app.config["STRIPE_SECRET_KEY"] = "sk_test_fake"
    yield gw
    gateways.use(None)


@pytest.fixture
def closed_tender(world):
    """Bids closed on two lots (40 vehicles in CA, 25 in TX); OEM A bids CA only, OEM B bids TX only."""
    rnd, (ca, tx) = make_tender(world.coordinator, world.fleet.organization)
    make_bid(world.oem, ca, make_model(world.oem.organization), tiers=((10, "230000"),))
    make_bid(world.other_oem, tx, make_model(world.other_oem.organization), tiers=((10, "240000"),))
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    return db.session.get(Round, rnd.id)


def phase_of(round_id: int) -> RoundPhase:
    db.session.expire_all()
    return db.session.get(Round, round_id).phase


# ---------------------------------------------------------------- closing with pending allocations


def test_closing_early_states_pending_allocations_and_deposits_then_declines_them_with_the_reason(world, fake, login):
    rnd = deposit_round(world)  # 1,234.56 per vehicle; a decline forfeits 25 %
    confirmed = held_deposit(rnd, world, "pm_card_visa", quantity=3)
    pending = held_deposit(rnd, world, "pm_card_visa", quantity=2, fleet="other_fleet")
    publish_award(
        rnd, world, {confirmed.demand_line_id: C.CONFIRMED, pending.demand_line_id: C.PENDING},
        phase=RoundPhase.CONTRACTING,
    )  # fmt: skip
    client = login(world.coordinator)
    page = client.get(f"/coordinator/rounds/{rnd.id}/move/closed")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "1 allocation (1 vehicle) still pending will count as declined." in text
    assert "1 deposit held (3,703.68 USD) on confirmed lines is captured" in text
    assert (
        "1 deposit held (2,469.12 USD) on declined lines: 617.28 USD forfeited (25 %), 1,851.84 USD released." in text
    )
    assert 'name="decline_pending"' in text and 'name="reason"' in text and 'name="confirm"' in text

    # Confirmed but without choosing to decline the pending allocation: refused, nothing changes.
    refused = client.post(f"/coordinator/rounds/{rnd.id}/transition", data={"target": "closed", "confirm": "y"})
    assert refused.status_code == 409
    assert "1 allocation (1 vehicle) is still pending before the confirmation deadline" in refused.get_data(
        as_text=True
    )
    assert "Say why the pending allocations are treated as declined." in refused.get_data(as_text=True)
    assert phase_of(rnd.id) is RoundPhase.CONTRACTING
    assert ledger(pending.id)["state"] == "held"

    done = client.post(
        f"/coordinator/rounds/{rnd.id}/transition",
        data={"target": "closed", "confirm": "y", "decline_pending": "y", "reason": "Fleet did not answer"},
    )
    assert done.status_code == 302
    assert phase_of(rnd.id) is RoundPhase.CLOSED
    states = db.session.execute(sa.select(Allocation.demand_line_id, Allocation.confirmation)).all()
    assert dict(states) == {confirmed.demand_line_id: C.CONFIRMED, pending.demand_line_id: C.DECLINED}
    # The deposits follow: the confirmed line's is applied, the declined one forfeits 25 %.
    assert ledger(confirmed.id)["state"] == "captured"
    assert ledger(pending.id)["state"] == "forfeited" and ledger(pending.id)["forfeited"] == "617.28"
    summaries = db.session.execute(
        sa.select(AuditEntry.summary).where(AuditEntry.round_id == rnd.id, AuditEntry.action == "allocation.decline")
    ).scalars()
    assert ["Fleet did not answer" in s for s in summaries] == [True]


@pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)
def test_the_report_of_a_closed_round_has_nothing_left_undecided(world):
    rnd, (ca, tx) = make_tender(world.coordinator, world.fleet.organization)
    make_bid(world.oem, ca, make_model(world.oem.organization))
    make_bid(world.other_oem, tx, make_model(world.other_oem.organization), tiers=((10, "240000"),))
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules())
    award.publish_scenario(scenario.id, world.coordinator)
    rounds.transition(rnd.id, RoundPhase.CONTRACTING, world.coordinator)
    rounds.transition(rnd.id, RoundPhase.CLOSED, world.coordinator, decline_pending_reason="Board decision")
    from marketplace.services import reports

    report = reports.round_report(db.session.get(Round, rnd.id))
    assert report.pending == 0


# ---------------------------------------------------------------- an empty or short award


@pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)
def test_an_award_of_no_vehicles_is_published_only_with_a_reason(world, closed_tender, login):
    everyone = [world.oem.organization_id, world.other_oem.organization_id]
    scenario = award.start_scenario(
        closed_tender.id, world.coordinator, award.ScenarioRules(name="Nobody", excluded_supplier_ids=everyone)
    )
    with pytest.raises(ValidationFailed, match="gives no vehicles"):
        award.publish_scenario(scenario.id, world.coordinator)
    assert phase_of(closed_tender.id) is RoundPhase.BIDS_CLOSED
    client = login(world.coordinator)
    page = client.get(f"/coordinator/scenarios/{scenario.id}/publish").get_data(as_text=True)
    assert "This award gives no vehicles to anyone." in page and 'name="reason"' in page
    refused = client.post(f"/coordinator/scenarios/{scenario.id}/publish", data={"confirm": "y", "reason": "  "})
    assert refused.status_code == 400
    assert "Say why this award is published anyway." in refused.get_data(as_text=True)
    assert phase_of(closed_tender.id) is RoundPhase.BIDS_CLOSED
    done = client.post(
        f"/coordinator/scenarios/{scenario.id}/publish", data={"confirm": "y", "reason": "Every bid broke the rules"}
    )
    assert done.status_code == 302
    assert phase_of(closed_tender.id) is RoundPhase.AWARDED
    entry = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.round_id == closed_tender.id, AuditEntry.action == "round.transition")
        .order_by(AuditEntry.id.desc())
    ).scalars().first()  # fmt: skip
    assert "Every bid broke the rules" in entry.summary


@pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)
def test_an_award_leaving_servable_lines_unserved_needs_a_reason(world, closed_tender):
    without_b = award.start_scenario(
        closed_tender.id, world.coordinator,
        award.ScenarioRules(name="Without B", excluded_supplier_ids=[world.other_oem.organization_id]),
    )  # fmt: skip
    db.session.expire_all()
    servable = award.servable_unserved(db.session.get(type(without_b), without_b.id))
    assert [u.quantity for u in servable] == [25]  # the TX line: B's bid could serve it
    with pytest.raises(ValidationFailed, match=r"leaves 1 line \(25 vehicles\) unserved that some bid could serve"):
        award.publish_scenario(without_b.id, world.coordinator)
    full = award.start_scenario(closed_tender.id, world.coordinator, award.ScenarioRules(name="Round rules"))
    assert award.servable_unserved(full) == []
    award.publish_scenario(full.id, world.coordinator)  # serves every line: no reason needed
    assert phase_of(closed_tender.id) is RoundPhase.AWARDED


# ---------------------------------------------------------------- the confirmation step


def test_every_wide_move_shows_its_consequences_before_a_post_makes_it(world, login, frozen_clock):
    # A frozen clock: the time left before the deadline is then exact, not "10 days" or "9 days
    # 23 hours" depending on how long the test took.
    frozen_clock.freeze(frozen_clock.now().replace(microsecond=0))
    rnd = make_round(
        world.coordinator,
        RoundPhase.DEMAND_OPEN,
        demand_deadline=frozen_clock.now() + timedelta(days=9, hours=23, minutes=30),
    )
    make_line(rnd, world.fleet.organization, quantity=12, status=DemandStatus.COMMITTED)
    make_line(rnd, world.other_fleet.organization, quantity=1, status=DemandStatus.COMMITTED)
    make_line(rnd, world.fleet.organization, quantity=5, status=DemandStatus.DRAFT)
    client = login(world.coordinator)
    page = client.get(f"/coordinator/rounds/{rnd.id}").get_data(as_text=True)
    # The round page offers links to the confirmation step, never a button that moves the round.
    assert f"/coordinator/rounds/{rnd.id}/move/demand_closed" in page
    assert f"/coordinator/rounds/{rnd.id}/move/cancelled" in page
    assert 'name="target"' not in page and "onclick" not in page
    close = client.get(f"/coordinator/rounds/{rnd.id}/move/demand_closed").get_data(as_text=True)
    assert "Demand closes now, 9 days 23 hours before the planned deadline." in close
    assert "2 committed lines (13 vehicles) from 2 fleets go to pooling." in close
    assert "1 draft line (5 vehicles) not committed stays out" in close
    cancel = client.get(f"/coordinator/rounds/{rnd.id}/move/cancelled").get_data(as_text=True)
    assert "2 committed lines (13 vehicles) from 2 fleets are dropped" in cancel
    assert 'type="checkbox"' in cancel and 'name="confirm"' in cancel
    # A careless POST (no ticked box) changes nothing.
    response = client.post(f"/coordinator/rounds/{rnd.id}/transition", data={"target": "cancelled"})
    assert response.status_code == 400
    assert "Tick the box to confirm: nothing was changed." in response.get_data(as_text=True)
    assert phase_of(rnd.id) is RoundPhase.DEMAND_OPEN


def test_opening_demand_without_a_deadline_says_what_is_missing_and_links_to_the_fix(world, login):
    rnd = make_round(world.coordinator, demand_deadline=None, bid_deadline=None, confirmation_deadline=None)
    client = login(world.coordinator)
    page = client.get(f"/coordinator/rounds/{rnd.id}/move/demand_open")
    text = page.get_data(as_text=True)
    assert page.status_code == 409
    assert "Set a demand deadline." in text
    assert f'href="/coordinator/rounds/{rnd.id}/edit"' in text
    assert 'name="confirm"' not in text  # nothing to confirm: the move cannot be made
    response = client.post(f"/coordinator/rounds/{rnd.id}/transition", data={"target": "demand_open", "confirm": "y"})
    assert response.status_code == 409
    assert f'href="/coordinator/rounds/{rnd.id}/edit"' in response.get_data(as_text=True)
    assert phase_of(rnd.id) is RoundPhase.DRAFT


def test_settings_refuse_deadlines_in_the_past_next_to_the_field(world, login):
    rnd = make_round(world.coordinator)
    planned = rnd.demand_deadline
    client = login(world.coordinator)
    response = client.post(
        f"/coordinator/rounds/{rnd.id}/edit",
        data={
            "name": rnd.name, "segment_ids": ["md_box_truck"], "region_ids": ["US"],
            "demand_deadline": "2020-01-10T12:00", "confirmation_period_days": "14",
            "min_lot_quantity": "20", "max_lot_quantity": "400", "max_levels_up": "2", "max_winners_per_lot": "2",
            "max_share_percent": "100", "line_service": "whole", "currency": "USD", "deposit_per_vehicle": "0",
            "decline_forfeit_percent": "100", "withdrawal_forfeit_percent": "0",
        },
    )  # fmt: skip
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    # The message sits under the demand deadline field.
    field_at = text.index('name="demand_deadline"')
    assert "This time has already passed: choose a later one." in text[field_at : field_at + 600]
    db.session.expire_all()
    assert db.session.get(Round, rnd.id).demand_deadline == planned


# ---------------------------------------------------------------- when a phase really ended


def test_pages_show_when_bidding_really_closed_after_an_early_close(world, login, frozen_clock):
    start = frozen_clock.now().replace(microsecond=0)
    frozen_clock.freeze(start)
    rnd, (ca, _) = make_tender(world.coordinator, world.fleet.organization)
    make_bid(world.oem, ca, make_model(world.oem.organization))
    closed = start + timedelta(hours=3)
    frozen_clock.freeze(closed)
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    frozen_clock.freeze(closed + timedelta(days=1))
    rnd = db.session.get(Round, rnd.id)
    assert rounds.ended_at(rnd, RoundPhase.TENDERING) == closed
    assert rnd.bid_deadline > closed
    page = login(world.oem).get(f"/oem/rounds/{rnd.id}").get_data(as_text=True)
    assert f'Bids closed <time datetime="{closed.isoformat()}"' in page
    assert "(early, planned " in page
    detail = login(world.coordinator).get(f"/coordinator/rounds/{rnd.id}").get_data(as_text=True)
    assert closed.isoformat() in detail and f"planned {localtime(rnd.bid_deadline)}" in detail


# ---------------------------------------------------------------- displays


def test_numbers_and_counts_are_written_as_people_write_them():
    assert number(Decimal("1E+2")) == "100"
    assert number(Decimal("12.50")) == "12.5"
    assert number(Decimal("1234567.5")) == "1,234,567.5"
    assert number(Decimal("-0.00")) == "0"
    assert count_of(1, "vehicle") == "1 vehicle" and count_of(1250, "vehicle") == "1,250 vehicles"


def test_pages_say_100_percent_one_vehicle_and_one_winner(world, fake, login):
    rnd = deposit_round(world, decline_forfeit_percent=Decimal("100"), max_winners_per_lot=1)
    make_line(rnd, world.fleet.organization, quantity=1, status=DemandStatus.COMMITTED)
    client = login(world.coordinator)
    deposits_page = client.get(f"/payments/rounds/{rnd.id}/deposits").get_data(as_text=True)
    assert "forfeits 100 %" in deposits_page and "E+" not in deposits_page
    detail = client.get(f"/coordinator/rounds/{rnd.id}").get_data(as_text=True)
    assert "at most 1 winner," in detail and "1 winners" not in detail
    assert "1 vehicle in 1 line" in detail.replace("\n", " ").replace("</span>", "").replace(
        '<span class="fs-5 text-body-secondary">', ""
    )
    dashboard = client.get("/coordinator/").get_data(as_text=True)
    assert "1 vehicle<br>" in dashboard and "1 vehicles" not in dashboard
