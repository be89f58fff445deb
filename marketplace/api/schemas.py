"""Schemas of the API: each value is read through services/values.py, the one definition of every kind.

Money travels as a decimal string with a point (never a JSON number, which clients read as a
binary float) next to its currency; quantities as integers; quarters as 2027Q2; instants in
RFC 3339 with their offset.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from marketplace.services import values as V

DECIMAL_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


NUL_MESSAGE = "holds a NUL character (\\u0000), which no text here may contain"


def _nul_errors(value: Any) -> Any:
    """Where a NUL hides in a JSON value: marshmallow's nested messages, or None. PostgreSQL cannot store or
    even compare a NUL in text, so it is refused here before any service looks a value up with it."""
    if isinstance(value, str):
        return [NUL_MESSAGE] if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    found = {key: errors for key, item in items if (errors := _nul_errors(item))}
    return found or None


class StrictSchema(Schema):
    """Unknown fields are refused, so a misspelt field is an error naming it, never silently ignored."""

    class Meta:
        ordered = True

    @pre_load
    def _refuse_nul(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and (errors := _nul_errors(data)):
            raise ValidationError(errors)
        return data


class ProblemEntrySchema(Schema):
    pointer = fields.String(metadata={"description": "JSON pointer of the field in the request body"})
    parameter = fields.String(metadata={"description": "the query, path or header parameter"})
    detail = fields.String(required=True)

    class Meta:
        name = "ProblemEntry"
        unknown = "include"


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String()
    errors = fields.List(fields.Dict(), metadata={"description": "each problem: pointer or parameter, and detail"})


class DecimalText(fields.String):
    """A decimal amount written as a string with a point ("185000.50"), read by values.read_number."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault("pattern", DECIMAL_PATTERN)
        kwargs["metadata"].setdefault("examples", ["185000.50"])
        super().__init__(**kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return f"{Decimal(value):f}"

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, str):
            raise ValidationError('must be a decimal string such as "185000.50" (not a JSON number)')
        if len(value) <= V.NUMBER_TEXT_MAX and not _PLAIN_DECIMAL.fullmatch(value.strip()):
            # A machine writes plain decimals: "250,000.50" is refused rather than read one way or another.
            meant = value.replace(",", "").replace(" ", "")
            hint = f" (write {meant})" if _PLAIN_DECIMAL.fullmatch(meant) else ""
            raise ValidationError(f"must be digits with a point before the decimals, no thousands separators{hint}")
        try:
            return V.read_number(value, V.NumberFormat.POINT, example="185000.50")
        except V.Invalid as exc:
            raise ValidationError(str(exc)) from None


class Quarter(fields.String):
    """A delivery quarter, 2027Q2 (values.read_quarter)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault("pattern", r"^[0-9]{4}Q[1-4]$")
        kwargs["metadata"].setdefault("examples", ["2028Q1"])
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError("must be a quarter written like 2028Q1")
        try:
            return V.read_quarter(value)
        except V.Invalid as exc:
            raise ValidationError(str(exc)) from None


def Instant(**kwargs: Any) -> fields.DateTime:
    """An instant in RFC 3339 with its offset (stored in UTC, so +00:00)."""
    return fields.AwareDateTime(format="iso", default_timezone=None, **kwargs)


class InstantInput(fields.AwareDateTime):
    """An instant sent in RFC 3339 with its offset, read as UTC (as it is stored)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", default_timezone=None, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        found = super()._deserialize(value, attr, data, **kwargs)
        try:
            return found.astimezone(UTC)
        except OverflowError:  # 9999-12-31T23:00-05:00 is in year 10000 in UTC
            raise ValidationError("is beyond the years 1 to 9999 once converted to UTC") from None


class MoneySchema(Schema):
    amount = DecimalText(required=True)
    currency = fields.String(required=True, metadata={"examples": ["USD"]})

    class Meta:
        name = "Money"


def money(amount: Any, currency: str) -> dict[str, str] | None:
    if amount is None:
        return None
    return {"amount": f"{Decimal(amount):f}", "currency": currency}


def Money(**kwargs: Any) -> fields.Field:
    """An amount with its currency: {"amount": "185000.50", "currency": "USD"}."""
    return fields.Nested(MoneySchema, **kwargs)


ID = fields.Integer  # ids of rows a member may name; unknown and others' answer 404
Name = lambda **kw: fields.String(validate=validate.Length(min=1, max=V.NAME_MAX), **kw)  # noqa: E731


QUARTER = {"description": "a quarter, e.g. 2027Q2", "examples": ["2027Q2"]}

QUARTERS_DOC = (
    "the quarters I deliver in: each a quarter (2027Q2) or a range (2027Q2-2028Q1); null or []: any quarter; "
    "left out of a revision: the quarters of the revision that counts stay"
)


def quarters_text(data: dict[str, Any]) -> str:
    """A body's quarters as the web form's one field ("2027Q2-2028Q1, 2028Q3"), read by the same rule."""
    return ", ".join(data.get("quarters") or [])
