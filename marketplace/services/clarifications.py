"""Clarifications: members ask about a round privately; the coordinator answers for everyone.

During demand and tendering (demand open, demand closed, pooled, tendering) an approved fleet or OEM
asks questions about a round until its clarification deadline (when none is set: until bids close).
Only the coordinators and the asking organization see an open question. The coordinator's answer is
published with the question to every participant of the round, without the asker's name, and a
notice tells them (marketplace.notifications, from the "clarification.answer" audit entry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import Clarification, Round, RoundPhase, User
from marketplace.services import access, audit, clock, events, rounds
from marketplace.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from marketplace.services.values import DESCRIPTION_MAX, Invalid, read_text

P = RoundPhase
ASKING_PHASES = (P.DEMAND_OPEN, P.DEMAND_CLOSED, P.POOLED, P.TENDERING)


def visible_round(actor: User, round_id: int) -> Round:
    """A round whose questions the actor may read: a coordinator any, a member any round past draft."""
    rnd = rounds.load_round(round_id)
    if not actor.is_coordinator:
        access.require_approved(actor)
    return access.visible(actor, rnd)


def asking_closes(rnd: Round) -> datetime | None:
    """When questions stop: the clarification deadline, or else the bid deadline (bids close)."""
    return rnd.clarification_deadline or rnd.bid_deadline


def asking_problem(rnd: Round, at: datetime | None = None) -> str | None:
    """Why a question cannot be asked now, or None."""
    at = at or clock.now()
    if rnd.phase not in ASKING_PHASES:
        return f"Questions are taken during demand and tendering; this round is {rnd.phase.label.lower()}."
    closes = asking_closes(rnd)
    if closes is not None and at >= closes:
        return "The clarification deadline of this round has passed."
    return None


def _text(value: object, field: str) -> str:
    try:
        return read_text(value, max_length=DESCRIPTION_MAX, multiline=True, required=True)
    except Invalid as exc:
        raise ValidationFailed(f"{field.capitalize()} {exc}.", field_errors={field: str(exc)}) from exc


def ask(actor: User, round_id: int, question: object) -> Clarification:
    if actor.is_coordinator:
        raise Forbidden("Coordinators answer questions; members ask them.")
    text = _text(question, "question")
    rnd = visible_round(actor, round_id)
    rnd = rounds.lock(rnd.id)
    problem = asking_problem(rnd)
    if problem:
        raise Conflict(problem)
    item = Clarification(round_id=rnd.id, organization_id=actor.organization_id, asked_by_id=actor.id, question=text)
    db.session.add(item)
    audit.record(actor, "clarification.ask", item, summary="Asked a question about the round.",
                 after={"question": text}, round_id=rnd.id)  # fmt: skip
    events.record(events.ClarificationAsked(item.id, rnd.id))
    db.session.commit()
    return item


def answer(actor: User, clarification_id: int, text: object) -> Clarification:
    """The coordinator answers; the question and answer are published to the round's participants."""
    access.require_coordinator(actor)
    reply = _text(text, "answer")
    item = db.session.execute(
        sa.select(Clarification).where(Clarification.id == clarification_id).with_for_update()
    ).scalar_one_or_none()
    if item is None:
        raise NotFound("No such question.")
    if item.answer is not None:
        raise Conflict("This question is already answered; its answer is published.")
    item.answer = reply
    item.answered_at = clock.now()
    item.answered_by_id = actor.id
    audit.record(actor, "clarification.answer", item, summary="Answered a question; published to the round's participants.",
                 after={"answer": reply}, round_id=item.round_id)  # fmt: skip
    events.record(events.ClarificationAnswered(item.id, item.round_id))
    db.session.commit()
    return item


def set_deadline(actor: User, round_id: int, deadline: datetime | None) -> Round:
    access.require_coordinator(actor)
    rnd = rounds.lock(round_id)
    if deadline is not None and deadline <= clock.now():
        raise ValidationFailed(
            "The clarification deadline must be in the future.",
            field_errors={"clarification_deadline": "must be in the future"},
        )
    if deadline is not None and rnd.bid_deadline is not None and deadline > rnd.bid_deadline:
        raise ValidationFailed(
            "The clarification deadline must be before the bid deadline.",
            field_errors={"clarification_deadline": "must be at or before the bid deadline"},
        )
    before = rnd.clarification_deadline
    rnd.clarification_deadline = deadline
    audit.record(actor, "round.clarification_deadline", rnd, summary="Set the clarification deadline.",
                 before={"clarification_deadline": before.isoformat() if before else None},
                 after={"clarification_deadline": deadline.isoformat() if deadline else None},
                 round_id=rnd.id)  # fmt: skip
    db.session.commit()
    return rnd


@dataclass
class QuestionsPage:
    round: Round
    published: list[Clarification]  # answered: everyone sees them, without the asker
    waiting: list[Clarification]  # not answered: the coordinator sees all, a member its own organization's
    problem: str | None  # why nobody can ask now


def questions_page(actor: User, round_id: int) -> QuestionsPage:
    rnd = visible_round(actor, round_id)
    published = list(
        db.session.execute(
            sa.select(Clarification)
            .where(Clarification.round_id == rnd.id, Clarification.answer.is_not(None))
            .options(joinedload(Clarification.organization))
            .order_by(Clarification.answered_at, Clarification.id)
        ).scalars()
    )
    waiting_query = (
        sa.select(Clarification)
        .where(Clarification.round_id == rnd.id, Clarification.answer.is_(None))
        .options(joinedload(Clarification.organization))
    )
    if not actor.is_coordinator:
        waiting_query = waiting_query.where(Clarification.organization_id == actor.organization_id)
    waiting = list(db.session.execute(waiting_query.order_by(Clarification.asked_at, Clarification.id)).scalars())
    return QuestionsPage(rnd, published, waiting, asking_problem(rnd))
