"""Forms of the contracting pages: deciding several allocations at once, after a summary."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, SelectField
from wtforms.validators import StopValidation

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
