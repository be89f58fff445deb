from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from marketplace.filters import reader_zone
from marketplace.form_fields import DeadlineField, NumberField
from marketplace.models import FeedbackRule
from marketplace.services.accounts import MIN_PASSWORD_LENGTH
from marketplace.services.round_fields import NUMBERS
from marketplace.services.rounds import RoundSettings
from marketplace.services.values import CURRENCIES, QUANTITY_MAX

DEADLINES = ("demand_deadline", "bid_deadline", "confirmation_deadline")


_PLAIN_FIELDS = (
    "name", "description", "segment_ids", "region_ids", "confirmation_period_days", "min_lot_quantity",
    "max_lot_quantity", "max_levels_up", "max_winners_per_lot", "line_service", "currency",
    "deposit_per_vehicle", "decline_forfeit_percent", "withdrawal_forfeit_percent", "feedback_rule",
)  # fmt: skip


def _number(name: str) -> NumberField:
    """A round's number field from its one definition (services/round_fields.py, which the API reads too)."""
    n = NUMBERS[name]
    default = int(n.default) if n.whole else n.default
    return NumberField(n.label, default=default, minimum=n.minimum, maximum=n.maximum, places=n.places or 2,
                       whole=n.whole, validators=[InputRequired()])  # fmt: skip


class RoundForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description for members", validators=[Optional(), Length(max=2000)])
    segment_ids = SelectMultipleField("Segments in scope", validators=[DataRequired(message="Choose at least one.")])
    region_ids = SelectMultipleField("Regions in scope", validators=[DataRequired(message="Choose at least one.")])
    demand_deadline = DeadlineField("Demand deadline", validators=[Optional()])
    bid_deadline = DeadlineField("Bid deadline", validators=[Optional()])
    confirmation_deadline = DeadlineField("Confirmation deadline", validators=[Optional()])
    confirmation_period_days = _number("confirmation_period_days")
    min_lot_quantity = _number("min_lot_quantity")
    max_lot_quantity = _number("max_lot_quantity")
    max_levels_up = _number("max_levels_up")
    max_winners_per_lot = _number("max_winners_per_lot")
    max_share_percent = _number("max_share_percent")
    line_service = SelectField(
        "Line service",
        choices=[
            ("whole", "Whole: one supplier and one price per line"),
            ("split", "Split: a line may have several suppliers"),
        ],
    )
    feedback_rule = SelectField(
        "What OEMs are told about their bids after the award",
        choices=[(rule.value, rule.label) for rule in FeedbackRule],
        default=FeedbackRule.WON_LOST.value,
    )
    currency = SelectField("Currency", choices=[(c, c) for c in CURRENCIES])
    deposit_per_vehicle = _number("deposit_per_vehicle")
    decline_forfeit_percent = _number("decline_forfeit_percent")
    withdrawal_forfeit_percent = _number("withdrawal_forfeit_percent")

    def to_settings(self) -> RoundSettings:
        zone = reader_zone()

        def utc(value: datetime | None) -> datetime | None:
            return value.replace(tzinfo=zone).astimezone(UTC) if value else None

        return RoundSettings(
            name=self.name.data or "",
            description=self.description.data or "",
            segment_ids=list(self.segment_ids.data or []),
            region_ids=list(self.region_ids.data or []),
            demand_deadline=utc(self.demand_deadline.data),
            bid_deadline=utc(self.bid_deadline.data),
            confirmation_deadline=utc(self.confirmation_deadline.data),
            confirmation_period_days=self.confirmation_period_days.data or 0,
            min_lot_quantity=self.min_lot_quantity.data or 0,
            max_lot_quantity=self.max_lot_quantity.data or 0,
            max_levels_up=self.max_levels_up.data or 0,
            max_winners_per_lot=self.max_winners_per_lot.data or 0,
            max_share_per_supplier=(self.max_share_percent.data or Decimal(0)) / 100,
            line_service=self.line_service.data or "whole",
            currency=self.currency.data or "USD",
            deposit_per_vehicle=self.deposit_per_vehicle.data or Decimal(0),
            decline_forfeit_percent=self.decline_forfeit_percent.data or Decimal(0),
            withdrawal_forfeit_percent=self.withdrawal_forfeit_percent.data or Decimal(0),
            feedback_rule=self.feedback_rule.data or FeedbackRule.WON_LOST.value,
        )

    def fill_from(self, s: RoundSettings) -> None:
        zone = reader_zone()
        for field in _PLAIN_FIELDS:
            getattr(self, field).data = getattr(s, field)
        self.max_share_percent.data = s.max_share_per_supplier * 100
        for field in DEADLINES:
            value = getattr(s, field)
            getattr(self, field).data = value.astimezone(zone).replace(tzinfo=None) if value else None


class CoordinatorUserForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        "Initial password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, message=f"Use at least {MIN_PASSWORD_LENGTH} characters."),
        ],
    )


class TransitionForm(FlaskForm):
    """Only carries the CSRF token; the target phase is in the button's value."""


class MoveForm(FlaskForm):
    """The confirmation step of an irreversible move: nothing happens without the ticked box."""

    confirm = BooleanField(
        "I have read what this move does and want to make it",
        validators=[DataRequired(message="Tick the box to confirm: nothing was changed.")],
    )
    decline_pending = BooleanField("Treat every pending allocation as declined")
    target = HiddenField()  # a round move: the phase it goes to
    back = HiddenField()  # "dashboard" when the move started there
    reason = TextAreaField("Reason (kept in the audit log)", validators=[Optional(), Length(max=500)])


class PoolingRunForm(FlaskForm):
    min_lot_quantity = NumberField(
        "Minimum lot size", minimum=1, maximum=QUANTITY_MAX, whole=True, validators=[InputRequired()]
    )
    max_lot_quantity = NumberField(
        "Maximum lot size", minimum=1, maximum=QUANTITY_MAX, whole=True, validators=[InputRequired()]
    )
    max_levels_up = NumberField("Region levels up", minimum=0, maximum=3, whole=True, validators=[InputRequired()])
    time_limit = NumberField(
        "Time limit (seconds)", default=30, minimum=1, maximum=600, whole=True, validators=[InputRequired()]
    )


class ScenarioForm(FlaskForm):
    name = StringField("Scenario name", validators=[Optional(), Length(max=200)])
    max_winners_per_lot = NumberField(
        "Maximum winners per lot", minimum=1, maximum=20, whole=True, validators=[InputRequired()]
    )
    max_share_percent = NumberField(
        "Maximum share of one supplier (%)", minimum=1, maximum=100, places=1, validators=[InputRequired()]
    )
    line_service = SelectField(
        "Line service", choices=[("whole", "Whole: one supplier per line"), ("split", "Split: several suppliers")]
    )
    excluded_supplier_ids = SelectMultipleField("Exclude suppliers", coerce=int, validators=[Optional()])
    prefer_early_delivery = BooleanField("Prefer earlier delivery at equal price")
    time_limit = NumberField(
        "Time limit (seconds)", default=30, minimum=1, maximum=600, whole=True, validators=[InputRequired()]
    )


class ApprovalForm(FlaskForm):
    """No fields: CSRF for the approve and reject buttons."""
