"""Clarifications: members ask privately; the coordinator's answer is published to all, without the asker."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import AuditEntry, Clarification, Notice, RoundPhase
from marketplace.services import clock
from tests.factories import make_line, make_model, make_round


def notices(user, kind):
    db.session.expire_all()
    return list(db.session.execute(sa.select(Notice).where(Notice.user_id == user.id, Notice.kind == kind)).scalars())


def test_a_question_is_private_until_answered_then_published_without_the_asker(world, client, login):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN, segment_ids=["md_box_truck"])
    make_line(rnd, world.other_fleet.organization)
    make_model(world.oem.organization)
    c = login(world.fleet)
    response = c.post(f"/rounds/{rnd.id}/questions", data={"question": "Is CCS2 accepted for depot charging?"})
    assert response.status_code == 302
    assert "Is CCS2 accepted" in c.get(f"/rounds/{rnd.id}/questions").get_data(as_text=True)
    # Not answered: another member does not see it; the coordinator sees who asked and is told.
    other = login(world.other_fleet).get(f"/rounds/{rnd.id}/questions").get_data(as_text=True)
    assert "Is CCS2 accepted" not in other
    assert len(notices(world.coordinator, "clarification_asked")) == 1
    coordinator = login(world.coordinator)
    page = coordinator.get(f"/rounds/{rnd.id}/questions").get_data(as_text=True)
    assert "Is CCS2 accepted" in page and world.fleet.organization.name in page
    item = db.session.execute(sa.select(Clarification)).scalar_one()
    response = coordinator.post(f"/questions/{item.id}/answer", data={f"a{item.id}-answer": "Yes, CCS1 and CCS2."})
    assert response.status_code == 302
    # Published to every participant, without the asker's name, with a notice.
    for user in (world.other_fleet, world.oem, world.fleet):
        page = login(user).get(f"/rounds/{rnd.id}/questions").get_data(as_text=True)
        assert "Is CCS2 accepted" in page and "Yes, CCS1 and CCS2." in page
        assert world.fleet.organization.name not in page.split("</nav>", 1)[1] or user is world.fleet
        answered = notices(user, "clarification_answered")
        assert len(answered) == 1 and "Yes, CCS1 and CCS2." in answered[0].body
        assert world.fleet.organization.name not in answered[0].title + answered[0].body
    actions = set(db.session.execute(sa.select(AuditEntry.action)).scalars())
    assert {"clarification.ask", "clarification.answer"} <= actions
    # Answered once: a second answer is refused and the published one stays.
    coordinator = login(world.coordinator)
    assert coordinator.post(f"/questions/{item.id}/answer", data={f"a{item.id}-answer": "No."}).status_code == 409
    db.session.expire_all()
    assert db.session.get(Clarification, item.id).answer == "Yes, CCS1 and CCS2."


def test_bad_questions_are_refused_naming_the_field_and_keeping_the_text(world, client, login):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    c = login(world.fleet)
    empty = c.post(f"/rounds/{rnd.id}/questions", data={"question": "   "})
    assert empty.status_code == 400 and "Must not be empty." in empty.get_data(as_text=True)
    control = c.post(f"/rounds/{rnd.id}/questions", data={"question": "Range\x1b[31m in winter?"})
    body = control.get_data(as_text=True)
    assert control.status_code == 400 and "invisible control character" in body and "in winter?" in body
    long = c.post(f"/rounds/{rnd.id}/questions", data={"question": "x" * 2001})
    assert long.status_code == 400 and "at most 2,000 characters" in long.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count()).select_from(Clarification)).scalar_one() == 0


def test_questions_stop_at_the_clarification_deadline_and_outside_demand_and_tendering(
    world, client, login, frozen_clock
):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    coordinator = login(world.coordinator)
    bad = coordinator.post(f"/rounds/{rnd.id}/questions/deadline", data={"clarification_deadline": "tomorrow"})
    assert bad.status_code == 400 and "Questions accepted until" in bad.get_data(as_text=True)
    past = coordinator.post(f"/rounds/{rnd.id}/questions/deadline", data={"clarification_deadline": "2001-01-01T10:00"})
    assert past.status_code == 400 and "must be in the future" in past.get_data(as_text=True)
    at = (clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert (
        coordinator.post(f"/rounds/{rnd.id}/questions/deadline", data={"clarification_deadline": at}).status_code == 302
    )
    fleet = login(world.fleet)
    assert fleet.post(f"/rounds/{rnd.id}/questions", data={"question": "Before?"}).status_code == 302
    frozen_clock.freeze(clock.now() + timedelta(days=3))
    late = fleet.post(f"/rounds/{rnd.id}/questions", data={"question": "After?"})
    assert late.status_code == 409 and "deadline" in late.get_data(as_text=True)
    draft = make_round(world.coordinator, RoundPhase.DRAFT)
    assert fleet.get(f"/rounds/{draft.id}/questions").status_code == 404
    assert db.session.execute(sa.select(sa.func.count()).select_from(Clarification)).scalar_one() == 1
