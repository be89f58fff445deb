"""Open data: each round's OCDS 1.1 release package validates offline and withholds what is private.

The schemas are the copies in tests/data/ocds (see its README): the lots extension merged into
the release schema as a JSON Merge Patch, registered under the URL the package schema refers
to, and every codelist field checked against its CSV (the schema enforces only some of them).
"""

from __future__ import annotations

import copy
import csv
import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from marketplace.extensions import db
from marketplace.models import Allocation, ConfirmationStatus, Round, RoundPhase
from marketplace.services import ocds, rounds
from tests.factories import make_round
from tests.report_helpers import report_round

DATA = Path(__file__).resolve().parent / "data" / "ocds"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null removes a member, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@cache
def release_schema() -> dict[str, Any]:
    core = json.loads((DATA / "release-schema.json").read_text())
    return merge_patch(core, json.loads((DATA / "lots_extension" / "release-schema.json").read_text()))


@cache
def package_validator() -> Draft4Validator:
    package_schema = json.loads((DATA / "release-package-schema.json").read_text())
    merged = release_schema()
    registry = Registry().with_resource(merged["id"], DRAFT4.create_resource(merged))
    assert package_schema["properties"]["releases"]["items"]["$ref"] == merged["id"]
    return Draft4Validator(package_schema, registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER)


@cache
def codes(codelist: str) -> frozenset[str]:
    with (DATA / "codelists" / codelist).open(newline="", encoding="utf-8") as f:
        return frozenset(row["Code"] for row in csv.DictReader(f))


