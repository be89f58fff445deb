"""Award scenarios from the coordinator's side: job, allocations, comparison figures, publish, export."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Allocation, AwardScenario, Round, RoundPhase, RunStatus, UnservedLine
from marketplace.services import award, rounds
from marketplace.services.errors import Conflict, Forbidden
from tests.factories import make_bid, make_model, make_tender

pytestmark = pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)


@pytest.fixture
def closed_tender(world):
    """Bids closed on two lots (40 vehicles in CA, 25 in TX); OEM A bids CA only, OEM B both, dearer in CA."""
    rnd, (ca, tx) = make_tender(world.coordinator, world.fleet.organization)
    model_a = make_model(world.oem.organization)
    model_b = make_model(world.other_oem.organization, list_price=Decimal("250000"))
    make_bid(world.oem, ca, model_a, tiers=((10, "230000"), (30, "220000.50")))
    make_bid(world.other_oem, ca, model_b, tiers=((10, "235000"),))
    make_bid(world.other_oem, tx, model_b, tiers=((25, "240000"),))
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    return db.session.get(Round, rnd.id), ca, tx


def allocations(scenario_id: int) -> list[tuple[int, int, Decimal]]:
    rows = db.session.execute(
        sa.select(Allocation).where(Allocation.scenario_id == scenario_id).order_by(Allocation.lot_id)
    ).scalars()
    return [(a.lot_id, a.quantity, a.unit_price) for a in rows]


def test_the_round_rules_award_the_cheapest_full_cover(world, closed_tender):
    rnd, ca, tx = closed_tender
    scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules(name="Round rules"))
    db.session.expire_all()
    scenario = db.session.get(AwardScenario, scenario.id)
    assert scenario.status is RunStatus.SUCCEEDED, scenario.error
    assert scenario.solver_status == "OPTIMAL"
    assert scenario.awarded_quantity == 65
    # CA: A's 30+ tier (220,000.50) for all 40; TX: B at 240,000 for 25.
    assert allocations(scenario.id) == [(ca.id, 40, Decimal("220000.50")), (tx.id, 25, Decimal("240000.00"))]
    assert scenario.total_price == Decimal("40") * Decimal("220000.50") + 25 * Decimal("240000")
    figures = award.figures(rnd, scenario)
    assert figures.awarded == figures.demanded == 65
    assert figures.total_price == scenario.total_price
    assert figures.savings_vs_max == 65 * Decimal("250000") - scenario.total_price
    assert figures.savings_vs_list == 40 * (Decimal("240000") - Decimal("220000.50")) + 25 * Decimal("10000")
    assert figures.suppliers == 2
    assert figures.unit_price_by_segment["md_box_truck"] == (scenario.total_price / 65).quantize(Decimal("0.01"))
    # The comparison's figures agree with the stored solver output, to the cent.
    stored = json.loads(scenario.output_json)
    assert figures.awarded == stored["awarded_quantity"]
    assert figures.total_price == Decimal(str(stored["total_price"])).quantize(Decimal("0.01"))
    stored_rows = sorted((row["lot"], row["quantity"], Decimal(str(row["unit_price"]))) for row in stored["awards"])
    assert stored_rows == sorted((f"lot-{lot}", q, p) for lot, q, p in allocations(scenario.id))


def test_a_scenario_without_a_supplier_and_its_unserved_reasons(world, closed_tender):
    rnd, ca, _ = closed_tender
    without_b = award.ScenarioRules(name="Without B", excluded_supplier_ids=[world.other_oem.organization_id])
    scenario = award.start_scenario(rnd.id, world.coordinator, without_b)
    db.session.expire_all()
    scenario = db.session.get(AwardScenario, scenario.id)
    assert scenario.status is RunStatus.SUCCEEDED, scenario.error
    assert allocations(scenario.id) == [(ca.id, 40, Decimal("220000.50"))]
    unserved = db.session.execute(sa.select(UnservedLine).where(UnservedLine.scenario_id == scenario.id)).scalar_one()
    assert unserved.quantity == 25
    assert unserved.reason


def test_scenarios_run_only_when_bids_are_closed_and_only_for_coordinators(world):
    rnd, (lot, _) = make_tender(world.coordinator, world.fleet.organization)
    make_bid(world.oem, lot, make_model(world.oem.organization))
    assert award.bidders(rnd) == []  # who bid stays sealed until bids close
    with pytest.raises(Forbidden):
        award.start_scenario(rnd.id, world.oem, award.ScenarioRules())
    with pytest.raises(Conflict, match="cannot compute an award now"):
        award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules())


def test_publishing_a_scenario_awards_the_round(world, closed_tender, login):
    rnd, _, _ = closed_tender
    first = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules(name="A"))
    client = login(world.coordinator)
    page = client.get(f"/coordinator/rounds/{rnd.id}/scenarios")
    assert page.status_code == 200
    assert "Publish this award" in page.get_data(as_text=True)
    assert client.post(f"/coordinator/scenarios/{first.id}/publish").status_code == 400  # not confirmed
    assert db.session.get(Round, rnd.id).phase is RoundPhase.BIDS_CLOSED
    assert client.post(f"/coordinator/scenarios/{first.id}/publish", data={"confirm": "y"}).status_code == 302
    db.session.expire_all()
    rnd = db.session.get(Round, rnd.id)
    assert rnd.phase is RoundPhase.AWARDED
    assert rnd.published_scenario_id == first.id


def test_a_crash_while_saving_leaves_nothing_half_written(world, closed_tender, monkeypatch):
    rnd, _, _ = closed_tender

    def crash(*args, **kwargs):
        db.session.add(Allocation(scenario_id=args[0], lot_id=1, demand_line_id=1, organization_id=1,
                                  vehicle_model_id=1, quantity=1, unit_price=Decimal(1)))  # fmt: skip
        raise RuntimeError("worker killed")

    monkeypatch.setattr(award, "save_result", crash)
    scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules())
    db.session.expire_all()
    scenario = db.session.get(AwardScenario, scenario.id)
    assert scenario.status is RunStatus.FAILED
    assert "worker killed" in scenario.error
    assert db.session.execute(sa.select(sa.func.count(Allocation.id))).scalar_one() == 0
    assert db.session.get(Round, rnd.id).phase is RoundPhase.BIDS_CLOSED


def test_an_exported_award_re_solves_to_the_same_bytes(world, closed_tender, login, tmp_path):
    rnd, _, _ = closed_tender
    scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules())
    client = login(world.coordinator)
    (tmp_path / "in.json").write_bytes(client.get(f"/coordinator/scenarios/{scenario.id}/input.json").data)
    published = client.get(f"/coordinator/scenarios/{scenario.id}/output.json").get_data(as_text=True)
    subprocess.run(
        [sys.executable, "-m", "solver", "award", str(tmp_path / "in.json"), "-o", str(tmp_path / "out.json")],
        check=True,
    )

    def strip(text: str) -> str:
        return "\n".join(row for row in text.splitlines() if '"solve_seconds"' not in row)

    assert strip((tmp_path / "out.json").read_text()) == strip(published)
    assert json.loads(published)["awarded_quantity"] == 65


def test_an_award_solved_in_a_child_process_saves_the_same_award_and_its_progress(world, closed_tender, app):
    """Production solves in a child process that ends with the run (the worker gives the memory back)."""
    import os

    rnd, ca, tx = closed_tender
    app.config["SOLVER_IN_CHILD_PROCESS"] = True
    try:
        children_before = _children()
        scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules(name="In a child"))
    finally:
        app.config["SOLVER_IN_CHILD_PROCESS"] = False
    db.session.expire_all()
    scenario = db.session.get(AwardScenario, scenario.id)
    assert scenario.status is RunStatus.SUCCEEDED, scenario.error
    assert allocations(scenario.id) == [(ca.id, 40, Decimal("220000.50")), (tx.id, 25, Decimal("240000.00"))]
    assert scenario.progress["phase"] == "done" and scenario.progress["fraction"] == 1.0
    assert scenario.progress["gap_percent"] == 0  # the solver's own bound, reported from the child
    assert _children() == children_before, f"pid {os.getpid()} kept a solver process"


def _children() -> set[int]:
    import multiprocessing

    return {p.pid for p in multiprocessing.active_children()}


def test_a_cancel_stops_the_solver_process_and_a_solver_error_is_said(world, closed_tender):
    from marketplace.services import solver_process
    from solver.errors import Cancelled

    def cancel(progress):
        raise Cancelled()

    rnd, _, _ = closed_tender
    scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules(name="In process"))
    doc = json.loads(db.session.get(AwardScenario, scenario.id).input_json)
    with pytest.raises(Cancelled):
        solver_process.solve("award", doc, time_limit=5, reporter=cancel)
    assert _children() == set()
    with pytest.raises(RuntimeError, match="InvalidInput: bids: is required"):
        solver_process.solve("award", {}, time_limit=5, reporter=lambda p: None)
    assert _children() == set()
