"""Thin views over services.clarifications."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from marketplace.access import coordinator_required
from marketplace.clarifications.forms import AnswerForm, DeadlineForm, QuestionForm
from marketplace.services import clarifications
from marketplace.services.errors import ValidationFailed

bp = Blueprint("clarifications", __name__)


def _page(round_id: int, *, question: QuestionForm | None = None, answers: dict | None = None,
          deadline: DeadlineForm | None = None, status: int = 200):  # fmt: skip
    page = clarifications.questions_page(current_user, round_id)
    if deadline is None:
        deadline = DeadlineForm(formdata=None)
        if page.round.clarification_deadline is not None:
            from marketplace.filters import reader_zone

            local = page.round.clarification_deadline.astimezone(reader_zone()).replace(tzinfo=None)
            deadline.clarification_deadline.data = local
    answer_forms = {
        c.id: (answers or {}).get(c.id) or AnswerForm(formdata=None, prefix=f"a{c.id}") for c in page.waiting
    }
    return render_template(
        "clarifications/questions.html",
        page=page,
        closes=clarifications.asking_closes(page.round),
        form=question or QuestionForm(formdata=None),
        answer_forms=answer_forms,
        deadline_form=deadline,
    ), status


@bp.get("/rounds/<int:round_id>/questions")
@login_required
def questions(round_id: int):
    return _page(round_id)


@bp.post("/rounds/<int:round_id>/questions")
@login_required
def ask(round_id: int):
    form = QuestionForm()
    if not form.validate_on_submit():
        return _page(round_id, question=form, status=400)
    try:
        clarifications.ask(current_user, round_id, form.question.data)
    except ValidationFailed as exc:
        form.question.errors = [exc.field_errors.get("question", exc.message)]
        return _page(round_id, question=form, status=400)
    flash(
        "Your question is sent to the coordinator. The answer is published to every participant, without your name.",
        "success",
    )
    return redirect(url_for("clarifications.questions", round_id=round_id))


@bp.post("/questions/<int:clarification_id>/answer")
@coordinator_required
def answer(clarification_id: int):
    form = AnswerForm(prefix=f"a{clarification_id}")
    if form.validate_on_submit():
        item = clarifications.answer(current_user, clarification_id, form.answer.data)
        flash("Answer published to the round's participants.", "success")
        return redirect(url_for("clarifications.questions", round_id=item.round_id) + f"#q{item.id}")
    from marketplace.extensions import db
    from marketplace.models import Clarification
    from marketplace.services.errors import NotFound

    item = db.session.get(Clarification, clarification_id)
    if item is None:
        raise NotFound("No such question.")
    return _page(item.round_id, answers={clarification_id: form}, status=400)


@bp.post("/rounds/<int:round_id>/questions/deadline")
@coordinator_required
def set_deadline(round_id: int):
    form = DeadlineForm()
    if not form.validate_on_submit():
        form.clarification_deadline.errors = ["Questions accepted until: write a date and time, e.g. 2030-01-31 17:00."]
        return _page(round_id, deadline=form, status=400)
    try:
        clarifications.set_deadline(current_user, round_id, form.deadline_utc())
    except ValidationFailed as exc:
        form.clarification_deadline.errors = [
            f"Questions accepted until {exc.field_errors.get('clarification_deadline', exc.message)}."
        ]
        return _page(round_id, deadline=form, status=400)
    flash("Clarification deadline saved.", "success")
    return redirect(url_for("clarifications.questions", round_id=round_id))