def codelist_problems(instance: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Every value of a field with a codelist that is not a Code of its CSV, walking the schema beside the data."""
    while "$ref" in schema:
        schema = release_schema()["definitions"][schema["$ref"].split("/")[-1]]
    problems = []
    if "codelist" in schema and instance is not None:
        for value in instance if isinstance(instance, list) else [instance]:
            if value not in codes(schema["codelist"]):
                problems.append(f"{path}: {value!r} is not in {schema['codelist']}")
    if isinstance(instance, dict):
        for key, value in instance.items():
            if key in schema.get("properties", {}):
                problems += codelist_problems(value, schema["properties"][key], f"{path}/{key}")
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for n, value in enumerate(instance):
            problems += codelist_problems(value, schema["items"], f"{path}/{n}")
    return problems


def check(package: dict[str, Any]) -> dict[str, Any]:
    """Validate a package (schema, codelists, dates, references) and return its one release."""
    errors = sorted(package_validator().iter_errors(package), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    [release] = package["releases"]
    assert codelist_problems(release, release_schema()) == []
    assert package["extensions"] == [ocds.LOTS_EXTENSION]
    for stamp in (package["publishedDate"], release["date"]):
        assert datetime.fromisoformat(stamp).tzinfo is not None  # format checks need extra packages: check here
    party_ids = {p["id"] for p in release["parties"]}
    lot_ids = {lot["id"] for lot in release["tender"].get("lots", [])}
    assert release["buyer"]["id"] in party_ids
    for item in release["tender"].get("items", []):
        assert item["relatedLot"] in lot_ids
    for award in release.get("awards", []):
        assert set(award["relatedLots"]) <= lot_ids
        assert {s["id"] for s in award["suppliers"]} <= party_ids
    award_ids = {a["id"] for a in release.get("awards", [])}
    assert {c["awardID"] for c in release.get("contracts", [])} <= award_ids
    return release


def test_the_merged_schema_knows_lots_and_the_validator_catches_a_bad_package():
    assert "Lot" in release_schema()["definitions"]
    assert "lots" in release_schema()["definitions"]["Tender"]["properties"]
    bad = {"uri": "urn:x", "version": "1.1", "publishedDate": "2027-01-01T00:00:00Z", "publisher": {"name": "x"},
           "releases": [{"ocid": "ocds-x-1", "id": "1", "date": "2027-01-01T00:00:00Z", "tag": ["tender"],
                         "initiationType": "tender", "tender": {"id": "t", "lots": [{"id": "lot-1", "status": "open"}]}}]}  # fmt: skip
    assert not package_validator().is_valid(bad)  # "open" is no lot status
    bad["releases"][0]["tender"]["lots"][0]["status"] = "active"
    assert package_validator().is_valid(bad)
    bad["releases"][0]["tender"]["procurementMethod"] = "auction"
    assert codelist_problems(bad["releases"][0], release_schema())  # a code the schema alone would not reject


def _names(package: dict[str, Any]) -> str:
    return json.dumps(package, ensure_ascii=False)


def test_demand_open_publishes_planning_without_fleets_or_prices(world):
    made = report_round(world, "demand_open")
    package = ocds.release_package(made.round)
    release = check(package)
    assert release["ocid"] == f"ocds-fecmkt-round-{made.round.id}"
    assert release["tag"] == ["planning"]
    assert release["tender"]["status"] == "planned"
    assert "lots" not in release["tender"]
    assert "56 vehicles" in release["planning"]["budget"]["description"]
    assert "amount" not in release["planning"]["budget"]  # maximum prices would guide bids
    assert [p["roles"] for p in release["parties"]] == [["buyer", "procuringEntity"]]
    text = _names(package)
    for org in (made.fleet_a, made.fleet_b, made.oem_a, made.oem_c):
        assert org.name not in text


def test_tendering_publishes_the_lots_with_sealed_bids(world):
    made = report_round(world, "bids_closed")
    release = check(ocds.release_package(made.round))
    assert release["tag"] == ["planning", "tender"]
    assert release["tender"]["status"] == "active"
    lots = {lot["id"]: lot for lot in release["tender"]["lots"]}
    assert set(lots) == {"lot-1", "lot-2"}
    assert all(lot["status"] == "active" and "value" not in lot for lot in lots.values())
    assert [(i["id"], i["quantity"], i["relatedLot"]) for i in release["tender"]["items"]] == [
        ("lot-1", 40, "lot-1"), ("lot-2", 12, "lot-2"),
    ]  # fmt: skip
    assert "tenderers" not in release["tender"] and "awards" not in release
    text = _names(release)
    for org in (made.fleet_a, made.fleet_b, made.oem_a, made.oem_b, made.oem_c):
        assert org.name not in text  # bids are sealed; fleets are never in the tender
    assert release["tender"]["tenderPeriod"]["endDate"] <= release["date"]  # bids were closed by hand, early


@pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)
def test_contracting_publishes_awards_suppliers_and_confirmed_contracts(world, login):
    made = report_round(world, "contracting")
    package = ocds.release_package(made.round)
    release = check(package)
    assert release["tag"] == ["planning", "tender", "award", "contract"]
    assert release["tender"]["status"] == "complete"
    assert release["planning"]["budget"]["amount"] == {"amount": 21_740_000, "currency": "USD"}
    lots = {lot["id"]: lot for lot in release["tender"]["lots"]}
    assert lots["lot-1"]["value"]["amount"] == 30 * 250_000 + 10 * 240_000
    assert lots["lot-2"]["value"]["amount"] == 12 * 900_000
    assert {lot["status"] for lot in lots.values()} == {"complete"}
    roles = {p["name"]: sorted(p["roles"]) for p in release["parties"]}
    assert roles[made.oem_a.name] == roles[made.oem_b.name] == ["supplier", "tenderer"]
    assert roles[made.oem_c.name] == ["tenderer"]  # bid and lost
    assert roles[made.fleet_a.name] == ["buyer"]  # confirmed: a party to a contract
    assert made.fleet_b.name not in roles  # declined one allocation, has not decided the other
    assert release["tender"]["numberOfTenderers"] == 3
    awards = {a["id"]: a for a in release["awards"]}
    lot1 = awards[f"lot-1-supplier-{made.oem_a.id}"]
    lot2 = awards[f"lot-2-supplier-{made.oem_b.id}"]
    assert lot1["value"] == {"amount": 9_200_000, "currency": "USD"} and lot1["relatedLots"] == ["lot-1"]
    assert lot2["value"] == {"amount": 10_200_006, "currency": "USD"}
    assert lot2["items"][0]["unit"]["value"]["amount"] == 850_000.5 and lot2["items"][0]["quantity"] == 12
    assert {a["status"] for a in awards.values()} == {"active"}
    [contract] = release["contracts"]  # L1 confirmed; L2 declined makes none; L3 still pending
    assert contract["awardID"] == lot1["id"] and contract["status"] == "active"
    assert contract["value"] == {"amount": 6_900_000, "currency": "USD"}
    assert contract["items"][0]["quantity"] == 30
    # The download is the same package, for coordinators only.
    response = login(world.coordinator).get(f"/coordinator/rounds/{made.round.id}/ocds.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    downloaded = response.get_json()
    check(downloaded)
    assert downloaded["releases"] == package["releases"]
    assert login(world.fleet).get(f"/coordinator/rounds/{made.round.id}/ocds.json").status_code == 403
    # Once every allocation of an award is declined, the award is cancelled and makes no contract.
    allocation = db.session.execute(
        sa.select(Allocation).where(Allocation.demand_line_id == made.lines["L3"].id)
    ).scalar_one()
    allocation.confirmation = ConfirmationStatus.DECLINED
    db.session.commit()
    release = check(ocds.release_package(db.session.get(Round, made.round.id)))
    assert {a["id"]: a["status"] for a in release["awards"]} == {lot1["id"]: "active", lot2["id"]: "cancelled"}
    assert [c["awardID"] for c in release["contracts"]] == [lot1["id"]]


@pytest.mark.parametrize("phase", [RoundPhase.DRAFT, RoundPhase.CANCELLED])
def test_rounds_without_demand_still_validate(world, phase):
    rnd = make_round(world.coordinator, phase)
    release = check(ocds.release_package(rnd))
    assert release["tender"]["status"] == {"draft": "planning", "cancelled": "cancelled"}[phase.value]


def test_a_cancelled_tender_is_tagged_as_such(world):
    made = report_round(world, "tendering")
    rounds.transition(made.round.id, RoundPhase.CANCELLED, world.coordinator)
    release = check(ocds.release_package(db.session.get(Round, made.round.id)))
    assert release["tag"] == ["planning", "tender", "tenderCancellation"]
    assert {lot["status"] for lot in release["tender"]["lots"]} == {"cancelled"}
