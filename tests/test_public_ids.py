"""Members never see sequential ids: bids, packages, deposits and allocations go by random public ids."""

from __future__ import annotations

import re

import pytest

from marketplace.models import Bid
from marketplace.services import bidding
from tests.bidding_helpers import package_values
from tests.factories import make_bid, make_model, make_tender

PUBLIC = re.compile(r"^[A-Za-z0-9_-]{16}$")


@pytest.fixture
def tender(world):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization)
    return rnd, lots, model


def test_bids_and_packages_are_addressed_by_random_public_ids(world, tender, login):
    rnd, lots, model = tender
    first = make_bid(world.oem, lots[0], model).bid
    theirs = make_bid(world.other_oem, lots[1], make_model(world.other_oem.organization)).bid
    second = make_bid(world.oem, lots[1], model).bid
    ids = [first.public_id, theirs.public_id, second.public_id]
    assert all(PUBLIC.match(i) for i in ids) and len(set(ids)) == 3

    client = login(world.oem)
    response = client.get(f"/oem/bids/{first.public_id}")
    assert response.status_code == 302 and response.location.endswith(f"/lots/{lots[0].id}/bid")
    assert client.get(f"/oem/bids/{first.id}").status_code == 404  # the row id addresses nothing
    assert client.get(f"/oem/bids/{theirs.public_id}").status_code == 404  # another OEM's: as if missing
    page = client.get(f"/oem/rounds/{rnd.id}/lots/{lots[0].id}/bid").get_data(as_text=True)
    assert f"/oem/bids/{first.public_id}/withdraw" in page
    assert not re.search(r"/oem/bids/\d+(?![\w-])", page)  # a public id may start with digits

    package = bidding.submit_package(rnd.id, package_values(lots, model), world.oem).package
    assert PUBLIC.match(package.public_id)
    tender_page = client.get(f"/oem/rounds/{rnd.id}").get_data(as_text=True)
    assert f"/oem/packages/{package.public_id}" in tender_page and not re.search(
        r"/oem/packages/\d+(?![\w-])", tender_page
    )
    assert client.get(f"/oem/packages/{package.public_id}").status_code == 200
    assert client.get(f"/oem/packages/{package.id}").status_code == 404
    response = client.post(f"/oem/packages/{package.public_id}/withdraw")
    assert response.status_code == 302 and response.location.endswith(f"/oem/packages/{package.public_id}")


def test_a_new_row_gets_its_public_id_when_inserted(world, tender):
    from marketplace.extensions import db

    rnd, lots, _ = tender
    bid = Bid(round_id=rnd.id, lot_id=lots[0].id, organization_id=world.oem.organization_id)
    db.session.add(bid)
    db.session.flush()
    assert PUBLIC.match(bid.public_id)
    db.session.rollback()
