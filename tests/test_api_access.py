"""Access to the API: every operation x role (fleet, OEM, coordinator) on another organization's object,
no token, and read-only tokens on every write.

Each API endpoint must appear in OPS (a test checks it). Another organization's object answers 404
(its existence does not leak); a role the operation is not for answers 403; a read token never writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import (
    AwardScenario,
    DemandLine,
    DemandStatus,
    LineService,
    PoolingRun,
    RoundPhase,
    VehicleModel,
)
from tests.api_helpers import api_line, auth, token_for
from tests.demand_helpers import NOW
from tests.factories import make_round

ROLES = ("fleet", "oem", "coordinator")
UNKNOWN_PUBLIC_ID = "A" * 16  # answers exactly as another organization's allocation would


@dataclass
class Objects:
    round: int  # demand open, made by the coordinator
    draft_round: int  # made by another coordinator organization
    line: int  # the fleet's own line
    other_line: int  # another fleet's line
    world: Any = None
    pooling_run: int = 0  # of the draft round, queued (no output yet)
    scenario: int = 0  # of the draft round, queued

    def awarded(self, key: str) -> Any:
        """A round in contracting whose published award gives another fleet's line an allocation."""
        if not hasattr(self, "_awarded"):
            from marketplace.models import Allocation, ConfirmationStatus
            from tests.deposit_helpers import publish_award
            from tests.factories import make_line

            rnd = make_round(self.world.coordinator, RoundPhase.DEMAND_OPEN, name="Awarded round")
            line = make_line(rnd, self.world.other_fleet.organization, status=DemandStatus.COMMITTED)
            scenario = publish_award(rnd, self.world, {line.id: ConfirmationStatus.PENDING}, RoundPhase.CONTRACTING)
            allocation = db.session.execute(
                sa.select(Allocation).where(Allocation.scenario_id == scenario.id)
            ).scalar_one()
            self._awarded = {"round": rnd.id, "other_allocation": allocation.public_id}
        return self._awarded[key]

    def oem(self, key: str) -> Any:
        """A tender with a model, bid and package of each OEM ("other_bid"...), made when an operation asks."""
        if not hasattr(self, "_oem"):
            from tests.bidding_helpers import access_objects

            self._oem = access_objects(self.world)
            self._oem["other_model_code"] = db.session.get(VehicleModel, self._oem["other_model"]).code
        return self._oem[key]


@dataclass(frozen=True)
class Op:
    endpoint: str
    method: str
    url: Callable[[Objects], str]
    expect: dict[str, int]
    body: Any = None
    name: str = ""

    def id(self) -> str:
        return self.name or self.endpoint


def only(role: str, status: int = 200, others: int = 403) -> dict[str, int]:
    return {r: status if r == role else others for r in ROLES}


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


