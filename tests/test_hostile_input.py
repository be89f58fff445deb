"""Property test (issue 14 item 6): every form and upload endpoint driven with hostile values.

Huge and tiny numbers, both decimal conventions, control characters, unicode, long text, wrong
types and other organizations' ids. Whatever arrives: never a 5xx, nothing half-saved (a refused
request changes no row), and a refused form names the field (a message next to it) or the row.
Examples are bounded so the file stays fast; hypothesis keeps failing examples in its database.
"""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from marketplace.extensions import db
from marketplace.models import (
    AuditEntry,
    BidRevision,
    DemandLine,
    DemandStatus,
    PackageRevision,
    PoolingRun,
    Round,
    RoundPhase,
    VehicleModel,
)
from marketplace.services.demand import FIELDS
from tests.demand_helpers import NOW, open_round, valid_values
from tests.factories import make_line, make_model, make_round, make_tender

SETTINGS = settings(
    max_examples=12,
    # The same examples on every run, so CI never fails on a draw it cannot repeat; each crash a
    # wider search found stays as an explicit regression test (e.g. test_values: 40-digit money).
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

HOSTILE = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(
        [
            "9" * 5000, "1" + "0" * 30, "185000,50", "1,85", "1.234", "1.234,56", "1,234.56", "1e5", "1E400",
            "NaN", "Infinity", "-0", "0.000001", "", " ", "\x00", "12\x00", "١٢", "0x10", "1_000", "½",
            "\u202e12", "x" * 10_000, "=1+1", "2027Q2", "Q9 2027", "true", "[]", "{}", "None",
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.text(max_size=40),
)  # fmt: skip

# Ids as a URL or a form may carry them: beyond 64 bits, negative, zero, not a number.
IDS = st.sampled_from(["9" * 30, str(2**63), "-1", "0", "4.2", "abc", "١"])

TABLES = (DemandLine, VehicleModel, BidRevision, PackageRevision, PoolingRun, Round, AuditEntry)


def counts() -> dict[str, int]:
    db.session.expire_all()
    return {t.__name__: db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in TABLES}


def check(response, before: dict[str, int], *, names_field: bool = True) -> None:
    """Never a 5xx; a refused request saves nothing and names what is wrong."""
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    if response.status_code >= 400:
        assert counts() == before
        if names_field and response.status_code == 400:
            page = response.get_data(as_text=True)
            assert "invalid-feedback d-block" in page or "row " in page, page[:3000]


@pytest.fixture(autouse=True)
def fixed_clock(frozen_clock):
    frozen_clock.freeze(NOW)
    return frozen_clock


# ---------------------------------------------------------------- fleet


@SETTINGS
@given(values=st.fixed_dictionaries({name: HOSTILE for name in FIELDS if name != "charging"}))
@example(values={**{n: v for n, v in valid_values().items() if n != "charging"}, "note": "Depot\x00"})
def test_demand_line_form(world, login, values):
    rnd = db.session.execute(sa.select(Round)).scalars().first() or open_round(world, region_ids=["US-CA"])
    client = login(world.fleet)
    before = counts()
    check(client.post(f"/fleet/rounds/{rnd.id}/lines/new", data={**values, "charging": ["CCS1"]}), before)


@SETTINGS
@given(values=st.fixed_dictionaries({name: HOSTILE for name in FIELDS}), excel_semicolon=st.booleans())
def test_demand_upload(world, login, values, excel_semicolon):
    rnd = db.session.execute(sa.select(Round)).scalars().first() or open_round(world, region_ids=["US-CA"])
    client = login(world.fleet)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if excel_semicolon else ",")
    writer.writerow(FIELDS)
    writer.writerow([values[name] for name in FIELDS])
    writer.writerow(list(valid_values(charging="CCS1", splittable="no").values()))
    before = counts()
    response = client.post(
        f"/fleet/rounds/{rnd.id}/upload", data={"file": (io.BytesIO(out.getvalue().encode()), "lines.csv")}
    )
    assert response.status_code < 500
    assert counts() == before  # checking a file never saves a line (the preview does, after Save all)
    if response.status_code == 400:
        page = response.get_data(as_text=True)
        assert "row " in page or "invalid-feedback" in page or "line " in page, page[:3000]


@SETTINGS
@given(ids=st.lists(st.one_of(IDS, HOSTILE, st.sampled_from(["own", "other"])), min_size=1, max_size=3))
@example(ids=["own", "9" * 30])
def test_commit_with_hostile_line_ids(world, login, ids):
    rnd = db.session.execute(sa.select(Round)).scalars().first() or open_round(world, region_ids=["US-CA"])
    own = make_line(rnd, world.fleet.organization, status=DemandStatus.DRAFT)
    other = make_line(rnd, world.other_fleet.organization, status=DemandStatus.DRAFT)
    wanted = [str(own.id) if i == "own" else str(other.id) if i == "other" else i for i in ids]
    client = login(world.fleet)
    before = counts()
    response = client.post(f"/fleet/rounds/{rnd.id}/commit", data={"line_ids": wanted})
    assert response.status_code < 500
    db.session.expire_all()
    # Earlier examples leave lines behind: a drawn "1" may be one of this fleet's own draft lines.
    mine = {
        str(i)
        for i in db.session.execute(sa.select(DemandLine.id).filter_by(organization_id=own.organization_id)).scalars()
    }
    if "other" in ids or any(i not in ("own", "other") and i not in mine for i in ids):
        assert counts() == before  # all or nothing: an unknown or foreign id commits nothing
        assert db.session.get(DemandLine, own.id).status is DemandStatus.DRAFT


# ---------------------------------------------------------------- OEM


CATALOG_FIELDS = ("name", "segment_id", "powertrain", "markets", "range_km", "payload_kg", "battery_kwh",
                  "list_price", "currency", "yearly_capacity")  # fmt: skip


@SETTINGS
@given(values=st.fixed_dictionaries({name: HOSTILE for name in CATALOG_FIELDS}))
def test_catalog_form(world, login, values):
    client = login(world.oem)
    before = counts()
    check(client.post("/oem/catalog/new", data={**values, "charging": ["CCS1"]}), before)


BID_FIELDS = ("model_code", "min_quantity", "max_quantity", "tier1_min", "tier1_price", "tier2_min", "tier2_price")


@pytest.fixture
def tender(world):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization)
    from marketplace.services import bidding

    bidding.set_capacity(rnd.id, 500, world.oem)
    return rnd, lots, model


