"""Access control: every route x every role x another organization's object.

Each route the app has must appear in ROUTES (a test checks it), so every later route
arrives here with what each role may get from it. Other organizations' objects answer
404, not 403, so their existence does not leak.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from marketplace.models import RoundPhase
from tests.factories import World, make_round

ROLES = ("anonymous", "fleet", "oem", "coordinator")
LOGIN = 302  # anonymous users are sent to the login page


@dataclass
class Objects:
    world: World
    draft_round_id: int

    def own_org(self, role: str) -> int:
        user = self.world.user(role) or self.world.fleet
        return user.organization_id


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    url: Callable[[Objects, str], str]
    expect: dict[str, int]
    data: dict[str, str] = field(default_factory=dict)
    name: str = ""

    def id(self) -> str:
        return self.name or self.endpoint


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def only(role: str, status: int = 200) -> dict[str, int]:
    return {r: (LOGIN if r == "anonymous" else status if r == role else 403) for r in ROLES}


COORDINATOR_ONLY = only("coordinator")

ROUTES = [
    Route("main.landing", "GET", lambda o, r: "/", everyone(200)),
    Route("main.healthz", "GET", lambda o, r: "/healthz", everyone(200)),
    Route("main.dashboard", "GET", lambda o, r: "/dashboard", everyone(302)),
    Route("main.organization", "GET", lambda o, r: f"/organizations/{o.own_org(r)}",
          {"anonymous": LOGIN, "fleet": 200, "oem": 200, "coordinator": 200}, name="organization-own"),
    Route("main.organization", "GET", lambda o, r: f"/organizations/{o.world.other_fleet.organization_id}",
          {"anonymous": LOGIN, "fleet": 404, "oem": 404, "coordinator": 200}, name="organization-other-fleet"),
    Route("main.organization", "GET", lambda o, r: f"/organizations/{o.world.other_oem.organization_id}",
          {"anonymous": LOGIN, "fleet": 404, "oem": 404, "coordinator": 200}, name="organization-other-oem"),
    Route("main.organization", "GET", lambda o, r: "/organizations/999999",
          {"anonymous": LOGIN, "fleet": 404, "oem": 404, "coordinator": 404}, name="organization-missing"),
    Route("auth.login", "GET", lambda o, r: "/login", {"anonymous": 200, "fleet": 302, "oem": 302, "coordinator": 302}),
    Route("auth.logout", "POST", lambda o, r: "/logout", everyone(302)),
    Route("auth.register", "GET", lambda o, r: "/register", {"anonymous": 200, "fleet": 302, "oem": 302, "coordinator": 302}),
    Route("coordinator.dashboard", "GET", lambda o, r: "/coordinator/", COORDINATOR_ONLY),
    Route("coordinator.new_round", "GET", lambda o, r: "/coordinator/rounds/new", COORDINATOR_ONLY),
    Route("coordinator.round_detail", "GET", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}", COORDINATOR_ONLY),
    Route("coordinator.round_detail", "GET", lambda o, r: "/coordinator/rounds/999999", only("coordinator", 404),
          name="round-missing"),
    Route("coordinator.edit_round", "GET", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/edit", COORDINATOR_ONLY),
    Route("coordinator.transition", "POST", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/transition",
          only("coordinator", 302), data={"target": "cancelled"}),
    Route("coordinator.organizations", "GET", lambda o, r: "/coordinator/organizations", COORDINATOR_ONLY),
    Route("coordinator.new_coordinator", "GET", lambda o, r: "/coordinator/users/new", COORDINATOR_ONLY),
    Route("fleet.dashboard", "GET", lambda o, r: "/fleet/", only("fleet")),
    Route("oem.dashboard", "GET", lambda o, r: "/oem/", only("oem")),
]  # fmt: skip

CASES = [pytest.param(route, role, id=f"{route.id()}-{role}") for route in ROUTES for role in ROLES]


def test_every_route_is_in_the_access_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    covered = {route.endpoint for route in ROUTES}
    assert endpoints - covered == set(), "add the new routes to ROUTES with what each role may get"
    assert covered - endpoints == set()
    methods = {(rule.endpoint, m) for rule in app.url_map.iter_rules() for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert {(r.endpoint, r.method) for r in ROUTES} <= methods


@pytest.mark.parametrize(("route", "role"), CASES)
def test_route_answers_each_role_as_it_should(world, login, client, route: Route, role: str):
    rnd = make_round(world.coordinator2, RoundPhase.DRAFT)  # made by another coordinator organization
    objects = Objects(world=world, draft_round_id=rnd.id)
    user = world.user(role)
    if user is not None:
        client = login(user)
    url = route.url(objects, role)
    response = client.open(url, method=route.method, data=route.data)
    assert response.status_code == route.expect[role], response.get_data(as_text=True)[:400]
    if route.expect[role] == LOGIN and role == "anonymous":
        assert "/login" in response.location