OPS = [
    # Everyone: rounds visible to me; a draft does not exist for fleets and OEMs.
    Op("api_v1_rounds.list_rounds", "GET", lambda o: "/api/v1/rounds", everyone(200)),
    Op("api_v1_rounds.get_round", "GET", lambda o: f"/api/v1/rounds/{o.draft_round}",
       {"fleet": 404, "oem": 404, "coordinator": 200}, name="get-draft-round"),
    # Fleet: its own lines; another fleet's line is 404.
    Op("api_v1_fleet.list_lines", "GET", lambda o: f"/api/v1/rounds/{o.round}/lines", only("fleet")),
    Op("api_v1_fleet.create_line", "POST", lambda o: f"/api/v1/rounds/{o.round}/lines", only("fleet", 201),
       body=api_line()),
    Op("api_v1_fleet.bulk_create", "POST", lambda o: f"/api/v1/rounds/{o.round}/lines/bulk", only("fleet", 201),
       body={"lines": [api_line(), api_line(quantity=2)]}),
    Op("api_v1_fleet.get_line", "GET", lambda o: f"/api/v1/lines/{o.other_line}", only("fleet", 404),
       name="get-other-fleets-line"),
    Op("api_v1_fleet.update_line", "PUT", lambda o: f"/api/v1/lines/{o.other_line}", only("fleet", 404),
       body=api_line(quantity=99), name="update-other-fleets-line"),
    Op("api_v1_fleet.withdraw_line", "POST", lambda o: f"/api/v1/lines/{o.other_line}/withdraw", only("fleet", 404),
       name="withdraw-other-fleets-line"),
    Op("api_v1_fleet.commit", "POST", lambda o: f"/api/v1/rounds/{o.round}/commit", only("fleet", 409),
       body=None, name="commit-other-fleets-line"),
    Op("api_v1_fleet.pool_progress", "GET", lambda o: f"/api/v1/rounds/{o.round}/pool-progress", only("fleet")),
    Op("api_v1_fleet.list_allocations", "GET", lambda o: f"/api/v1/rounds/{o.round}/allocations",
       only("fleet", 409), name="allocations-before-the-award"),
    Op("api_v1_fleet.list_allocations", "GET", lambda o: f"/api/v1/rounds/{o.awarded('round')}/allocations",
       only("fleet"), name="allocations-after-the-award"),
    Op("api_v1_fleet.confirm_allocation", "POST", lambda o: f"/api/v1/allocations/{UNKNOWN_PUBLIC_ID}/confirm",
       everyone(404), name="confirm-unknown-allocation"),
    Op("api_v1_fleet.confirm_allocation", "POST", lambda o: f"/api/v1/allocations/{o.awarded('other_allocation')}/confirm",
       everyone(404), name="confirm-other-fleets-allocation"),
    Op("api_v1_fleet.decline_allocation", "POST", lambda o: f"/api/v1/allocations/{o.awarded('other_allocation')}/decline",
       everyone(404), name="decline-other-fleets-allocation"),
    Op("api_v1_fleet.list_deposits", "GET", lambda o: "/api/v1/deposits", only("fleet")),
    # OEM: its own catalog, bids and packages; another OEM's model cannot be bid, its bid or package is 404.
    Op("api_v1_oem.list_models", "GET", lambda o: "/api/v1/models", only("oem")),
    Op("api_v1_oem.create_model", "POST", lambda o: "/api/v1/models", only("oem", 201), body=lambda o: _model()),
    Op("api_v1_oem.get_model", "GET", lambda o: f"/api/v1/models/{o.oem('other_model')}", only("oem", 404),
       name="get-other-oems-model"),
    Op("api_v1_oem.update_model", "PUT", lambda o: f"/api/v1/models/{o.oem('other_model')}", only("oem", 404),
       body=lambda o: _model(), name="update-other-oems-model"),
    Op("api_v1_oem.retire_model", "POST", lambda o: f"/api/v1/models/{o.oem('other_model')}/retire",
       only("oem", 404), name="retire-other-oems-model"),
    Op("api_v1_oem.reinstate_model", "POST", lambda o: f"/api/v1/models/{o.oem('other_model')}/reinstate",
       only("oem", 404), name="reinstate-other-oems-model"),
    Op("api_v1_oem.set_capacity", "PUT", lambda o: f"/api/v1/rounds/{o.oem('round')}/capacity", only("oem"),
       body={"capacity": 80}),
    Op("api_v1_oem.get_quarter_capacity", "GET", lambda o: f"/api/v1/rounds/{o.oem('round')}/capacity/quarters",
       only("oem")),
    Op("api_v1_oem.set_quarter_capacity", "PUT", lambda o: f"/api/v1/rounds/{o.oem('round')}/capacity/quarters",
       only("oem"), body={"quarters": [{"quarter": "2027Q2", "capacity": 600}]}),
    Op("api_v1_oem.list_lots", "GET", lambda o: f"/api/v1/rounds/{o.oem('round')}/lots", only("oem")),
    Op("api_v1_oem.list_bids", "GET", lambda o: f"/api/v1/rounds/{o.oem('round')}/bids", only("oem")),
    Op("api_v1_oem.submit_bid", "POST", lambda o: f"/api/v1/rounds/{o.oem('round')}/lots/{o.oem('lot')}/bid",
       only("oem", 400), body=lambda o: {"model_code": o.oem("other_model_code"), "min_quantity": 10,
       "max_quantity": 20, "tiers": [{"min_quantity": 10, "unit_price": "230000"}]}, name="bid-with-other-oems-model"),
    Op("api_v1_oem.withdraw_bid", "POST", lambda o: f"/api/v1/bids/{o.oem('other_bid')}/withdraw", only("oem", 404),
       name="withdraw-other-oems-bid"),
    Op("api_v1_oem.submit_package", "POST", lambda o: f"/api/v1/rounds/{o.oem('round')}/packages", only("oem", 400),
       body=lambda o: _package(o), name="package-with-other-oems-model"),
    Op("api_v1_oem.revise_package", "PUT", lambda o: f"/api/v1/packages/{o.oem('other_package')}", only("oem", 404),
       body=lambda o: _package(o), name="revise-other-oems-package"),
    Op("api_v1_oem.withdraw_package", "POST", lambda o: f"/api/v1/packages/{o.oem('other_package')}/withdraw",
       only("oem", 404), name="withdraw-other-oems-package"),
    Op("api_v1_oem.results", "GET", lambda o: f"/api/v1/rounds/{o.oem('round')}/results", only("oem", 409),
       name="results-before-the-award"),
    Op("api_v1_oem.results", "GET", lambda o: f"/api/v1/rounds/{o.awarded('round')}/results", only("oem"),
       name="results-after-the-award"),
    # Coordinators: any round (the draft of another coordinator organization too); fleets and OEMs 403.
    Op("api_v1_coordinator.create_round", "POST", lambda o: "/api/v1/rounds", only("coordinator", 201),
       body={"name": "Made by the API", "segments": ["md_box_truck"], "regions": ["US"]}),
    Op("api_v1_coordinator.update_round", "PUT", lambda o: f"/api/v1/rounds/{o.draft_round}", only("coordinator"),
       body={"name": "Edited by the API", "segments": ["md_box_truck"], "regions": ["US"]},
       name="edit-another-coordinator-organizations-draft"),
    Op("api_v1_coordinator.transition", "POST", lambda o: f"/api/v1/rounds/{o.draft_round}/transitions",
       only("coordinator"), body={"target": "cancelled"}),
    Op("api_v1_coordinator.start_pooling", "POST", lambda o: f"/api/v1/rounds/{o.draft_round}/pooling-runs",
       only("coordinator", 409), body={}, name="pool-a-draft-round"),
    Op("api_v1_coordinator.get_pooling", "GET", lambda o: f"/api/v1/pooling-runs/{o.pooling_run}", only("coordinator")),
    Op("api_v1_coordinator.pooling_input", "GET", lambda o: f"/api/v1/pooling-runs/{o.pooling_run}/input",
       only("coordinator")),
    Op("api_v1_coordinator.pooling_output", "GET", lambda o: f"/api/v1/pooling-runs/{o.pooling_run}/output",
       only("coordinator", 409), name="pooling-output-not-yet"),
    Op("api_v1_coordinator.publish_pooling", "POST", lambda o: f"/api/v1/pooling-runs/{o.pooling_run}/publish",
       only("coordinator", 409), name="publish-a-queued-run"),
    Op("api_v1_coordinator.start_scenario", "POST", lambda o: f"/api/v1/rounds/{o.draft_round}/scenarios",
       only("coordinator", 409), body={}, name="award-a-draft-round"),
    Op("api_v1_coordinator.get_scenario", "GET", lambda o: f"/api/v1/scenarios/{o.scenario}", only("coordinator")),
    Op("api_v1_coordinator.scenario_input", "GET", lambda o: f"/api/v1/scenarios/{o.scenario}/input",
       only("coordinator")),
    Op("api_v1_coordinator.scenario_output", "GET", lambda o: f"/api/v1/scenarios/{o.scenario}/output",
       only("coordinator", 409), name="scenario-output-not-yet"),
    Op("api_v1_coordinator.publish_scenario", "POST", lambda o: f"/api/v1/scenarios/{o.scenario}/publish",
       only("coordinator", 409), body={}, name="publish-a-queued-scenario"),
    Op("api_v1_coordinator.report", "GET", lambda o: f"/api/v1/rounds/{o.draft_round}/report", only("coordinator")),
    Op("api_v1_coordinator.round_ocds", "GET", lambda o: f"/api/v1/rounds/{o.draft_round}/ocds", only("coordinator")),
]  # fmt: skip


