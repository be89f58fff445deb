"""Forms of the coordinator's market and audit pages (GET filters: no CSRF token, nothing is changed)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

FILTER_MAX = 100


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    who = StringField("Who", validators=[Optional(), Length(max=FILTER_MAX)],
                      render_kw={"placeholder": "email, name, organization or “system”"})  # fmt: skip
    what = StringField("What", validators=[Optional(), Length(max=FILTER_MAX)],
                       render_kw={"placeholder": "action or text, e.g. allocation.confirm"})  # fmt: skip
    object = StringField("Object", validators=[Optional(), Length(max=FILTER_MAX)],
                         render_kw={"placeholder": "e.g. Allocation or Allocation 12"})  # fmt: skip
    round_id = SelectField("Round", choices=[("", "All rounds")], default="", validate_choice=True)
    since = DateField("From (day)", format="%Y-%m-%d", validators=[Optional()])
    until = DateField("Until (day, included)", format="%Y-%m-%d", validators=[Optional()])

    def check(self) -> bool:
        """Validate, with every message naming its field (a filter past its length is refused, not cut)."""
        ok = self.validate()
        if self.since.data and self.until.data and self.since.data > self.until.data:
            self.until.errors = [*self.until.errors, "must be the same day as “From” or later"]
            ok = False
        for field in self:
            messages = []
            for error in field.errors:
                if error == "Not a valid date value.":
                    error = "write the day as YYYY-MM-DD, e.g. 2026-12-01"
                elif error == "Not a valid choice.":
                    error = "choose a round of the list"
                elif error.startswith("Field cannot be longer"):
                    error = f"at most {FILTER_MAX} characters"
                messages.append(f"{field.label.text}: {error}")
            field.errors = messages
        return ok
