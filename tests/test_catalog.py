"""The OEM's catalog: every field's rule and message, own models only, retire, audit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import AuditEntry, VehicleModel
from marketplace.services import access, catalog
from marketplace.services.errors import Forbidden, NotFound, ValidationFailed
from tests.factories import make_model

GOOD = {
    "name": "eRoute 26",
    "segment_id": "md_box_truck",
    "powertrain": "BEV",
    "markets": "US, ca",
    "range_km": "330",
    "payload_kg": "5400",
    "battery_kwh": "210",
    "charging": ["CCS1", "J1772"],
    "list_price": "238500.50",
    "currency": "USD",
    "yearly_capacity": "1200",
}


def test_create_model_saves_every_field_and_audits(world):
    model = catalog.create_model(GOOD, world.oem)
    assert model.organization_id == world.oem.organization_id
    assert model.manufacturer == world.oem.organization.name
    assert model.markets == ["US", "CA"]
    assert (model.range_km, model.payload_kg, model.battery_kwh, model.yearly_capacity) == (330, 5400, 210, 1200)
    assert str(model.list_price) == "238500.50"
    assert model.charging == ["CCS1", "J1772"]
    assert model.code.startswith("oem_") and model.code.endswith("eroute_26")
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "catalog.create")).scalar_one()
    assert entry.object_id == str(model.id) and entry.actor_id == world.oem.id


def test_two_models_with_one_name_are_refused_and_similar_names_get_distinct_codes(world):
    a = catalog.create_model(GOOD, world.oem)
    with pytest.raises(ValidationFailed) as refused:
        catalog.create_model({**GOOD, "name": GOOD["name"].upper()}, world.oem)
    assert "already has a model named" in refused.value.field_errors["name"]
    b = catalog.create_model({**GOOD, "name": GOOD["name"] + "!"}, world.oem)  # the same code before the number
    assert a.code != b.code
    assert catalog.create_model(GOOD, world.other_oem).name == a.name  # another OEM may use the name


BAD_FIELDS = [
    ("name", "", "give the model a name"),
    ("name", "x" * 201, "must be at most 200 characters (it has 201)"),
    ("segment_id", "", "choose a segment"),
    ("segment_id", "flying_car", "“flying_car” is not a segment"),
    ("powertrain", "diesel", "choose BEV or FCEV"),
    ("markets", "", "name at least one country the model is sold in, such as US"),
    (
        "markets",
        "USA, Canada",
        "“USA”, “Canada” is not a country code: use ISO 3166-1 alpha-2 codes such as US, CA, DE",
    ),
    ("range_km", "", "must be a whole number of km above 0"),
    ("range_km", "0", "must be a whole number of km above 0"),
    ("range_km", "12.5", "must be a whole number of km above 0"),
    ("range_km", "2000000", "must be at most 1,000,000"),
    ("payload_kg", "-3", "must be a whole number of kg above 0, or empty"),
    ("battery_kwh", "lots", "must be a whole number of kWh above 0, or empty"),
    ("charging", [], "choose at least one charging standard"),
    (
        "charging",
        ["CCS1", "Schuko"],
        "“Schuko” is not a charging standard: use " + ", ".join(catalog.CHARGING_STANDARDS),
    ),
    ("list_price", "abc", "must be an amount in USD above 0, such as 185000 or 185000.50"),
    ("list_price", "0", "must be above 0 USD"),
    ("list_price", "1.005", "more than 2 decimals: prices are exact to the cent"),
    ("currency", "dollars", "“DOLLARS” is not a currency the marketplace supports: use one of USD, EUR, CAD"),
    ("currency", "XYZ", "“XYZ” is not a currency the marketplace supports: use one of USD"),
    ("list_price", "185000,50", "“185000,50” is not written in your organization's number format (1,234.56"),
    ("range_km", "9" * 5000, "is too long for a number (5,000 characters; at most 40)"),
    ("name", "Bus\x00", "holds an invisible control character (NUL) at character 4: remove it"),
    ("yearly_capacity", "-1", "must be a whole number of vehicles a year, 0 or more, or empty"),
]


def test_each_bad_field_gets_its_message_and_nothing_is_saved(world):
    # One test over every case: an app per case would cost a third of a second each.
    for field, value, message in BAD_FIELDS:
        with pytest.raises(ValidationFailed) as exc:
            catalog.create_model({**GOOD, field: value}, world.oem)
        errors = exc.value.field_errors
        assert set(errors) == {field} and errors[field].startswith(message), (field, value, errors)
        db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(VehicleModel.id))).scalar_one() == 0


def test_optional_specs_may_be_empty(world):
    model = catalog.create_model(
        {**GOOD, "payload_kg": "", "battery_kwh": "", "list_price": "", "yearly_capacity": ""}, world.oem
    )
    assert model.payload_kg is None and model.list_price is None and model.yearly_capacity is None


def test_update_changes_fields_and_audits_only_the_changes(world):
    model = catalog.create_model(GOOD, world.oem)
    catalog.update_model(model.id, {**GOOD, "range_km": "350", "charging": ["CCS1", "MCS"]}, world.oem)
    assert model.range_km == 350 and model.charging == ["CCS1", "MCS"]
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "catalog.update")).scalar_one()
    assert set(entry.after) == {"range_km", "charging"}
    assert entry.before["range_km"] == 330


def test_update_with_a_bad_field_keeps_the_saved_model(world):
    model = catalog.create_model(GOOD, world.oem)
    with pytest.raises(ValidationFailed):
        catalog.update_model(model.id, {**GOOD, "range_km": "far"}, world.oem)
    db.session.rollback()
    assert db.session.get(VehicleModel, model.id).range_km == 330


def test_retire_and_bring_back(world):
    model = make_model(world.oem.organization)
    catalog.set_retired(model.id, True, world.oem)
    assert model.retired
    assert model not in catalog.models_of(world.oem, include_retired=False)
    catalog.set_retired(model.id, False, world.oem)
    assert not model.retired
    actions = db.session.execute(sa.select(AuditEntry.action).order_by(AuditEntry.id)).scalars().all()
    assert actions == ["catalog.retire", "catalog.reinstate"]


def test_another_oems_model_is_not_found(world):
    theirs = make_model(world.other_oem.organization)
    for call in (
        lambda: access.own_model(world.oem, theirs.id),
        lambda: catalog.update_model(theirs.id, GOOD, world.oem),
        lambda: catalog.set_retired(theirs.id, True, world.oem),
    ):
        with pytest.raises(NotFound):
            call()
    assert catalog.models_of(world.oem) == []
    assert not theirs.retired


def test_only_oems_keep_a_catalog(world):
    for user in (world.fleet, world.coordinator, None):
        with pytest.raises(Forbidden):
            catalog.create_model(GOOD, user)