def _model() -> dict[str, Any]:
    return {"name": "API model", "segment": "md_box_truck", "powertrain": "BEV", "markets": ["US"], "range_km": 300,
            "charging": ["CCS1"]}  # fmt: skip


def _package(o: Objects) -> dict[str, Any]:
    from marketplace.models import Lot

    lot = db.session.get(Lot, o.oem("lot"))
    lots = db.session.execute(sa.select(Lot.id).where(Lot.pooling_run_id == lot.pooling_run_id)).scalars().all()
    item = {"model_code": o.oem("other_model_code"), "quantity": 5, "unit_price": "220000"}
    return {"name": "Everything", "items": [{"lot_id": x, **item} for x in lots]}


def _body(op: Op, objects: Objects) -> Any:
    if op.endpoint == "api_v1_fleet.commit":
        return {"line_ids": [objects.other_line]}
    return op.body(objects) if callable(op.body) else op.body


@pytest.fixture
def objects(world, frozen_clock) -> Objects:
    from marketplace.services import demand

    frozen_clock.freeze(NOW)
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    draft = make_round(world.coordinator2, RoundPhase.DRAFT)
    run = PoolingRun(round_id=draft.id, min_lot_quantity=20, max_lot_quantity=400, max_levels_up=2, input_json="{}")
    scenario = AwardScenario(round_id=draft.id, name="Round rules", max_winners_per_lot=2, max_share_per_supplier=1,
                             line_service=LineService.WHOLE, input_json="{}")  # fmt: skip
    db.session.add_all([run, scenario])
    db.session.commit()
    return Objects(
        round=rnd.id,
        draft_round=draft.id,
        line=demand.create_line(rnd.id, api_line(), world.fleet).id,
        other_line=demand.create_line(rnd.id, api_line(quantity=7), world.other_fleet).id,
        world=world,
        pooling_run=run.id,
        scenario=scenario.id,
    )


