"""The OEM's pages over HTTP: forms keep what was typed and show each message; a late bid is refused; sealed pages."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import BidRevision, VehicleModel
from marketplace.services import bidding, clock
from tests.bidding_helpers import package_values
from tests.factories import make_bid, make_model, make_tender

MODEL_FORM = {
    "name": "eRoute 26", "segment_id": "md_box_truck", "powertrain": "BEV", "markets": "US, CA", "range_km": "330",
    "payload_kg": "5400", "battery_kwh": "210", "charging": ["CCS1", "J1772"], "list_price": "238500",
    "currency": "USD", "yearly_capacity": "1200",
}  # fmt: skip


def test_catalog_form_shows_each_problem_keeps_the_input_then_saves(world, login):
    client = login(world.oem)
    bad = client.post("/oem/catalog/new", data={**MODEL_FORM, "range_km": "far", "markets": "USA"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "must be a whole number of km above 0" in body
    assert "“USA” is not a country code" in body
    assert 'value="eRoute 26"' in body  # what was typed stays
    assert db.session.execute(sa.select(sa.func.count(VehicleModel.id))).scalar_one() == 0

    ok = client.post("/oem/catalog/new", data=MODEL_FORM)
    assert ok.status_code == 302
    model = db.session.execute(sa.select(VehicleModel)).scalar_one()
    page = client.get("/oem/catalog").get_data(as_text=True)
    assert "eRoute 26" in page and "238,500 USD" in page

    edit = client.get(f"/oem/catalog/{model.id}/edit").get_data(as_text=True)
    assert 'value="330"' in edit and 'value="US, CA"' in edit
    client.post(f"/oem/catalog/{model.id}/edit", data={**MODEL_FORM, "range_km": "345"})
    client.post(f"/oem/catalog/{model.id}/retire", data={"retired": "1"})
    db.session.expire_all()
    assert model.range_km == 345 and model.retired


def test_a_late_bid_is_refused_with_the_deadline_and_nothing_is_saved(world, login, frozen_clock):
    start = clock.now()
    frozen_clock.freeze(start)
    deadline = start + timedelta(days=20)
    rnd, lots = make_tender(world.coordinator, world.fleet.organization, bid_deadline=deadline)
    model = make_model(world.oem.organization)
    make_bid(world.oem, lots[0], model)
    client = login(world.oem)
    url = f"/oem/rounds/{rnd.id}/lots/{lots[0].id}/bid"
    form = {"model_code": model.code, "min_quantity": "10", "max_quantity": "40", "tier1_min": "10",
            "tier1_price": "199000"}  # fmt: skip

    frozen_clock.freeze(deadline - timedelta(seconds=1))
    assert client.post(url, data=form).status_code == 302
    frozen_clock.freeze(deadline)
    late = client.post(url, data={**form, "tier1_price": "150000"})
    assert late.status_code == 409
    assert f"Bids closed at {deadline:%Y-%m-%d %H:%M:%S} UTC (the bid deadline)" in late.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(BidRevision.id))).scalar_one() == 2
    # After the deadline the pages are read-only: the bid and its history, no form.
    page = client.get(url).get_data(as_text=True)
    assert 'data-testid="bid-form"' not in page and "199,000 USD" in page
    assert "Save capacity" not in client.get(f"/oem/rounds/{rnd.id}").get_data(as_text=True)


def test_tender_pages_show_nothing_of_other_oems_or_fleets(world, login):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    theirs = make_model(world.other_oem.organization, name="Rival Hauler 9", code="rival_hauler_9")
    make_bid(world.other_oem, lots[0], theirs, tiers=((10, "187654.32"),))
    bidding.submit_package(rnd.id, package_values(lots, theirs, name="Rival bundle"), world.other_oem)
    client = login(world.oem)
    pages = [
        client.get(f"/oem/rounds/{rnd.id}").get_data(as_text=True),
        client.get(f"/oem/rounds/{rnd.id}/lots/{lots[0].id}/bid").get_data(as_text=True),
        client.get(f"/oem/rounds/{rnd.id}/packages/new").get_data(as_text=True),
    ]
    for page in pages:
        for secret in ("Rival", "rival_hauler_9", "187,654.32", "187654.32", world.fleet.organization.name):
            assert secret not in page
    assert "No bid" in pages[0] and "No package bids." in pages[0]
    assert "Your bids: 0 of 2 lots" in client.get("/oem/").get_data(as_text=True)
    assert "No bid on this lot yet." in pages[1]
