"""OEM forms. Fields only carry what was typed (and CSRF): the services check the rules and name the field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, SelectMultipleField, StringField

from marketplace.services.catalog import POWERTRAINS
from marketplace.services.reference_data import CHARGING_STANDARDS
from marketplace.services.values import CURRENCIES


class ModelForm(FlaskForm):
    name = StringField("Model name")
    segment_id = SelectField("Segment", validate_choice=False)
    powertrain = SelectField("Powertrain", choices=list(POWERTRAINS.items()), validate_choice=False)
    markets = StringField("Markets served", render_kw={"placeholder": "US, CA, MX"})
    range_km = StringField("Range (km)", render_kw={"inputmode": "numeric"})
    payload_kg = StringField("Payload (kg)", render_kw={"inputmode": "numeric"})
    battery_kwh = StringField("Battery (kWh)", render_kw={"inputmode": "numeric"})
    charging = SelectMultipleField(
        "Charging standards", choices=list(CHARGING_STANDARDS.items()), validate_choice=False
    )
    list_price = StringField("List price", render_kw={"inputmode": "decimal"})
    currency = SelectField("Currency", choices=[(c, c) for c in CURRENCIES], default="USD", validate_choice=False)
    yearly_capacity = StringField("Yearly production capacity (vehicles)", render_kw={"inputmode": "numeric"})


class ActionForm(FlaskForm):
    """A button that changes something: carries only the CSRF token (the bid and package forms too)."""


class BidSheetForm(FlaskForm):
    sheet = FileField("Bid sheet (.xlsx)")
