"""Loading done once: no page's number of SQL statements grows with the data (issue 16).

Two rounds are built through the services (`flask seed-large`'s code), one with three times the
lines and bids of the other, and every page of the access test's route list is read as each role
that may see it, on both. A page that reaches through each row to a related row one query at a
time (an N+1) shows up as a count that differs between the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import g

from marketplace.extensions import db
from marketplace.models import Bid, DemandLine, Organization, Round, User, VehicleModel
from marketplace.models.demand import DemandUpload
from marketplace.services.demo import DEMO_PASSWORD
from marketplace.services.large_seed import seed_large
from tests.test_access import LOGIN, ROLES, ROUTES, Route

pytestmark = pytest.mark.commits  # statement counts: a rolled-back test adds SAVEPOINT statements (tests/conftest.py)

SMALL = (60, 20)
LARGER = (180, 60)


@dataclass
class ScaledObjects:
    """What tests.test_access.Objects gives its route URLs, taken from a seeded round."""

    world: SimpleNamespace
    draft_round_id: int
    pooling_run_id: int
    scenario_id: int
    keys: dict[str, int | str]

    def own_org(self, role: str) -> int:
        return (self.world.user(role) or self.world.fleet).organization_id

    def demand(self, key: str) -> int | str:
        return self.keys[key]

    def oem(self, key: str) -> int | str:
        return self.keys[key]


def _user(name: str) -> SimpleNamespace:
    """A login (plain values: the measured requests start from an empty session)."""
    user = db.session.execute(sa.select(User).join(User.organization).where(Organization.name == name)).scalar_one()
    return SimpleNamespace(email=user.email, organization_id=user.organization_id)


def _objects(round_id: int, coordinator: User) -> ScaledObjects:
    rnd = db.session.get(Round, round_id)
    tag = rnd.name.split(":")[0].removeprefix("Large round ")
    fleet, other_fleet = _user(f"Large Fleet 001 ({tag})"), _user(f"Large Fleet 002 ({tag})")
    oem, other_oem = _user(f"Large OEM 01 ({tag})"), _user(f"Large OEM 02 ({tag})")
    own = SimpleNamespace(email=coordinator.email, organization_id=coordinator.organization_id)
    users = {"anonymous": None, "coordinator": own, "fleet": fleet, "oem": oem}
    world = SimpleNamespace(fleet=fleet, other_fleet=other_fleet, oem=oem, other_oem=other_oem, user=users.get)

    def first(query):
        return db.session.execute(query.limit(1)).scalar_one()

    def line_of(user: SimpleNamespace) -> int:
        return first(sa.select(DemandLine.id).where(DemandLine.organization_id == user.organization_id))

    def bid_of(user: SimpleNamespace) -> Bid:
        return first(sa.select(Bid).where(Bid.round_id == round_id, Bid.organization_id == user.organization_id))

    def token_of(user: SimpleNamespace) -> str:
        return first(sa.select(DemandUpload.token).where(DemandUpload.organization_id == user.organization_id))

    def model_of(user: SimpleNamespace) -> int:
        return first(sa.select(VehicleModel.id).where(VehicleModel.organization_id == user.organization_id))

    bid = bid_of(oem)
    keys = {
        "round": round_id, "line": line_of(fleet), "other_line": line_of(other_fleet),
        "token": token_of(fleet), "other_token": token_of(other_fleet),
        "model": model_of(oem), "other_model": model_of(other_oem), "lot": bid.lot_id,
        "bid": bid.id, "other_bid": bid_of(other_oem).id, "package": 999999, "other_package": 999998,
    }  # fmt: skip
    return ScaledObjects(world, round_id, rnd.published_pooling_run_id, rnd.published_scenario_id, keys)


def _roles(route: Route) -> list[str]:
    """Every role that may read the page (not only be refused it)."""
    return [r for r in ROLES if r != "anonymous" and route.expect[r] not in (403, LOGIN)] or ["anonymous"]


def test_no_page_issues_more_statements_with_more_data(app):
    from tests.factories import make_org, make_user

    coordinator = make_user(make_org("coordinator"), email="coordinator@example.org", password=DEMO_PASSWORD)
    scales = []
    for lines, bids in (SMALL, LARGER):
        result = seed_large(lines, bids, coordinator=coordinator, time_limit=2)
        scales.append(_objects(result.round_id, coordinator))
    db.session.expire_all()

    statements = []

    @sa.event.listens_for(db.engine, "before_cursor_execute")
    def count(*_args):
        statements.append(1)

    clients = {}

    def client_for(scale: int, role: str):
        """One logged-in client per data size and role (logging in once, as people do)."""
        if (scale, role) not in clients:
            clients[scale, role] = app.test_client()
            g.pop("_login_user", None)
            user = scales[scale].world.user(role)
            if user is not None:
                response = clients[scale, role].post("/login", data={"email": user.email, "password": DEMO_PASSWORD})
                assert response.status_code == 302
        return clients[scale, role]

    def get(scale: int, role: str, url: str):
        g.pop("_login_user", None)  # the test's app context (and its g) outlives each request: forget who asked
        return client_for(scale, role).get(url)

    def measure(scale: int, route: Route, role: str) -> tuple[int, int]:
        url = route.url(scales[scale], role)
        get(scale, role, url)  # warm: process-wide caches (reference data) are filled once
        db.session.remove()  # the test's app context would otherwise share one identity map across requests
        statements.clear()
        response = get(scale, role, url)
        return response.status_code, len(statements)

    grown = []
    read = 0
    statuses = []
    try:
        for route in ROUTES:
            if route.method != "GET":
                continue
            for role in _roles(route):
                small, larger = (measure(scale, route, role) for scale in (0, 1))
                read += small[0] == 200
                statuses.append((route.id(), role, small[0]))
                if small != larger:
                    grown.append(f"{route.id()} as {role}: {small[1]} -> {larger[1]} statements "
                                 f"(status {small[0]} -> {larger[0]})")  # fmt: skip
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert read > 30, f"most pages should answer 200 on a seeded round: {statuses}"
    assert grown == [], "pages whose statement count grows with the data:\n" + "\n".join(grown)
