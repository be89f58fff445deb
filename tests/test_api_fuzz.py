"""Property-based fuzzing of every API operation from its own OpenAPI description (schemathesis).

For each role (fleet, OEM, coordinator) with a valid write token, every operation gets requests
that schemathesis draws from the description, valid and invalid, on real objects (a demand-open
round, the fleet's own line, the OEM's own model, bid and package, the coordinator's runs) and on made-up ids. Every answer must be no server error and must
match the description: a documented status, content type, headers and body schema.
Examples are bounded (API_FUZZ_EXAMPLES, default 6 per operation and strategy) to keep CI short.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from marketplace.models import RoundPhase
from marketplace.services import demand
from tests.api_helpers import api_line, token_for
from tests.demand_helpers import NOW
from tests.factories import make_round

pytestmark = (
    pytest.mark.commits
)  # solver jobs report progress on a connection of their own (tests/conftest.py), and the fuzzer reaches them

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("role", ["fleet", "oem", "coordinator"])
def test_every_operation_answers_within_its_description(app, world, frozen_clock, role):
    frozen_clock.freeze(NOW)
    app.config["API_RATE_LIMIT"] = "1000000 per minute"
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    line = demand.create_line(rnd.id, api_line(), world.fleet)
    token = token_for(world.user(role), "write")
    real = {"round_id": rnd.id, "line_id": line.id, "allocation_id": "A" * 16}
    if role == "oem":  # a tender with the OEM's own model, bid and package
        from tests.bidding_helpers import access_objects

        tender = access_objects(world)
        real |= {"round_id": tender["round"], "lot_id": tender["lot"], "bid_id": tender["bid"],
                 "package_id": tender["package"], "model_id": tender["model"]}  # fmt: skip
    if role == "coordinator":  # a queued pooling run and scenario of the round
        from marketplace.extensions import db
        from marketplace.models import AwardScenario, LineService, PoolingRun

        run = PoolingRun(round_id=rnd.id, min_lot_quantity=20, max_lot_quantity=400, max_levels_up=2, input_json="{}")
        scenario = AwardScenario(round_id=rnd.id, name="Rules", max_winners_per_lot=2, max_share_per_supplier=1,
                                 line_service=LineService.WHOLE, input_json="{}")  # fmt: skip
        db.session.add_all([run, scenario])
        db.session.commit()
        real |= {"run_id": run.id, "scenario_id": scenario.id}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 35
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        on_real = {k: v for k, v in real.items() if k in names}
        strategies = [operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
        if on_real:
            strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=on_real))
        for strategy in strategies:

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

            run()
