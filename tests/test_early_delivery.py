"""The coordinator's "prefer earlier delivery at equal price" option: chosen on the scenario form or in the
API's scenario start, stored with the scenario, sent to the solver, shown on the scenario and comparison."""

from __future__ import annotations

import json
import re

import pytest

from marketplace.extensions import db
from marketplace.models import AwardScenario, Round, RoundPhase, RunStatus
from marketplace.services import award, bidding, rounds, solver_runs
from tests.api_helpers import auth, token_for
from tests.factories import make_model, make_tender

pytestmark = pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)


@pytest.fixture
def equal_offers(world):
    """One lot of 40 (window 2027Q1-2027Q3); OEM A and OEM B offer it at the same price, A delivering in
    2027Q3 only and B in 2027Q2 only. A bids first, so the award's tie-break on ids alone takes A."""
    rnd, (ca,) = make_tender(world.coordinator, world.fleet.organization, lots=[{"region_id": "US-CA", "quantity": 40}])
    for oem, quarters in ((world.oem, "2027Q3"), (world.other_oem, "2027Q2")):
        model = make_model(oem.organization)
        bidding.set_capacity(rnd.id, 100, oem)
        values = {"model_code": model.code, "min_quantity": 10, "max_quantity": 40, "tier1_min": 10}
        bidding.submit_bid(rnd.id, ca.id, values | {"tier1_price": "230000", "quarters": quarters}, oem)
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    return db.session.get(Round, rnd.id)


def winner(scenario_id: int) -> tuple[int, dict[str, int]]:
    db.session.expire_all()
    scenario = db.session.get(AwardScenario, scenario_id)
    assert scenario.status is RunStatus.SUCCEEDED, scenario.error
    (allocation,) = scenario.allocations
    return allocation.organization_id, {d.quarter: d.quantity for d in allocation.deliveries}


def test_the_form_option_takes_the_earlier_of_two_equal_offers_and_the_pages_say_so(world, equal_offers, login):
    rnd = equal_offers
    client = login(world.coordinator)
    form = client.get(f"/coordinator/rounds/{rnd.id}/scenarios").get_data(as_text=True)
    assert 'name="prefer_early_delivery"' in form
    fields = {"max_winners_per_lot": "1", "max_share_percent": "100", "line_service": "whole", "time_limit": "30"}
    client.post(f"/coordinator/rounds/{rnd.id}/scenarios", data=fields | {"name": "Round rules"})
    client.post(
        f"/coordinator/rounds/{rnd.id}/scenarios", data=fields | {"name": "Early", "prefer_early_delivery": "y"}
    )
    plain, early = award.scenarios_of(rnd.id)
    assert (plain.prefer_early_delivery, early.prefer_early_delivery) == (False, True)

    assert winner(plain.id) == (world.oem.organization_id, {"2027Q3": 40})  # the tie-break alone
    assert winner(early.id) == (world.other_oem.organization_id, {"2027Q2": 40})  # same price, earlier
    sent = json.loads(early.input_json)["rules"]
    assert sent["prefer_early_delivery"] is True
    assert "prefer_early_delivery" not in json.loads(plain.input_json)["rules"]
    assert json.loads(early.output_json)["total_price"] == json.loads(plain.output_json)["total_price"]

    comparison = client.get(f"/coordinator/rounds/{rnd.id}/scenarios").get_data(as_text=True)
    assert comparison.count('data-testid="prefers-early-delivery"') == 1  # the "Early" column only
    detail = client.get(f"/coordinator/scenarios/{early.id}").get_data(as_text=True)
    assert "earlier delivery preferred at equal price" in detail
    assert "earlier delivery preferred" not in client.get(f"/coordinator/scenarios/{plain.id}").get_data(as_text=True)
    # Whether it was applied and proven (the solver's stats.early_delivery.applied), in words, on both pages.
    assert _early(detail) == (
        "proven earliest proven Earlier delivery was preferred and applied: no award of as many vehicles at this "
        "price delivers earlier. Within any award, each vehicle is delivered as early as its supplier's capacity "
        "by quarter allows."
    )
    assert _early(client.get(f"/coordinator/scenarios/{plain.id}").get_data(as_text=True)).startswith("not asked")
    comparison = client.get(f"/coordinator/rounds/{rnd.id}/scenarios").get_data(as_text=True)
    assert _early(comparison, every=True) == ["not asked not asked", "proven earliest proven"]


