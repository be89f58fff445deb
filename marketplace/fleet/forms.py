"""The fleet's forms. Fields are text on purpose: every rule and message lives in services.demand.check_line,
shared with the spreadsheet upload, so a value gets the same message wherever it is typed."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.models import DemandLine
from marketplace.services.reference_data import CHARGING_STANDARDS


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:  # unknown values get the service's message
        pass


class DemandLineForm(FlaskForm):
    segment = SelectField("Segment", validate_choice=False)
    region = StringField("Region")
    quantity = StringField("Quantity (vehicles)")
    earliest_quarter = StringField("Earliest delivery quarter")
    latest_quarter = StringField("Latest delivery quarter")
    min_range_km = StringField("Minimum range (km)", default="0")
    min_payload_kg = StringField("Minimum payload (kg)", default="0")
    charging = MultiCheckboxField("Accepted charging standards", choices=list(CHARGING_STANDARDS.items()))
    max_unit_price = StringField("Maximum unit price")
    splittable = BooleanField("Splittable: several suppliers may share this line")
    note = TextAreaField("Note (optional)")

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name).data for name in self._service_fields()}

    def fill_from(self, line: DemandLine) -> None:
        self.segment.data = line.segment_id
        self.region.data = line.region_id
        self.quantity.data = str(line.quantity)
        self.earliest_quarter.data = line.earliest_quarter
        self.latest_quarter.data = line.latest_quarter
        self.min_range_km.data = str(line.min_range_km)
        self.min_payload_kg.data = str(line.min_payload_kg)
        self.charging.data = list(line.charging)
        self.max_unit_price.data = f"{line.max_unit_price:f}"
        self.splittable.data = line.splittable
        self.note.data = line.note

    @staticmethod
    def _service_fields() -> tuple[str, ...]:
        from marketplace.services.demand import FIELDS

        return FIELDS


class UploadForm(FlaskForm):
    file = FileField("Spreadsheet (.xlsx or .csv)")


class ConfirmForm(FlaskForm):
    """A bare form for POST buttons: it carries the CSRF token."""


class CommitForm(FlaskForm):
    """Commit the ticked draft lines (line_ids), or every draft line (the "all" button)."""

    all = StringField()  # the "Commit all draft lines" button's value
    line_ids = SelectMultipleField(validate_choice=False)  # ids as typed: services.values.read_ids reads them
