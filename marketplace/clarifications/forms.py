from __future__ import annotations

from datetime import UTC

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField
from wtforms.validators import Optional

from marketplace.filters import reader_zone
from marketplace.form_fields import TextValueField
from marketplace.services.values import DESCRIPTION_MAX


class QuestionForm(FlaskForm):
    question = TextValueField("Your question", max_length=DESCRIPTION_MAX, multiline=True, required=True)


class AnswerForm(FlaskForm):
    answer = TextValueField("Answer", max_length=DESCRIPTION_MAX, multiline=True, required=True)


class DeadlineForm(FlaskForm):
    clarification_deadline = DateTimeLocalField(
        "Questions accepted until", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )

    def deadline_utc(self):
        value = self.clarification_deadline.data
        return value.replace(tzinfo=reader_zone()).astimezone(UTC) if value else None