def _early(html: str, every: bool = False):
    """The "earlier delivery" outcome(s) on a page: the state, then the words shown."""
    found = [
        f"{state} " + " ".join(re.sub(r"<[^>]+>", " ", text).split())
        for state, text in re.findall(
            r'data-testid="early-delivery" data-state="([^"]+)">(.*?)</span>\s*</', html, re.S
        )
    ]
    return found if every else found[0]


def _solved_with(monkeypatch, early_delivery):
    """The award job's solver output says `early_delivery` in its stats (None: the key is absent)."""
    solve = solver_runs.solve

    def solve_with(kind, doc, scenario, reporter):
        result = solve(kind, doc, scenario, reporter)
        stats = {k: v for k, v in result["stats"].items() if k != "early_delivery"}
        stats |= {} if early_delivery is None else {"early_delivery": early_delivery}
        return result | {"stats": stats}

    monkeypatch.setattr(solver_runs, "solve", solve_with)


@pytest.mark.parametrize(
    ("said", "state", "words"),
    [
        ({"applied": False}, "not proven", "asked, not proven Earlier delivery was preferred, but the solver stopped"),
        (None, "no quarters", "no effect Earlier delivery was preferred, but no OEM stated delivery quarters"),
    ],
)
def test_earlier_delivery_not_proven_or_without_quarters_says_so(
    world, equal_offers, login, monkeypatch, said, state, words
):
    _solved_with(monkeypatch, said)
    rules = award.ScenarioRules(name="Early", prefer_early_delivery=True)
    scenario = award.start_scenario(equal_offers.id, world.coordinator, rules)
    db.session.expire_all()
    assert db.session.get(AwardScenario, scenario.id).early_delivery == state
    client = login(world.coordinator)
    assert _early(client.get(f"/coordinator/scenarios/{scenario.id}").get_data(as_text=True)).startswith(
        f"{state} {words}"
    )
    comparison = client.get(f"/coordinator/rounds/{equal_offers.id}/scenarios").get_data(as_text=True)
    assert _early(comparison, every=True) == [f"{state} {words.split(' Earlier')[0]}"]
    assert 'data-testid="early-delivery-legend"' in comparison


def test_the_api_starts_a_scenario_preferring_earlier_delivery_and_answers_with_it(client, world, equal_offers):
    rnd = equal_offers
    headers = auth(token_for(world.coordinator))
    refused = client.post(f"/api/v1/rounds/{rnd.id}/scenarios", json={"prefer_early_delivery": "yes"}, headers=headers)
    assert refused.status_code == 422
    assert "prefer_early_delivery" in json.dumps(refused.get_json())
    assert award.scenarios_of(rnd.id) == []  # nothing started

    started = client.post(f"/api/v1/rounds/{rnd.id}/scenarios", json={"prefer_early_delivery": True}, headers=headers)
    assert started.status_code == 202, started.get_json()
    assert started.get_json()["prefer_early_delivery"] is True
    scenario_id = started.get_json()["id"]
    read = client.get(f"/api/v1/scenarios/{scenario_id}", headers=headers).get_json()
    assert read["prefer_early_delivery"] is True and read["status"] == "succeeded"
    assert read["early_delivery"] == "proven"
    assert winner(scenario_id) == (world.other_oem.organization_id, {"2027Q2": 40})

    default = client.post(f"/api/v1/rounds/{rnd.id}/scenarios", json={}, headers=headers).get_json()
    assert default["prefer_early_delivery"] is False