@SETTINGS
@given(
    values=st.fixed_dictionaries({name: HOSTILE for name in BID_FIELDS}),
    lot=st.one_of(st.just("own"), IDS, HOSTILE),
)
@example(values={name: "9" * 5000 for name in BID_FIELDS}, lot="9" * 30)
def test_bid_form_and_lot_ids(world, login, tender, values, lot):
    rnd, lots, _ = tender
    client = login(world.oem)
    before = counts()
    lot_id = lots[0].id if lot == "own" else lot
    response = client.post(f"/oem/rounds/{rnd.id}/lots/{lot_id}/bid", data=values)
    check(response, before, names_field=lot == "own")


@SETTINGS
@given(capacity=HOSTILE, package=st.dictionaries(st.sampled_from(["name", "q0", "q1", "p0", "p1"]), HOSTILE))
def test_capacity_and_package_forms(world, login, tender, capacity, package):
    rnd, lots, model = tender
    client = login(world.oem)
    before = counts()
    check(client.post(f"/oem/rounds/{rnd.id}/capacity", data={"capacity": capacity}), before)
    data = {"name": package.get("name", "P")}
    for n, lot in enumerate(lots[:2]):
        data[f"lot{lot.id}_model_code"] = model.code
        data[f"lot{lot.id}_quantity"] = package.get(f"q{n}", "10")
        data[f"lot{lot.id}_unit_price"] = package.get(f"p{n}", "200000")
    before = counts()
    check(client.post(f"/oem/rounds/{rnd.id}/packages/new", data=data), before)


# ---------------------------------------------------------------- coordinator


ROUND_FIELDS = ("name", "description", "confirmation_period_days", "min_lot_quantity", "max_lot_quantity",
                "max_levels_up", "max_winners_per_lot", "max_share_percent", "deposit_per_vehicle",
                "decline_forfeit_percent", "withdrawal_forfeit_percent", "demand_deadline")  # fmt: skip


@SETTINGS
@given(
    values=st.fixed_dictionaries({name: HOSTILE for name in ROUND_FIELDS}),
    currency=st.sampled_from(["JPY", "USD", "XYZ"]),
)
def test_round_form(world, login, values, currency):
    client = login(world.coordinator)
    before = counts()
    data = {**values, "segment_ids": ["md_box_truck"], "region_ids": ["US-CA"], "line_service": "whole",
            "currency": currency}  # fmt: skip
    check(client.post("/coordinator/rounds/new", data=data), before)


@SETTINGS
@given(
    values=st.fixed_dictionaries(
        {n: HOSTILE for n in ("min_lot_quantity", "max_lot_quantity", "max_levels_up", "time_limit")}
    )
)
def test_pooling_form(world, login, values):
    rnd = db.session.execute(sa.select(Round)).scalars().first() or make_round(
        world.coordinator, RoundPhase.DEMAND_CLOSED
    )
    client = login(world.coordinator)
    before = counts()
    response = client.post(f"/coordinator/rounds/{rnd.id}/pooling", data=values)
    assert response.status_code < 500
    if response.status_code >= 400:
        assert counts() == before