def test_every_api_operation_is_in_the_table(app):
    endpoints = {(rule.endpoint, m) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api_v1_")
                 for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}}  # fmt: skip
    assert endpoints == {(op.endpoint, op.method) for op in OPS}, "add the new API operations to OPS"


# Operations served from the read-model store, which writes on a connection of its own (tests/conftest.py).
STORED = {"api_v1_coordinator.report", "api_v1_coordinator.round_ocds"}


@pytest.mark.parametrize(
    "op", [pytest.param(op, id=op.id(), marks=[pytest.mark.commits] if op.id() in STORED else []) for op in OPS]
)
def test_operation_answers_each_role_as_it_should(client, world, objects, op: Op):
    body = _body(op, objects)
    for role in ROLES:
        token = token_for(world.user(role), "write")
        response = client.open(op.url(objects), method=op.method, json=body, headers=auth(token))
        assert response.status_code == op.expect[role], f"{role} {op.method} {op.url(objects)}: {response.data[:300]}"
        if response.status_code >= 400:
            assert response.content_type == "application/problem+json"
    other = db.session.get(DemandLine, objects.other_line)
    assert (other.status, other.quantity) == (DemandStatus.DRAFT, 7)  # nobody changed another fleet's line


@pytest.mark.parametrize("op", [pytest.param(op, id=op.id()) for op in OPS])
def test_no_token_is_401(client, objects, op: Op):
    response = client.open(op.url(objects), method=op.method, json=_body(op, objects))
    assert response.status_code == 401


@pytest.mark.parametrize("op", [pytest.param(op, id=op.id()) for op in OPS if op.method != "GET"])
def test_read_only_token_never_writes(client, world, objects, op: Op):
    url, body = op.url(objects), _body(op, objects)  # objects made first: only the requests must change nothing
    count = db.session.execute(sa.select(sa.func.count()).select_from(DemandLine)).scalar()
    for role in ROLES:
        response = client.open(url, method=op.method, json=body, headers=auth(token_for(world.user(role), "read")))
        assert response.status_code == 403, f"{role}: {response.data[:300]}"
    assert db.session.execute(sa.select(sa.func.count()).select_from(DemandLine)).scalar() == count
