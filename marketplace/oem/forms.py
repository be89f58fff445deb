"""OEM forms. Fields only carry what was typed (and CSRF): the services check the rules through
services.values and name the field, so a bid typed here and a bid sheet row get the same message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField

from marketplace.form_fields import TypedNumberField
from marketplace.services.bidding import MAX_TIERS, item_key
from marketplace.services.catalog import POWERTRAINS
from marketplace.services.reference_data import CHARGING_STANDARDS
from marketplace.services.values import CURRENCIES


class ServiceForm(FlaskForm):
    """A form whose values a service checks: values() is what was typed, by the service's keys."""

    def values(self) -> dict[str, Any]:
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}


class ModelForm(ServiceForm):
    name = StringField("Model name")
    segment_id = SelectField("Segment", validate_choice=False)
    powertrain = SelectField("Powertrain", choices=list(POWERTRAINS.items()), validate_choice=False)
    markets = StringField("Markets served", render_kw={"placeholder": "US, CA, MX"})
    range_km = TypedNumberField("Range (km)", whole=True)
    payload_kg = TypedNumberField("Payload (kg)", whole=True)
    battery_kwh = TypedNumberField("Battery (kWh)", whole=True)
    charging = SelectMultipleField(
        "Charging standards", choices=list(CHARGING_STANDARDS.items()), validate_choice=False
    )
    list_price = TypedNumberField("List price")
    currency = SelectField("Currency", choices=[(c, c) for c in CURRENCIES], default="USD", validate_choice=False)
    yearly_capacity = TypedNumberField("Yearly production capacity (vehicles)", whole=True)


class RetireForm(FlaskForm):
    """Retire a model (1) or bring it back (0)."""

    retired = HiddenField(default="1")


class CapacityForm(ServiceForm):
    capacity = TypedNumberField("Capacity in vehicles", whole=True)


QUARTERS_HELP = "e.g. 2027Q2-2028Q1, 2028Q3; blank: any quarter of the lines' delivery windows"


def quarter_capacity_form(rows: int, **kwargs: Any) -> ServiceForm:
    """Capacity by quarter: rowN_quarter, rowN_segment ("" = all segments), rowN_capacity for N = 1..rows."""

    class QuarterCapacityForm(ServiceForm):
        pass

    for n in range(1, rows + 1):
        setattr(QuarterCapacityForm, f"row{n}_quarter", StringField(f"Row {n} quarter"))
        setattr(QuarterCapacityForm, f"row{n}_segment", SelectField(f"Row {n} segment", validate_choice=False))
        setattr(QuarterCapacityForm, f"row{n}_capacity", TypedNumberField(f"Row {n} capacity", whole=True))
    return QuarterCapacityForm(**kwargs)


class BidForm(ServiceForm):
    """A sealed bid on one lot: the bid sheet's columns (model_code, min_quantity, max_quantity,
    tier1_min, tier1_price, ... up to MAX_TIERS tiers)."""

    model_code = SelectField("Model", validate_choice=False)  # the service names an unknown or retired model
    min_quantity = TypedNumberField("Minimum quantity", whole=True)
    max_quantity = TypedNumberField("Maximum quantity", whole=True)
    quarters = StringField("Delivery quarters", render_kw={"placeholder": QUARTERS_HELP})


for _n in range(1, MAX_TIERS + 1):
    setattr(BidForm, f"tier{_n}_min", TypedNumberField(f"Tier {_n} from", whole=True))
    setattr(BidForm, f"tier{_n}_price", TypedNumberField(f"Tier {_n} unit price"))


def package_form(lots: Iterable[Any], **kwargs: Any) -> ServiceForm:
    """A package bid over the round's lots: a name and, per lot, lot{ID}_model_code, _quantity, _unit_price."""

    class PackageForm(ServiceForm):
        name = StringField("Name", render_kw={"placeholder": "e.g. West coast + Texas"})
        quarters = StringField("Delivery quarters", render_kw={"placeholder": QUARTERS_HELP})

    for lot in lots:
        setattr(PackageForm, item_key(lot, "model_code"), SelectField(f"Model for {lot.code}", validate_choice=False))
        setattr(PackageForm, item_key(lot, "quantity"), TypedNumberField(f"Quantity for {lot.code}", whole=True))
        setattr(PackageForm, item_key(lot, "unit_price"), TypedNumberField(f"Unit price for {lot.code}"))
    return PackageForm(**kwargs)


class ActionForm(FlaskForm):
    """A button that changes something: carries only the CSRF token."""


class BidSheetForm(FlaskForm):
    sheet = FileField("Bid sheet (.xlsx)")
