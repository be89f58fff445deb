"""Forms of the contracting pages: deciding several allocations at once, after a summary."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, StopValidation

from marketplace.services.contracting import MAX_DECISIONS


class PublicIdsField(Field):
    """Several public ids sent under one name (ticked boxes, or hidden inputs on the summary page)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = [str(v).strip() for v in valuelist if str(v).strip()]

    def pre_validate(self, form: Any) -> None:
        if not self.data:
            raise StopValidation("Allocations: tick at least one pending allocation in the list.")
        if len(self.data) > MAX_DECISIONS:
            raise StopValidation(f"Allocations: choose at most {MAX_DECISIONS} at once.")


class DecideManyForm(FlaskForm):
    """GET (the summary, no token needed: nothing changes) and POST (the decisions, with the token)."""

    decision = SelectField("Decision", choices=[("confirm", "Confirm"), ("decline", "Decline")], validate_choice=False)
    ids = PublicIdsField("Allocations", default=list)

    def check(self) -> bool:
        ok = self.validate()
        if self.decision.data not in ("confirm", "decline"):
            self.decision.errors = ["Decision: choose confirm or decline."]
            ok = False
        return ok

    @property
    def messages(self) -> list[str]:
        return [e for f in self for e in f.errors]


class PromoteForm(FlaskForm):
    """Promoting a backup: why the winner drops out, a reason for the audit log, and the ticked box."""

    cause = RadioField(
        "Why the supplier drops out",
        choices=[("withdrew", "It withdrew (said it cannot deliver)"), ("default", "I declare it in default")],
        validators=[InputRequired(message="Choose why the supplier drops out.")],
    )
    reason = TextAreaField(
        "What happened (kept in the audit log)",
        validators=[DataRequired(message="Say what happened."), Length(max=500)],
    )
    confirm = BooleanField(
        "I have read what this move does and want to make it",
        validators=[DataRequired(message="Tick the box to confirm: nothing was changed.")],
    )


class AnswerForm(FlaskForm):
    """Only carries the CSRF token: accept or refuse is in the address."""
