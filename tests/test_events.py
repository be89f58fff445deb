"""Domain events: told after the commit, never for a rolled-back change; only the handlers enqueue jobs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from marketplace.extensions import db
from marketplace.models import Round, RoundPhase
from marketplace.services import award, contracting, events, rounds
from tests.factories import make_bid, make_model, make_tender

ROOT = Path(__file__).resolve().parent.parent / "marketplace"


@pytest.fixture
def told():
    """Every event of interest with the round's phase as the handler reads it from the database."""
    seen: list[tuple[events.Event, str]] = []

    def listen(event: events.Event) -> None:
        # A handler runs in its own app context and session: the change must already be committed.
        seen.append((event, db.session.get(Round, event.round_id).phase.value))

    kinds = (events.RoundMoved, events.BidSubmitted, events.AwardPublished, events.AllocationDecided)
    events.subscribe(*kinds)(listen)
    yield seen
    for kind in kinds:
        events._HANDLERS[kind].remove(listen)


@pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)
def test_a_round_s_story_is_told_after_each_commit(world, told):
    rnd, (ca, _tx) = make_tender(world.coordinator, world.fleet.organization)
    told.clear()
    bid = make_bid(world.oem, ca, make_model(world.oem.organization), tiers=((10, "230000"),))
    assert [type(e) for e, _ in told] == [events.BidSubmitted]
    submitted = told[0][0]
    assert (submitted.round_id, submitted.lot_id, submitted.organization_id, submitted.revision) == (
        rnd.id, ca.id, world.oem.organization_id, 1,
    )  # fmt: skip
    assert submitted.bid_id == bid.bid_id
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    assert told[-1] == (
        events.RoundMoved(rnd.id, "tendering", "bids_closed", world.coordinator.id, False),
        "bids_closed",
    )
    scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules(name="Round rules"))
    award.publish_scenario(scenario.id, world.coordinator)
    assert events.AwardPublished(rnd.id, scenario.id) in [e for e, _ in told]
    rounds.transition(rnd.id, RoundPhase.CONTRACTING, world.coordinator)
    allocation = contracting.fleet_results(rnd.id, world.fleet).allocations[0]
    contracting.decide(allocation.id, True, world.fleet)
    decided = told[-1][0]
    assert isinstance(decided, events.AllocationDecided)
    assert (decided.allocation_id, decided.fleet_id, decided.oem_id, decided.confirmed) == (
        allocation.id, world.fleet.organization_id, allocation.organization_id, True,
    )  # fmt: skip
    assert told[-1][1] == "contracting"


def test_a_rolled_back_change_tells_nobody(world, told):
    rnd, _ = make_tender(world.coordinator, world.fleet.organization)
    told.clear()
    rnd = rounds.lock(rnd.id)
    rounds.move(rnd, RoundPhase.BIDS_CLOSED, world.coordinator, summary="not kept")
    assert events.pending()  # recorded, waiting for the commit
    db.session.rollback()
    db.session.commit()
    assert told == []
    assert db.session.get(Round, rnd.id).phase is RoundPhase.TENDERING


def test_only_the_handlers_enqueue_jobs():
    """No service or view imports the jobs module: work after a change goes through an event."""
    # The app factory configures the queue; the CLI and /healthz read worker state.
    allowed = {"jobs.py", "handlers.py", "__init__.py", "cli.py", "main/views.py"}
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module in ("marketplace", "marketplace.jobs"):
                names = [a.name for a in node.names] if node.module == "marketplace" else ["jobs"]
            elif isinstance(node, ast.Import):
                names = ["jobs" for a in node.names if a.name == "marketplace.jobs"]
            if "jobs" in names:
                offenders.append(rel)
    assert offenders == []
