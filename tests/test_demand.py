"""Demand lines by form: every rule of every field, the phase and deadline to the second, ownership, commit, withdraw."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import AuditEntry, DemandLine, DemandStatus, RoundPhase
from marketplace.services import access, demand, rounds
from marketplace.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.demand_helpers import NOW, form_data, open_round, valid_values
from tests.factories import make_line, make_round


@pytest.fixture(autouse=True)
def fixed_clock(frozen_clock):
    frozen_clock.freeze(NOW)
    return frozen_clock


@pytest.fixture
def rnd(world):
    return open_round(world, region_ids=["US-CA", "US-TX"])


def audit_actions() -> list[str]:
    return list(db.session.execute(sa.select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


# ---------------------------------------------------------------- create and check


def test_a_fleet_posts_a_line_as_a_draft_with_an_audit_entry(world, rnd):
    line = demand.create_line(rnd.id, valid_values(charging=["MCS", "CCS1"], note=" Depot at Long Beach "), world.fleet)
    assert line.status is DemandStatus.DRAFT
    assert line.organization_id == world.fleet.organization_id
    assert (line.quantity, line.min_range_km, line.max_unit_price) == (10, 200, Decimal("250000.00"))
    assert line.charging == ["CCS1", "MCS"]  # in the standards' order
    assert line.note == "Depot at Long Beach"
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "demand.create")).scalar_one()
    assert entry.after["quantity"] == 10 and entry.before is None and entry.round_id == rnd.id


def test_names_are_accepted_for_segment_and_region(world, rnd):
    line = demand.create_line(
        rnd.id, valid_values(segment="Transit bus", region="texas", charging="ccs1; j3105"), world.fleet
    )
    assert (line.segment_id, line.region_id, line.charging) == ("transit_bus", "US-TX", ["CCS1", "J3105"])


BAD_FIELDS = [
    ("segment", "", "Choose a segment."),
    ("segment", "refuse_truck", "“refuse_truck” is not a segment of this round"),
    ("region", "", "Choose a region."),
    ("region", "us-ny-new-york", "“us-ny-new-york” is not a region within this round's scope (California, Texas)"),
    ("region", "US", "is not a region within this round's scope"),  # above the scope
    ("region", "Atlantis", "is not a region within this round's scope"),
    ("quantity", "0", "Must be a whole number above 0."),
    ("quantity", "-3", "Must be a whole number above 0."),
    ("quantity", "2.5", "Must be a whole number above 0."),
    ("quantity", "ten", "Must be a whole number above 0."),
    ("quantity", "", "Must be a whole number above 0."),
    ("quantity", "1000000", "Must be at most 100,000."),
    ("earliest_quarter", "", "Give a quarter such as 2027Q2."),
    ("earliest_quarter", "2027-05", "“2027-05” is not a quarter: write it like 2027Q2."),
    ("earliest_quarter", "2027Q5", "is not a quarter"),
    ("earliest_quarter", "2026Q4", "2026Q4 is in the past (this is 2027Q1)."),
    ("latest_quarter", "2027Q1", "Must not be before the earliest quarter (2027Q2)."),
    ("latest_quarter", "soon", "is not a quarter"),
    ("min_range_km", "-1", "Must be a whole number, 0 or more."),
    ("min_range_km", "250.5", "Must be a whole number, 0 or more."),
    ("min_payload_kg", "heavy", "Must be a whole number, 0 or more."),
    ("charging", [], "Accept at least one charging standard."),
    ("charging", ["CCS1", "Tesla plug"], "“Tesla plug” is not a charging standard: use CCS1, CCS2"),
    ("max_unit_price", "0", "Must be above 0 USD."),
    ("max_unit_price", "-5", "Must be above 0 USD."),
    ("max_unit_price", "12.345", "More than 2 decimals: prices are exact to the cent."),
    ("max_unit_price", "cheap", "Must be an amount in USD above 0"),
    ("max_unit_price", "", "Must be an amount in USD above 0"),
    ("max_unit_price", "100000000", "Must be below 100,000,000 USD."),
    ("splittable", "perhaps", "Answer yes or no."),
    ("note", "x" * 501, "Must be at most 500 characters (it has 501)."),
]


def test_each_field_has_a_message_naming_the_problem(world, rnd):
    # One round for every case (a world per case made this the slowest test file); each case goes
    # through the service, and nothing may be saved.
    wrong = []
    for name, value, message in BAD_FIELDS:
        try:
            demand.create_line(rnd.id, valid_values(**{name: value}), world.fleet)
        except ValidationFailed as exc:
            if set(exc.field_errors) != {name} or message not in exc.field_errors[name]:
                wrong.append(f"{name}={value!r:.40}: {exc.field_errors}")
        else:
            wrong.append(f"{name}={value!r:.40}: accepted")
    assert wrong == []
    assert db.session.execute(sa.select(sa.func.count(DemandLine.id))).scalar_one() == 0


def test_every_problem_is_reported_at_once(world, rnd):
    with pytest.raises(ValidationFailed) as caught:
        demand.create_line(rnd.id, valid_values(quantity="0", region="", charging=[], note="n" * 600), world.fleet)
    assert set(caught.value.field_errors) == {"quantity", "region", "charging", "note"}


def test_a_price_to_the_cent_and_a_note_of_500_characters_are_fine(world, rnd):
    line = demand.create_line(rnd.id, valid_values(max_unit_price="249999.5", note="n" * 500), world.fleet)
    assert line.max_unit_price == Decimal("249999.50")


def test_the_current_quarter_is_not_the_past(world, rnd):
    line = demand.create_line(rnd.id, valid_values(earliest_quarter="2027q1", latest_quarter="2027Q1"), world.fleet)
    assert (line.earliest_quarter, line.latest_quarter) == ("2027Q1", "2027Q1")


# ---------------------------------------------------------------- who and when


def test_oem_and_coordinator_cannot_post_demand(world, rnd):
    for user in (world.oem, world.coordinator, None):
        with pytest.raises(Forbidden, match="Only a fleet can post demand"):
            demand.create_line(rnd.id, valid_values(), user)


def test_a_draft_round_does_not_exist_for_a_fleet(world):
    draft = make_round(world.coordinator, RoundPhase.DRAFT)
    with pytest.raises(NotFound):
        demand.create_line(draft.id, valid_values(), world.fleet)


def test_the_demand_deadline_holds_to_the_second(world, fixed_clock):
    deadline = NOW + timedelta(hours=1)
    rnd = open_round(world, demand_deadline=deadline)
    fixed_clock.freeze(deadline - timedelta(seconds=1))
    line = demand.create_line(rnd.id, valid_values(), world.fleet)
    fixed_clock.freeze(deadline)
    with pytest.raises(Conflict, match="You cannot post demand now: the round is in phase “Demand closed”"):
        demand.create_line(rnd.id, valid_values(), world.fleet)
    for attempt in (
        lambda: demand.update_line(line.id, valid_values(quantity="3"), world.fleet),
        lambda: demand.withdraw_line(line.id, world.fleet),
        lambda: demand.commit_lines(rnd.id, None, world.fleet),
    ):
        with pytest.raises(Conflict):
            attempt()
    assert db.session.get(DemandLine, line.id).quantity == 10
    assert db.session.get(DemandLine, line.id).status is DemandStatus.DRAFT


def test_another_fleets_line_does_not_exist(world, rnd):
    line = demand.create_line(rnd.id, valid_values(), world.fleet)
    for attempt in (
        lambda: demand.update_line(line.id, valid_values(quantity="1"), world.other_fleet),
        lambda: demand.withdraw_line(line.id, world.other_fleet),
        lambda: access.own_line(world.other_fleet, line.id),
    ):
        with pytest.raises(NotFound):
            attempt()
    with pytest.raises(Conflict):  # its id in another fleet's commit changes nothing
        demand.commit_lines(rnd.id, [line.id], world.other_fleet)
    assert db.session.get(DemandLine, line.id).status is DemandStatus.DRAFT


# ---------------------------------------------------------------- edit, withdraw, commit


def test_edit_records_only_what_changed(world, rnd):
    line = demand.create_line(rnd.id, valid_values(), world.fleet)
    demand.update_line(line.id, valid_values(quantity="14", latest_quarter="2028Q1"), world.fleet)
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "demand.update")).scalar_one()
    assert entry.before == {"quantity": 10, "latest_quarter": "2027Q4"}
    assert entry.after == {"quantity": 14, "latest_quarter": "2028Q1"}
    with pytest.raises(ValidationFailed) as caught:
        demand.update_line(line.id, valid_values(quantity="x"), world.fleet)
    assert "quantity" in caught.value.field_errors
    assert db.session.get(DemandLine, line.id).quantity == 14


def test_withdraw_keeps_the_line_and_refuses_twice(world, rnd):
    line = demand.create_line(rnd.id, valid_values(), world.fleet)
    demand.commit_lines(rnd.id, [line.id], world.fleet)
    demand.withdraw_line(line.id, world.fleet)  # a committed line can be withdrawn while demand is open
    assert db.session.get(DemandLine, line.id).status is DemandStatus.WITHDRAWN
    with pytest.raises(Conflict, match="already withdrawn"):
        demand.withdraw_line(line.id, world.fleet)
    with pytest.raises(Conflict, match="withdrawn"):
        demand.update_line(line.id, valid_values(), world.fleet)
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "demand.withdraw")).scalar_one()
    assert (entry.before, entry.after) == ({"status": "committed"}, {"status": "withdrawn"})


def test_commit_without_a_deposit_commits_at_once(world, rnd):
    a = demand.create_line(rnd.id, valid_values(), world.fleet)
    b = demand.create_line(rnd.id, valid_values(quantity="4"), world.fleet)
    result = demand.commit_lines(rnd.id, [a.id], world.fleet)
    assert [line.id for line in result.committed] == [a.id] and not result.without_deposit
    assert db.session.get(DemandLine, a.id).committed_at == NOW
    assert db.session.get(DemandLine, b.id).status is DemandStatus.DRAFT
    with pytest.raises(Conflict):  # already committed
        demand.commit_lines(rnd.id, [a.id], world.fleet)
    result = demand.commit_lines(rnd.id, None, world.fleet)  # all draft lines
    assert [line.id for line in result.committed] == [b.id]
    with pytest.raises(Conflict, match="no draft lines"):
        demand.commit_lines(rnd.id, None, world.fleet)
    assert audit_actions().count("demand.commit") == 2


def test_with_payments_off_a_deposit_round_commits_and_says_so(world):
    rnd = open_round(world, deposit_per_vehicle=Decimal("500"), region_ids=["US-CA"])
    line = demand.create_line(rnd.id, valid_values(), world.fleet)
    result = demand.commit_lines(rnd.id, [line.id], world.fleet)
    assert result.without_deposit and result.committed
    assert db.session.get(DemandLine, line.id).status is DemandStatus.COMMITTED
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "demand.commit")).scalar_one()
    assert "payments off: committed without a deposit" in entry.summary


def test_with_payments_on_a_deposit_round_leaves_lines_waiting(app, world):
    from marketplace import gateways
    from marketplace.models import Deposit
    from tests.fake_gateway import FakeGateway

    app.config["STRIPE_SECRET_KEY"] = "sk_test_x"
    gateways.use(FakeGateway())  # the deposit's hold is asked of a fake Stripe
    try:
        rnd = open_round(world, deposit_per_vehicle=Decimal("500"), region_ids=["US-CA"])
        line = demand.create_line(rnd.id, valid_values(), world.fleet)
        result = demand.commit_lines(rnd.id, [line.id], world.fleet)
        assert result.awaiting_deposit == [line] and not result.committed
        assert db.session.get(DemandLine, line.id).status is DemandStatus.DRAFT
        deposit = db.session.execute(sa.select(Deposit)).scalar_one()
        assert deposit.demand_line_id == line.id and deposit.state.value == "pending"
    finally:
        gateways.use(None)


def test_a_committed_line_with_a_held_deposit_cannot_grow(app, world):
    app.config["STRIPE_SECRET_KEY"] = "sk_test_x"
    rnd = open_round(world, deposit_per_vehicle=Decimal("500"), region_ids=["US-CA"])
    line = make_line(rnd, world.fleet.organization, quantity=5, earliest_quarter="2027Q2", latest_quarter="2027Q4")
    with pytest.raises(ValidationFailed) as caught:
        demand.update_line(line.id, valid_values(quantity="6"), world.fleet)
    assert "Its deposit covers 5 vehicles" in caught.value.field_errors["quantity"]
    demand.update_line(line.id, valid_values(quantity="4"), world.fleet)


def test_demand_closed_by_hand_refuses_changes(world, rnd):
    line = demand.create_line(rnd.id, valid_values(), world.fleet)
    rounds.transition(rnd.id, RoundPhase.DEMAND_CLOSED, world.coordinator)
    with pytest.raises(Conflict, match="edit demand"):
        demand.update_line(line.id, valid_values(), world.fleet)


# ---------------------------------------------------------------- pages


def test_the_round_page_lists_only_the_fleets_own_lines(world, login, rnd):
    make_line(rnd, world.fleet.organization, quantity=7, note="mine", earliest_quarter="2027Q2")
    make_line(rnd, world.other_fleet.organization, quantity=9, note="theirs", earliest_quarter="2027Q2")
    client = login(world.fleet)
    page = client.get(f"/fleet/rounds/{rnd.id}").get_data(as_text=True)
    assert "mine" in page and "theirs" not in page
    assert world.other_fleet.organization.name not in page
    assert "16 of 20 vehicles could pool" in page  # totals only


def test_posting_by_form_shows_field_errors_and_keeps_what_was_typed(world, login, rnd):
    client = login(world.fleet)
    form = form_data(quantity="0", note="keep me")
    response = client.post(f"/fleet/rounds/{rnd.id}/lines/new", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Must be a whole number above 0." in page and "keep me" in page
    response = client.post(f"/fleet/rounds/{rnd.id}/lines/new", data=form_data(charging=["CCS1", "MCS"]))
    assert response.status_code == 302
    line = db.session.execute(sa.select(DemandLine)).scalar_one()
    assert line.charging == ["CCS1", "MCS"] and line.splittable is False
    assert client.get(f"/fleet/lines/{line.id}/edit").status_code == 200
    response = client.post(f"/fleet/lines/{line.id}/edit", data=form_data(quantity="12", splittable="y"))
    assert response.status_code == 302
    db.session.expire_all()
    assert (db.session.get(DemandLine, line.id).quantity, db.session.get(DemandLine, line.id).splittable) == (12, True)


def test_commit_and_withdraw_by_page(world, login):
    rnd = open_round(world, deposit_per_vehicle=Decimal("1000"), region_ids=["US-CA"])
    client = login(world.fleet)
    line = demand.create_line(rnd.id, valid_values(), world.fleet)
    page = client.get(f"/fleet/rounds/{rnd.id}").get_data(as_text=True)
    assert "payments off: committed without a deposit" in page
    response = client.post(f"/fleet/rounds/{rnd.id}/commit", data={"line_ids": [str(line.id)]}, follow_redirects=True)
    assert "Committed 1 line (10 vehicles): payments off: committed without a deposit." in response.get_data(
        as_text=True
    )
    page = client.get(f"/fleet/lines/{line.id}/withdraw").get_data(as_text=True)
    assert "keeps <strong>0 %</strong>" in page
    response = client.post(f"/fleet/lines/{line.id}/withdraw", follow_redirects=True)
    assert "Line withdrawn" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(DemandLine, line.id).status is DemandStatus.WITHDRAWN


def test_url_guessing_another_fleets_line_answers_404(world, login, rnd):
    line = make_line(rnd, world.other_fleet.organization, earliest_quarter="2027Q2", status=DemandStatus.DRAFT)
    client = login(world.fleet)
    assert client.get(f"/fleet/lines/{line.id}/edit").status_code == 404
    assert client.post(f"/fleet/lines/{line.id}/edit", data=form_data()).status_code == 404
    assert client.get(f"/fleet/lines/{line.id}/withdraw").status_code == 404
    assert client.post(f"/fleet/lines/{line.id}/withdraw").status_code == 404
    response = client.post(f"/fleet/rounds/{rnd.id}/commit", data={"line_ids": [str(line.id)]}, follow_redirects=True)
    assert "Some of the chosen lines are not draft lines of yours" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(DemandLine, line.id).status is DemandStatus.DRAFT


def test_commit_all_by_page_commits_every_draft_line_and_a_bad_id_commits_none(world, login):
    rnd = open_round(world, region_ids=["US-CA"])
    client = login(world.fleet)
    lines = [demand.create_line(rnd.id, valid_values(quantity=str(q)), world.fleet) for q in (3, 4)]
    refused = client.post(f"/fleet/rounds/{rnd.id}/commit", data={"line_ids": [str(lines[0].id), "1.0"]})
    assert refused.status_code == 302
    db.session.expire_all()
    assert {db.session.get(DemandLine, line.id).status for line in lines} == {DemandStatus.DRAFT}
    page = client.post(f"/fleet/rounds/{rnd.id}/commit", data={"all": "1"}, follow_redirects=True)
    assert "Committed 2 lines (7 vehicles)" in page.get_data(as_text=True)
