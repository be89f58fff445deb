"""WTForms fields that read numbers through services.values, in the organization's number format.

WTForms' own DecimalField reads "1.234,56" as an error and "1,5" as nothing useful; these fields
read what the user typed with the same rules, limits and messages as the services and uploads, and
keep the typed text when the form is shown again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_login import current_user
from wtforms import DateTimeLocalField, StringField
from wtforms.validators import StopValidation

from marketplace.services import values


def _capital(message: str) -> str:
    return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")


class NumberField(StringField):
    """A decimal number in [minimum, maximum] with at most `places` decimals; `data` is a Decimal."""

    def __init__(
        self,
        label: str | None = None,
        *,
        minimum: Decimal | int,
        maximum: Decimal | int,
        places: int = 2,
        whole: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "numeric" if whole else "decimal"})
        super().__init__(label, **kwargs)
        self.minimum, self.maximum, self.places, self.whole = Decimal(minimum), Decimal(maximum), places, whole
        self.problem: str | None = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.problem = None
        if not valuelist:
            return
        raw = valuelist[0]
        self.raw_data = [raw]
        fmt = values.number_format_of(current_user)
        try:
            number = values.read_number(raw, fmt, example="12" if self.whole else fmt.write(Decimal("12.5")))
        except values.Invalid as exc:
            self.data, self.problem = None, _capital(str(exc))
            return
        places = 0 if self.whole else self.places
        too_fine = number.as_tuple().exponent < -places  # type: ignore[operator]
        hint = values.ambiguity_hint(raw, fmt, number) if too_fine else None  # "1.500": 1.5, or 1,500?
        if hint:
            self.data, self.problem = None, _capital(hint)
        elif self.whole and too_fine:
            self.data, self.problem = None, "Must be a whole number."
        elif not self.minimum <= number <= self.maximum:
            self.data, self.problem = None, f"Must be between {self.minimum:,} and {self.maximum:,}."
        elif too_fine:
            self.data, self.problem = None, f"At most {self.places} decimal{'s' if self.places != 1 else ''}."
        else:
            self.data = int(number) if self.whole else number

    def pre_validate(self, form: Any) -> None:
        if self.problem:
            raise StopValidation(self.problem)

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        if self.whole:
            return str(int(self.data))
        return values.number_format_of(current_user).write(Decimal(self.data).normalize())


class TextValueField(StringField):
    """Free text read through services.values.read_text: trimmed, at most `max_length` characters, no
    control characters; line breaks only when `multiline` (shown as a text area). What was typed is kept
    when the form is shown again, with the reader's message next to the field."""

    def __init__(
        self,
        label: str | None = None,
        *,
        max_length: int,
        multiline: bool = False,
        required: bool = False,
        **kwargs: Any,
    ) -> None:
        if multiline:
            from wtforms.widgets import TextArea

            kwargs.setdefault("widget", TextArea())
        super().__init__(label, **kwargs)
        self.max_length, self.multiline, self.required = max_length, multiline, required
        self.problem: str | None = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.problem = None
        raw = valuelist[0] if valuelist else ""
        self.raw_data = [raw]
        try:
            self.data = values.read_text(
                raw, max_length=self.max_length, multiline=self.multiline, required=self.required
            )
        except values.Invalid as exc:
            self.data, self.problem = None, _capital(str(exc))

    def pre_validate(self, form: Any) -> None:
        if self.problem:
            raise StopValidation(self.problem)

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else str(self.data)


def TypedNumberField(label: str | None = None, *, whole: bool = False, **kwargs: Any) -> StringField:
    """A number a service reads through services.values because its limits depend on another value (the
    lot's size, the round's currency, the bid's minimum): the form keeps exactly what was typed, and the
    service's message (the same one an upload row gets) is shown next to the field."""
    render_kw = {"inputmode": "numeric" if whole else "decimal", "autocomplete": "off"}
    return StringField(label, render_kw={**render_kw, **kwargs.pop("render_kw", {})}, **kwargs)


class DeadlineField(DateTimeLocalField):
    """A deadline typed in the reader's time zone (the settings turn it into UTC): a year outside
    values.QUARTER_YEARS is refused here, before a conversion to UTC could overflow (0001-01-01 in UTC-12)."""

    def __init__(self, label: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("format", "%Y-%m-%dT%H:%M")
        super().__init__(label, **kwargs)

    def pre_validate(self, form: Any) -> None:
        first, last = values.QUARTER_YEARS
        if self.data is not None and not first <= self.data.year < last:
            self.data = None
            raise StopValidation(f"Give a date from {first} to {last - 1}.")
