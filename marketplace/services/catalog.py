"""An OEM's catalog: the vehicle models it can bid with.

Only the OEM that owns a model sees or changes it (another organization's model answers 404,
so its existence does not leak). Retiring keeps the model and the bids that name it, but it
can no longer be offered in a new bid or revision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Segment, VehicleModel
from marketplace.services import audit
from marketplace.services.access import Actor, own_model, require_oem
from marketplace.services.errors import ValidationFailed
from marketplace.services.reference_data import CHARGING_STANDARDS
from marketplace.services.values import (
    NAME_MAX,
    SPEC_MAX,
    NumberFormat,
    amount,
    into,
    number_format_of,
    read_currency,
    text,
    text_field,
    whole,
)

POWERTRAINS = {"BEV": "Battery electric (BEV)", "FCEV": "Fuel cell electric (FCEV)"}
FIELDS = (
    "name", "segment_id", "powertrain", "markets", "range_km", "payload_kg", "battery_kwh", "charging",
    "list_price", "currency", "yearly_capacity",
)  # fmt: skip


def models_of(actor: Actor, *, include_retired: bool = True) -> list[VehicleModel]:
    """The OEM's own models, by segment then name."""
    require_oem(actor)
    query = sa.select(VehicleModel).where(VehicleModel.organization_id == actor.organization_id)
    if not include_retired:
        query = query.where(VehicleModel.retired.is_(False))
    return list(db.session.execute(query.order_by(VehicleModel.segment_id, VehicleModel.name)).scalars())


def _markets(value: Any) -> tuple[list[str], list[str]]:
    items = value if isinstance(value, list | tuple) else re.split(r"[;,\s]+", text(value))
    good: list[str] = []
    bad: list[str] = []
    for item in items:
        code = text(item).upper()
        if not code:
            continue
        if re.fullmatch(r"[A-Z]{2}", code):
            if code not in good:
                good.append(code)
        else:
            bad.append(text(item))
    return good, bad


