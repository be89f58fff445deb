"""The round lifecycle: the phase table, who may move a round, deadlines, settings."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import AuditEntry, DataVersion, Round, RoundPhase
from marketplace.services import rounds
from marketplace.services.errors import Conflict, Forbidden, ValidationFailed
from tests.factories import make_round, prepare_move

ALLOWED = sorted(rounds.TRANSITIONS, key=lambda pair: (pair[0].value, pair[1].value))
REFUSED = [
    (source, target) for source in RoundPhase for target in RoundPhase if (source, target) not in rounds.TRANSITIONS
]


def audit_count(round_id: int) -> int:
    return db.session.execute(
        sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.round_id == round_id)
    ).scalar_one()


def phase_of(round_id: int) -> RoundPhase:
    db.session.expire_all()
    return db.session.get(Round, round_id).phase


def test_phase_table_matches_the_domain():
    forward = [
        "draft", "demand_open", "demand_closed", "pooled", "tendering", "bids_closed", "awarded", "contracting", "closed",
    ]  # fmt: skip
    for a, b in itertools.pairwise(forward):
        assert (RoundPhase(a), RoundPhase(b)) in rounds.TRANSITIONS
    cancellable = {s for s, t in rounds.TRANSITIONS if t is RoundPhase.CANCELLED}
    assert cancellable == {RoundPhase(p) for p in forward[: forward.index("awarded")]}
    assert len(rounds.TRANSITIONS) == 8 + 6


# Awarding previews the award's figures, which the read-model store writes on a connection of its own.
@pytest.mark.parametrize(
    ("source", "target"),
    [pytest.param(s, t, marks=[pytest.mark.commits] if t is RoundPhase.AWARDED else []) for s, t in ALLOWED],
    ids=lambda p: p.value,
)
def test_every_allowed_transition_works_from_the_dashboard_and_writes_one_audit_entry(world, login, source, target):
    rnd = make_round(world.coordinator, source)
    prepare_move(rnd, target)
    before = audit_count(rnd.id)
    client = login(world.coordinator)
    # The dashboard's button opens the confirmation step; an unconfirmed POST changes nothing.
    confirm_url = f"/coordinator/rounds/{rnd.id}/move/{target.value}?back=dashboard"
    if rounds.TRANSITIONS[source, target].page is None:  # the others are made on the pooling or scenarios page
        assert confirm_url.encode() in client.get("/coordinator/").data.replace(b"&amp;", b"&")
        step = client.get(confirm_url)
        assert step.status_code == 200 and b'name="confirm"' in step.data
    unconfirmed = client.post(f"/coordinator/rounds/{rnd.id}/transition", data={"target": target.value})
    if rounds.TRANSITIONS[source, target].page is None:
        assert unconfirmed.status_code == 400 and b"Tick the box to confirm" in unconfirmed.data
    else:
        assert unconfirmed.status_code in (400, 409)
    assert phase_of(rnd.id) is source and audit_count(rnd.id) == before
    response = client.post(
        f"/coordinator/rounds/{rnd.id}/transition", data={"target": target.value, "back": "dashboard", "confirm": "y"}
    )
    assert response.status_code == 302
    assert phase_of(rnd.id) is target
    assert audit_count(rnd.id) == before + 1
    entry = db.session.execute(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).scalars().first()
    assert entry.action == "round.transition"
    assert entry.actor_id == world.coordinator.id
    assert entry.before == {"phase": source.value}
    assert entry.after["phase"] == target.value
    page = client.get("/coordinator/")
    assert f"is now in phase “{target.label}”".encode() in page.data


@pytest.mark.parametrize(("source", "target"), REFUSED, ids=lambda p: p.value)
def test_every_other_transition_is_refused_and_changes_nothing(world, source, target):
    rnd = make_round(world.coordinator, source)
    before = audit_count(rnd.id)
    with pytest.raises(Conflict, match="cannot move to"):
        rounds.transition(rnd.id, target, world.coordinator)
    assert phase_of(rnd.id) is source
    assert audit_count(rnd.id) == before


def test_a_refused_transition_over_http_is_409_with_a_clear_message(world, login):
    rnd = make_round(world.coordinator, RoundPhase.DRAFT)
    response = login(world.coordinator).post(f"/coordinator/rounds/{rnd.id}/transition", data={"target": "awarded"})
    assert response.status_code == 409
    assert "A round in phase “Draft” cannot move to “Awarded”" in response.get_data(as_text=True)
    assert phase_of(rnd.id) is RoundPhase.DRAFT


def test_an_unknown_phase_is_a_400(world, login):
    rnd = make_round(world.coordinator)
    response = login(world.coordinator).post(f"/coordinator/rounds/{rnd.id}/transition", data={"target": "paid"})
    assert response.status_code == 400
    assert "is not a phase" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["fleet", "oem"])
def test_fleets_and_oems_cannot_move_a_round(world, login, role):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    before = audit_count(rnd.id)
    user = getattr(world, role)
    with pytest.raises(Forbidden):
        rounds.transition(rnd.id, RoundPhase.DEMAND_CLOSED, user)
    response = login(user).post(f"/coordinator/rounds/{rnd.id}/transition", data={"target": "demand_closed"})
    assert response.status_code == 403
    assert phase_of(rnd.id) is RoundPhase.DEMAND_OPEN
    assert audit_count(rnd.id) == before


def test_opening_demand_needs_scope_and_a_future_deadline(world, frozen_clock):
    rnd = make_round(world.coordinator, demand_deadline=None)
    with pytest.raises(Conflict, match="set a demand deadline"):
        rounds.transition(rnd.id, RoundPhase.DEMAND_OPEN, world.coordinator)
    past = make_round(world.coordinator, demand_deadline=frozen_clock.now() + timedelta(hours=1))
    frozen_clock.freeze(frozen_clock.now() + timedelta(hours=2))
    with pytest.raises(Conflict, match="already passed"):
        rounds.transition(past.id, RoundPhase.DEMAND_OPEN, world.coordinator)
    assert phase_of(past.id) is RoundPhase.DRAFT


@pytest.mark.parametrize(
    ("source", "target", "needs"),
    [
        (RoundPhase.DEMAND_CLOSED, RoundPhase.POOLED, "run pooling first"),
        (RoundPhase.POOLED, RoundPhase.TENDERING, "choose the pooling run to publish"),
        (RoundPhase.BIDS_CLOSED, RoundPhase.AWARDED, "choose the award scenario to publish"),
    ],
)
def test_moves_that_publish_something_need_it_first(world, source, target, needs):
    rnd = make_round(world.coordinator, source)
    rnd.published_pooling_run_id = None if target is RoundPhase.TENDERING else rnd.published_pooling_run_id
    db.session.commit()
    if target is RoundPhase.POOLED:
        assert rounds.allowed_transitions(rnd)[0].page == "coordinator.pooling_page"
    with pytest.raises(Conflict, match=needs):
        rounds.transition(rnd.id, target, world.coordinator)
    assert phase_of(rnd.id) is source


def test_opening_confirmations_sets_the_deadline_from_the_period(world, frozen_clock):
    at = datetime(2027, 3, 1, 12, 0, 0, tzinfo=UTC)
    frozen_clock.freeze(at)
    rnd = make_round(world.coordinator, RoundPhase.AWARDED, confirmation_deadline=None, confirmation_period_days=10)
    rounds.transition(rnd.id, RoundPhase.CONTRACTING, world.coordinator)
    db.session.expire_all()
    assert db.session.get(Round, rnd.id).confirmation_deadline == at + timedelta(days=10)


# ------------------------------------------------------------------ deadlines


@pytest.mark.parametrize(
    ("phase", "attr", "after"),
    [
        (RoundPhase.DEMAND_OPEN, "demand_deadline", RoundPhase.DEMAND_CLOSED),
        (RoundPhase.TENDERING, "bid_deadline", RoundPhase.BIDS_CLOSED),
        (RoundPhase.CONTRACTING, "confirmation_deadline", RoundPhase.CLOSED),
    ],
)
def test_a_deadline_takes_effect_to_the_second_without_anyone_clicking(world, login, frozen_clock, phase, attr, after):
    from marketplace.jobs import advance_deadlines

    start = datetime(2027, 1, 10, 9, 0, 0, tzinfo=UTC)
    frozen_clock.freeze(start)
    rnd = make_round(world.coordinator, phase)
    deadline = getattr(rnd, attr)
    client = login(world.coordinator)

    frozen_clock.freeze(deadline - timedelta(seconds=1))
    assert f"phase-{phase.value}" in client.get(f"/coordinator/rounds/{rnd.id}").get_data(as_text=True)

    frozen_clock.freeze(deadline)
    before = audit_count(rnd.id)
    # At the deadline second every reader sees the next phase; nobody clicked anything.
    page = client.get(f"/coordinator/rounds/{rnd.id}").get_data(as_text=True)
    assert f"phase-{after.value}" in page and f"phase-{phase.value}" not in page
    # The periodic job stores the move, audited once however many times it runs or pages are read.
    advance_deadlines.call_local()
    advance_deadlines.call_local()
    client.get(f"/coordinator/rounds/{rnd.id}")
    assert phase_of(rnd.id) is after
    assert audit_count(rnd.id) == before + 1
    entry = db.session.execute(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).scalars().first()
    assert entry.actor_id is None
    assert "passed" in entry.summary


def _database_state(round_id: int) -> tuple[object, ...]:
    db.session.expire_all()
    row = db.session.execute(sa.select(Round.phase, Round.phase_changed_at).where(Round.id == round_id)).one()
    versions = db.session.execute(sa.select(DataVersion.scope_id, DataVersion.version).order_by(DataVersion.scope_id))
    return tuple(row), audit_count(round_id), tuple(versions.all())


@pytest.mark.parametrize(
    ("phase", "attr", "after"),
    [
        (RoundPhase.DEMAND_OPEN, "demand_deadline", RoundPhase.DEMAND_CLOSED),
        (RoundPhase.TENDERING, "bid_deadline", RoundPhase.BIDS_CLOSED),
    ],
)
def test_a_read_leaves_the_database_unchanged(world, login, frozen_clock, phase, attr, after):
    """Pages, the API and the services' reads show the phase after a passed deadline but write nothing:
    the move is the periodic job's or the next write's."""
    frozen_clock.freeze(datetime(2027, 1, 10, 9, 0, 0, tzinfo=UTC))
    rnd = make_round(world.coordinator, phase)
    frozen_clock.freeze(getattr(rnd, attr) + timedelta(minutes=5))
    state = _database_state(rnd.id)

    assert rounds.load_round(rnd.id).phase is after
    assert {r.id: r.phase for r in rounds.visible_rounds(world.coordinator)}[rnd.id] is after
    assert rounds.ended_at(rounds.load_round(rnd.id), phase) == getattr(rnd, attr)
    db.session.commit()  # whatever the reads left in the session would be written now
    coordinator = login(world.coordinator)
    for url in ("/coordinator/", f"/coordinator/rounds/{rnd.id}", f"/coordinator/rounds/{rnd.id}/pooling"):
        page = coordinator.get(url)
        assert page.status_code == 200, url
        assert f"phase-{after.value}" in page.get_data(as_text=True), url
    for user, url in ((world.fleet, "/fleet/"), (world.oem, "/oem/")):
        assert login(user).get(url).status_code == 200
    assert _database_state(rnd.id) == state

    # The next write moves the round first, under its lock, and audits the move once.
    with pytest.raises(Conflict):
        rounds.transition(rnd.id, phase, world.coordinator)
    assert phase_of(rnd.id) is after
    assert audit_count(rnd.id) == state[1] + 1


def test_the_periodic_job_moves_rounds_whose_deadline_passed(world, frozen_clock):
    from marketplace.jobs import advance_deadlines

    frozen_clock.freeze(datetime(2027, 1, 10, 9, 0, 0, tzinfo=UTC))
    due = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    not_due = make_round(
        world.coordinator, RoundPhase.DEMAND_OPEN, demand_deadline=due.demand_deadline + timedelta(days=1)
    )
    frozen_clock.freeze(due.demand_deadline + timedelta(minutes=1))
    advance_deadlines.call_local()
    assert phase_of(due.id) is RoundPhase.DEMAND_CLOSED
    assert phase_of(not_due.id) is RoundPhase.DEMAND_OPEN


def test_a_write_after_the_deadline_is_refused_even_before_the_round_moved(world, frozen_clock):
    frozen_clock.freeze(datetime(2027, 1, 10, 9, 0, 0, tzinfo=UTC))
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    frozen_clock.freeze(rnd.demand_deadline)
    with pytest.raises(Conflict, match="Demand closed"):
        rounds.require_phase(db.session.get(Round, rnd.id), RoundPhase.DEMAND_OPEN, doing="post demand")


def test_a_transition_after_the_deadline_sees_the_moved_round(world, frozen_clock):
    frozen_clock.freeze(datetime(2027, 1, 10, 9, 0, 0, tzinfo=UTC))
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    frozen_clock.freeze(rnd.demand_deadline + timedelta(hours=1))
    # "Close demand" is no longer possible: the deadline already closed it; the deadline's move stands.
    with pytest.raises(Conflict):
        rounds.transition(rnd.id, RoundPhase.DEMAND_CLOSED, world.coordinator)
    assert phase_of(rnd.id) is RoundPhase.DEMAND_CLOSED
    prepare_move(rnd, RoundPhase.POOLED)
    rounds.transition(rnd.id, RoundPhase.POOLED, world.coordinator)
    assert phase_of(rnd.id) is RoundPhase.POOLED


# ------------------------------------------------------------------ settings


def test_settings_validation_names_every_problem_at_once(world):
    make_round(world.coordinator, name="Taken")
    now = datetime.now(UTC)
    bad = rounds.RoundSettings(
        name="Taken",
        segment_ids=["no_such_segment"],
        region_ids=["XX"],
        demand_deadline=now + timedelta(days=5),
        bid_deadline=now + timedelta(days=1),
        min_lot_quantity=50,
        max_lot_quantity=10,
        currency="dollars",
    )
    with pytest.raises(ValidationFailed) as exc:
        rounds.create_round(bad, world.coordinator)
    assert set(exc.value.field_errors) == {
        "name", "segment_ids", "region_ids", "bid_deadline", "max_lot_quantity", "currency",
    }  # fmt: skip
    assert db.session.execute(sa.select(sa.func.count(Round.id))).scalar_one() == 1


def test_rules_are_frozen_once_demand_opens(world):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    settings = rounds.settings_of(rnd)
    settings.min_lot_quantity = 5
    with pytest.raises(Conflict, match="frozen"):
        rounds.update_round(rnd.id, settings, world.coordinator)


def test_editing_a_draft_records_what_changed(world):
    rnd = make_round(world.coordinator)
    settings = rounds.settings_of(rnd)
    settings.max_winners_per_lot = 3
    rounds.update_round(rnd.id, settings, world.coordinator)
    entry = db.session.execute(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).scalars().first()
    assert entry.action == "round.update"
    assert entry.before == {"max_winners_per_lot": 2}
    assert entry.after == {"max_winners_per_lot": 3}


def test_the_round_form_keeps_what_was_typed_and_marks_each_field(world, login):
    client = login(world.coordinator)
    response = client.post(
        "/coordinator/rounds/new",
        data={
            "name": "EU refuse 2028", "segment_ids": ["refuse_truck"], "region_ids": ["m49-150"],
            "demand_deadline": "2030-01-10T12:00", "bid_deadline": "2030-01-01T12:00",
            "confirmation_period_days": "14", "min_lot_quantity": "30", "max_lot_quantity": "10",
            "max_levels_up": "2", "max_winners_per_lot": "2", "max_share_percent": "100",
            "line_service": "whole", "currency": "EUR", "deposit_per_vehicle": "250.00",
            "decline_forfeit_percent": "100", "withdrawal_forfeit_percent": "0",
        },
    )  # fmt: skip
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Must be after the demand deadline." in text
    assert "Must be at least the minimum lot size." in text
    assert 'value="EU refuse 2028"' in text
    assert db.session.execute(sa.select(sa.func.count(Round.id))).scalar_one() == 0


def test_a_coordinator_creates_a_round_in_their_time_zone(world, login):
    world.coordinator.time_zone = "America/Los_Angeles"
    db.session.commit()
    client = login(world.coordinator)
    response = client.post(
        "/coordinator/rounds/new",
        data={
            "name": "Bay Area vans", "segment_ids": ["cargo_van"], "region_ids": ["US-CA"],
            "demand_deadline": "2030-01-10T12:00", "confirmation_period_days": "14",
            "min_lot_quantity": "20", "max_lot_quantity": "400", "max_levels_up": "2", "max_winners_per_lot": "2",
            "max_share_percent": "50", "line_service": "split", "currency": "USD", "deposit_per_vehicle": "500",
            "decline_forfeit_percent": "100", "withdrawal_forfeit_percent": "0",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)
    rnd = db.session.execute(sa.select(Round)).scalar_one()
    assert rnd.demand_deadline == datetime(2030, 1, 10, 20, 0, tzinfo=UTC)  # 12:00 PST is 20:00 UTC
    assert str(rnd.max_share_per_supplier) == "0.500"
    assert rnd.line_service.value == "split"


@pytest.mark.commits  # opens a connection of its own (tests/conftest.py)
def test_the_audit_log_is_append_only(world):
    rnd = make_round(world.coordinator)
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.round_id == rnd.id)).scalars().first()
    entry.summary = "rewritten"
    with pytest.raises(PermissionError):
        db.session.commit()
    db.session.rollback()
    # The database refuses too, whatever the ORM does.
    with pytest.raises(sa.exc.DatabaseError), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_entry SET summary = 'x'"))


@pytest.mark.parametrize("phase", list(RoundPhase), ids=lambda p: p.value)
def test_every_page_of_a_round_renders_in_every_phase(world, login, phase):
    rnd = make_round(world.coordinator, phase)
    client = login(world.coordinator)
    for url in ("/coordinator/", f"/coordinator/rounds/{rnd.id}", f"/coordinator/rounds/{rnd.id}/pooling"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
    for user, url in ((world.fleet, "/fleet/"), (world.oem, "/oem/")):
        assert login(user).get(url).status_code == 200


def test_only_rounds_lock_locks_a_round_row():
    """Every write use case locks its round through rounds.lock (read afresh, deadlines moved, FOR NO KEY
    UPDATE); an ad-hoc `select(Round)...with_for_update()` elsewhere would bypass all three."""
    import ast
    from pathlib import Path

    def selects_round(node: ast.AST) -> bool:
        return any(
            isinstance(n, ast.Call)
            and getattr(n.func, "attr", getattr(n.func, "id", None)) in ("select", "get")
            and any(isinstance(a, ast.Name) and a.id == "Round" for a in n.args)
            for n in ast.walk(node)
        )

    root = Path(__file__).resolve().parents[1] / "marketplace"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            locks = getattr(node.func, "attr", None) == "with_for_update" or any(
                k.arg == "with_for_update" for k in node.keywords
            )
            if locks and selects_round(node) and path.name != "rounds.py":
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == [], "lock the round with rounds.lock instead"
