"""Every rule of one demand line, in `check_line`: the form and the spreadsheet upload both use it,
so a value gets the same message wherever it is typed. Pure: it reads only the Scope it is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from marketplace.services import values as V
from marketplace.services.demand.scope import Scope
from marketplace.services.reference_data import CHARGING_STANDARDS

# The fields of a demand line, in the order forms, spreadsheets and exports list them.
FIELDS = (
    "segment",
    "region",
    "quantity",
    "earliest_quarter",
    "latest_quarter",
    "min_range_km",
    "min_payload_kg",
    "charging",
    "max_unit_price",
    "splittable",
    "note",
)


NOTE_MAX = V.NOTE_MAX


QUANTITY_MAX = V.QUANTITY_MAX


SPEC_MAX = V.SPEC_MAX


_SEPARATORS = re.compile(r"[;,/|]")


_STANDARD_ORDER = {code: i for i, code in enumerate(CHARGING_STANDARDS)}


_CHARGING_BY_KEY = {code.lower().replace(" ", ""): code for code in CHARGING_STANDARDS}


@dataclass
class CheckedLine:
    segment_id: str
    region_id: str
    quantity: int
    earliest_quarter: str
    latest_quarter: str
    min_range_km: int
    min_payload_kg: int
    charging: list[str]
    max_unit_price: Decimal
    splittable: bool
    note: str

    def to_json(self) -> dict[str, Any]:
        return {**self.as_row(), "max_unit_price": str(self.max_unit_price)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckedLine:
        return cls(**{**data, "max_unit_price": Decimal(data["max_unit_price"])})

    def as_row(self) -> dict[str, Any]:
        return {
            "segment_id": self.segment_id,
            "region_id": self.region_id,
            "quantity": self.quantity,
            "earliest_quarter": self.earliest_quarter,
            "latest_quarter": self.latest_quarter,
            "min_range_km": self.min_range_km,
            "min_payload_kg": self.min_payload_kg,
            "charging": self.charging,
            "max_unit_price": self.max_unit_price,
            "splittable": self.splittable,
            "note": self.note,
        }


def _text(value: Any) -> str:
    if type(value) is str:  # the common case first: a 10,000-row upload calls this 100,000 times
        return value.strip()
    return V.plain(value)


def _charging(value: Any) -> tuple[list[str], list[str]]:
    """Standards from a list, or from text separated by ';', ',', '/' or '|': (known codes, unknown names)."""
    if isinstance(value, list | tuple | set):
        items = [_text(v) for v in value]
    else:
        text = _text(value)
        if "/" in text:
            text = re.sub(r"gb\s*/\s*t", "GBT", text, flags=re.IGNORECASE)  # GB/T holds a slash
        items = _SEPARATORS.split(text)
    known: list[str] = []
    unknown: list[str] = []
    for item in items:
        key = item.strip().lower().replace(" ", "")
        if not key:
            continue
        code = "GB/T" if key in ("gbt", "gb/t") else _CHARGING_BY_KEY.get(key)
        if code is None:
            unknown.append(item.strip())
        elif code not in known:
            known.append(code)
    return sorted(known, key=_STANDARD_ORDER.__getitem__), unknown


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in ("", "no", "n", "false", "0"):
        return False
    if text in ("yes", "y", "true", "1"):
        return True
    return None


def check_line(values: Mapping[str, Any], scope: Scope) -> tuple[CheckedLine | None, dict[str, str]]:
    """Check every field of a line; return the clean line or the problems by field (messages name no field:
    the page shows them next to it, the upload prefixes "row N, field:")."""
    errors: dict[str, str] = {}
    rnd = scope.rnd

    segment = scope.segments.get(_text(values.get("segment")).lower())
    if not _text(values.get("segment")):
        errors["segment"] = "choose a segment"
    elif segment is None:
        allowed = ", ".join(sorted(scope.segment_names))
        errors["segment"] = f"“{_text(values.get('segment'))}” is not a segment of this round (use one of: {allowed})"

    region_text = _text(values.get("region"))
    region = scope.regions.get(region_text.lower())
    if not region_text:
        errors["region"] = "choose a region"
    elif region is None:
        scope_names = ", ".join(r.name for r in rnd.regions)
        errors["region"] = (
            f"“{region_text}” is not a region within this round's scope ({scope_names}): "
            "use a region id or name from the list"
        )

    fmt = scope.number_format
    quantity = V.whole(
        values.get("quantity"), errors, "quantity", minimum=1, maximum=QUANTITY_MAX,
        message="must be a whole number above 0", fmt=fmt,
    )  # fmt: skip

    quarters: dict[str, str] = {}
    for name in ("earliest_quarter", "latest_quarter"):
        quarter = V.into(errors, name, V.read_quarter, values.get(name))
        if quarter is not None:
            quarters[name] = quarter
            if quarters[name] < scope.this_quarter:
                errors[name] = f"{quarters[name]} is in the past (this is {scope.this_quarter})"
    if (
        len(quarters) == 2
        and "earliest_quarter" not in errors
        and quarters["latest_quarter"] < quarters["earliest_quarter"]
    ):
        errors["latest_quarter"] = f"must not be before the earliest quarter ({quarters['earliest_quarter']})"

    specs: dict[str, int | None] = {}
    for name in ("min_range_km", "min_payload_kg"):
        raw = values.get(name)
        specs[name] = (
            0
            if _text(raw) == ""
            else V.whole(
                raw, errors, name, minimum=0, maximum=SPEC_MAX, message="must be a whole number, 0 or more", fmt=fmt
            )
        )

    charging, unknown = _charging(values.get("charging"))
    if unknown:
        names = ", ".join(f"“{u}”" for u in unknown)
        errors["charging"] = f"{names} is not a charging standard: use " + ", ".join(CHARGING_STANDARDS)
    elif not charging:
        errors["charging"] = "accept at least one charging standard"

    price = V.amount(values.get("max_unit_price"), errors, "max_unit_price", currency=rnd.currency, fmt=fmt)

    splittable = _bool(values.get("splittable"))
    if splittable is None:
        errors["splittable"] = "answer yes or no"

    note = V.text_field(values.get("note"), errors, "note", max_length=NOTE_MAX, multiline=True)

    if errors:
        return None, errors
    assert segment and region and quantity and price is not None
    return (
        CheckedLine(
            segment_id=segment,
            region_id=region,
            quantity=quantity,
            earliest_quarter=quarters["earliest_quarter"],
            latest_quarter=quarters["latest_quarter"],
            min_range_km=specs["min_range_km"] or 0,
            min_payload_kg=specs["min_payload_kg"] or 0,
            charging=charging,
            max_unit_price=price,
            splittable=bool(splittable),
            note=note,
        ),
        {},
    )