def check_model(
    values: Mapping[str, Any],
    fmt: NumberFormat = NumberFormat.POINT,
    *,
    actor: Actor | None = None,
    model_id: int | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check every field; return the clean values or the problems by field. With an actor, a name
    another of its models already has is refused (bids and sheets name models; two alike confuse)."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}

    name = text_field(values.get("name"), errors, "name", max_length=NAME_MAX)
    if not name and "name" not in errors:
        errors["name"] = "give the model a name"
    elif name and actor is not None:
        same = db.session.execute(
            sa.select(VehicleModel.id).where(
                VehicleModel.organization_id == actor.organization_id,
                sa.func.lower(VehicleModel.name) == name.lower(),
                VehicleModel.id != (model_id or 0),
            )
        ).first()
        if same is not None:
            errors["name"] = f"your catalog already has a model named “{name}”: give this one another name"
    clean["name"] = name

    segment_id = text(values.get("segment_id"))
    if not segment_id:
        errors["segment_id"] = "choose a segment"
    elif db.session.get(Segment, segment_id) is None:
        errors["segment_id"] = f"“{segment_id}” is not a segment"
    clean["segment_id"] = segment_id

    powertrain = text(values.get("powertrain")).upper()
    if powertrain not in POWERTRAINS:
        errors["powertrain"] = "choose BEV or FCEV"
    clean["powertrain"] = powertrain

    markets, bad = _markets(values.get("markets"))
    if bad:
        errors["markets"] = (
            ", ".join(f"“{b}”" for b in bad) + " is not a country code: use ISO 3166-1 alpha-2 codes such as US, CA, DE"
        )
    elif not markets:
        errors["markets"] = "name at least one country the model is sold in, such as US"
    clean["markets"] = markets

    range_km = whole(
        values.get("range_km"),
        errors,
        "range_km",
        minimum=1,
        maximum=SPEC_MAX,
        message="must be a whole number of km above 0",
        fmt=fmt,
    )
    clean["range_km"] = range_km
    for name_, unit in (("payload_kg", "kg"), ("battery_kwh", "kWh")):
        raw = values.get(name_)
        clean[name_] = (
            None
            if text(raw) == ""
            else whole(
                raw,
                errors,
                name_,
                minimum=1,
                maximum=SPEC_MAX,
                message=f"must be a whole number of {unit} above 0, or empty",
                fmt=fmt,
            )
        )

    charging_raw = values.get("charging") or []
    if isinstance(charging_raw, str):
        charging_raw = [c for c in re.split(r"[;,|]", charging_raw) if c.strip()]
    charging = [text(c) for c in charging_raw]
    unknown = [c for c in charging if c not in CHARGING_STANDARDS]
    if unknown:
        errors["charging"] = (
            ", ".join(f"“{u}”" for u in unknown) + " is not a charging standard: use " + ", ".join(CHARGING_STANDARDS)
        )
    elif not charging:
        errors["charging"] = "choose at least one charging standard"
    clean["charging"] = sorted(set(charging), key=list(CHARGING_STANDARDS).index) if not unknown else charging

    currency = into(errors, "currency", read_currency, text(values.get("currency")) or "USD") or "USD"
    clean["currency"] = currency

    price_raw = values.get("list_price")
    clean["list_price"] = (
        None if text(price_raw) == "" else amount(price_raw, errors, "list_price", currency=currency, fmt=fmt)
    )

    capacity_raw = values.get("yearly_capacity")
    clean["yearly_capacity"] = (
        None
        if text(capacity_raw) == ""
        else whole(
            capacity_raw,
            errors,
            "yearly_capacity",
            minimum=0,
            maximum=SPEC_MAX,
            message="must be a whole number of vehicles a year, 0 or more, or empty",
            fmt=fmt,
        )
    )
    return clean, errors


def _snapshot(model: VehicleModel) -> dict[str, Any]:
    data = {f: getattr(model, f) for f in FIELDS}
    data["list_price"] = str(model.list_price) if model.list_price is not None else None
    data["retired"] = model.retired
    return data


def _refuse(errors: dict[str, str]) -> None:
    raise ValidationFailed("The model has problems: fix the fields marked below.", field_errors=errors)


def _new_code(org_name: str, name: str) -> str:
    """A unique code for a model (the bid sheet names models by it): brand_model, with a number on a clash."""
    base = re.sub(r"[^a-z0-9]+", "_", f"{org_name} {name}".lower()).strip("_")[:56] or "model"
    code, n = base, 1
    while db.session.execute(sa.select(VehicleModel.id).where(VehicleModel.code == code)).first():
        n += 1
        code = f"{base}_{n}"
    return code


def create_model(values: Mapping[str, Any], actor: Actor | None) -> VehicleModel:
    actor = require_oem(actor)
    clean, errors = check_model(values, number_format_of(actor), actor=actor)
    if errors:
        _refuse(errors)
    model = VehicleModel(
        code=_new_code(actor.organization.name, clean["name"]),
        organization_id=actor.organization_id,
        manufacturer=actor.organization.name,
        price_status="stated" if clean["list_price"] is not None else "estimated",
        charging_note=", ".join(clean["charging"]),
        **clean,
    )
    db.session.add(model)
    db.session.flush()
    audit.record(
        actor, "catalog.create", model, summary=f"Added model “{model.name}” to the catalog.", after=_snapshot(model)
    )
    db.session.commit()
    return model


def update_model(model_id: int, values: Mapping[str, Any], actor: Actor | None) -> VehicleModel:
    model = own_model(actor, model_id)
    clean, errors = check_model(values, number_format_of(actor), actor=actor, model_id=model_id)
    if errors:
        _refuse(errors)
    before = _snapshot(model)
    for field, value in clean.items():
        setattr(model, field, value)
    if before["charging"] != clean["charging"]:
        model.charging_note = ", ".join(clean["charging"])
    after = _snapshot(model)
    changed = sorted(k for k in after if after[k] != before[k])
    if changed:
        audit.record(
            actor,
            "catalog.update",
            model,
            summary=f"Changed {', '.join(changed)} of “{model.name}”.",
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    db.session.commit()
    return model


def set_retired(model_id: int, retired: bool, actor: Actor | None) -> VehicleModel:
    """Retire a model (no new bids with it; existing bids keep it) or bring it back."""
    model = own_model(actor, model_id)
    if model.retired != retired:
        model.retired = retired
        audit.record(
            actor,
            "catalog.retire" if retired else "catalog.reinstate",
            model,
            summary=f"{'Retired' if retired else 'Brought back'} “{model.name}”.",
            before={"retired": not retired},
            after={"retired": retired},
        )
    db.session.commit()
    return model


def values_of(model: VehicleModel) -> dict[str, Any]:
    """The model's fields as a form shows them."""
    return {
        "name": model.name,
        "segment_id": model.segment_id,
        "powertrain": model.powertrain,
        "markets": ", ".join(model.markets or []),
        "range_km": model.range_km if model.range_km is not None else "",
        "payload_kg": model.payload_kg if model.payload_kg is not None else "",
        "battery_kwh": model.battery_kwh if model.battery_kwh is not None else "",
        "charging": list(model.charging or []),
        "list_price": model.list_price if model.list_price is not None else "",
        "currency": model.currency,
        "yearly_capacity": model.yearly_capacity if model.yearly_capacity is not None else "",
    }


def shortfalls(model: VehicleModel, lot: Any) -> list[str]:
    """What a model lacks to serve a lot (empty when it meets every requirement), in words a bidder reads."""
    problems: list[str] = []
    if model.segment_id != lot.segment_id:
        problems.append(f"it is a {model.segment.short_name.lower()}, the lot is for {lot.segment.short_name.lower()}")
    if lot.min_range_km:
        if model.range_km is None:
            problems.append(f"its range is not stated, the lot needs at least {lot.min_range_km} km")
        elif model.range_km < lot.min_range_km:
            problems.append(f"its range of {model.range_km} km is below the lot's minimum of {lot.min_range_km} km")
    if lot.min_payload_kg:
        if model.payload_kg is None:
            problems.append(f"its payload is not stated, the lot needs at least {lot.min_payload_kg:,} kg")
        elif model.payload_kg < lot.min_payload_kg:
            problems.append(
                f"its payload of {model.payload_kg:,} kg is below the lot's minimum of {lot.min_payload_kg:,} kg"
            )
    if lot.charging not in (model.charging or []):
        has = ", ".join(model.charging or []) or "none stated"
        problems.append(f"it charges with {has}, the lot needs {lot.charging}")
    return problems


def money_text(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def own_models_query(actor: Actor) -> sa.Select[Any]:
    """The OEM's own models, as a query to page through (the API)."""
    require_oem(actor)
    return sa.select(VehicleModel).where(VehicleModel.organization_id == actor.organization_id)
