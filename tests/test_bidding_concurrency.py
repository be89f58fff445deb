"""Racing writes on PostgreSQL: two threads, two app contexts, two connections, released together.

SQLite serialises every write on its one file, so these only mean something on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import AuditEntry, Bid, BidRevision, Round, RoundPhase, User
from marketplace.services import bidding, clock, rounds
from marketplace.services.errors import Conflict
from tests.factories import make_model, make_tender

pytestmark = pytest.mark.commits  # threads with sessions of their own (tests/conftest.py)


@pytest.fixture(autouse=True)
def _postgresql_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite serialises all writes, so nothing can race")


def race(app, *calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread and app context (own session, own connection), started together.

    Returns each call's result or the exception it raised.
    """
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=120)  # a cap, not a wait: both threads arrive at once unless one hangs
                results[i] = call()
            except Exception as exc:  # the test inspects what each side got
                db.session.rollback()
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)  # a cap for a hang (a deadlock): a busy machine may take seconds per call
    assert not any(t.is_alive() for t in threads), "a racing call hung (a deadlock?)"
    db.session.rollback()
    db.session.expire_all()
    return results


def user(user_id: int) -> User:
    found = db.session.get(User, user_id)
    assert found is not None
    return found


def values(model_code: str, price: str) -> dict[str, Any]:
    return {"model_code": model_code, "min_quantity": 10, "max_quantity": 30, "tier1_min": 10, "tier1_price": price}


def test_two_first_bids_on_one_lot_neither_vanish_nor_both_count(app, world):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    code = make_model(world.oem.organization).code
    bidding.set_capacity(rnd.id, 100, world.oem)
    oem_id, round_id, lot_id = world.oem.id, rnd.id, lots[0].id

    def submit(price: str):
        return lambda: bidding.submit_bid(round_id, lot_id, values(code, price), user(oem_id)).number

    for attempt in range(3):  # a few rounds of racing: each must end the same way
        results = race(app, submit(f"23000{attempt}"), submit(f"22000{attempt}"))
        assert all(isinstance(r, int | Conflict) for r in results), results
        assert any(isinstance(r, int) for r in results)
    bids = db.session.execute(sa.select(Bid)).scalars().all()
    assert len(bids) == 1  # one bid per lot and OEM
    numbers = db.session.execute(sa.select(BidRevision.number).order_by(BidRevision.number)).scalars().all()
    assert numbers == list(range(1, len(numbers) + 1))  # no number taken twice, none lost
    assert bids[0].current is not None and bids[0].current.number == len(numbers)


def test_a_bid_racing_the_close_of_bids_is_either_in_before_or_refused(app, world):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    code = make_model(world.oem.organization).code
    bidding.set_capacity(rnd.id, 100, world.oem)
    oem_id, coordinator_id, round_id, lot_id = world.oem.id, world.coordinator.id, rnd.id, lots[0].id

    results = race(
        app,
        lambda: bidding.submit_bid(round_id, lot_id, values(code, "230000"), user(oem_id)).id,
        lambda: rounds.transition(round_id, RoundPhase.BIDS_CLOSED, user(coordinator_id)).phase,
    )
    assert results[1] is RoundPhase.BIDS_CLOSED
    close = db.session.execute(sa.select(AuditEntry.id).where(AuditEntry.action == "round.transition")).scalars()
    close_id = max(close)
    submit = db.session.execute(sa.select(AuditEntry.id).where(AuditEntry.action == "bid.submit")).scalar()
    if isinstance(results[0], int):
        assert submit is not None and submit < close_id  # saved before the round closed
    else:
        assert isinstance(results[0], Conflict) and submit is None
        assert db.session.execute(sa.select(sa.func.count(BidRevision.id))).scalar_one() == 0


def test_bids_racing_the_deadline_second(app, world, frozen_clock):
    start = clock.now()
    frozen_clock.freeze(start)
    deadline = start + timedelta(days=20)
    rnd, lots = make_tender(world.coordinator, world.fleet.organization, bid_deadline=deadline)
    code = make_model(world.oem.organization).code
    other_code = make_model(world.other_oem.organization).code
    bidding.set_capacity(rnd.id, 100, world.oem)
    bidding.set_capacity(rnd.id, 100, world.other_oem)
    oem_id, other_id, round_id, lot_id = world.oem.id, world.other_oem.id, rnd.id, lots[0].id

    frozen_clock.freeze(deadline - timedelta(seconds=1))
    last_second = race(
        app,
        lambda: bidding.submit_bid(round_id, lot_id, values(code, "230000"), user(oem_id)).number,
        lambda: bidding.submit_bid(round_id, lot_id, values(other_code, "229000"), user(other_id)).number,
    )
    assert last_second == [1, 1]  # both in: each OEM's own bid

    frozen_clock.freeze(deadline)
    at_deadline = race(
        app,
        lambda: bidding.submit_bid(round_id, lot_id, values(code, "210000"), user(oem_id)).number,
        lambda: bidding.submit_bid(round_id, lot_id, values(other_code, "209000"), user(other_id)).number,
    )
    assert all(isinstance(r, Conflict) and r.message.startswith("Bids closed at") for r in at_deadline), at_deadline
    assert db.session.execute(sa.select(sa.func.count(BidRevision.id))).scalar_one() == 2
    assert db.session.get(Round, round_id).phase is RoundPhase.BIDS_CLOSED
    moves = db.session.execute(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "round.transition"))
    assert moves.scalar_one() == 4 + 1  # four moves to tendering, then the deadline's move, written once


def test_the_deadline_job_racing_a_bid_moves_the_round_once(app, world, frozen_clock):
    """The periodic job and a write both move a round through rounds.lock: one move, one audit entry."""
    start = clock.now()
    frozen_clock.freeze(start)
    deadline = start + timedelta(days=20)
    rnd, lots = make_tender(world.coordinator, world.fleet.organization, bid_deadline=deadline)
    code = make_model(world.oem.organization).code
    bidding.set_capacity(rnd.id, 100, world.oem)
    oem_id, round_id, lot_id = world.oem.id, rnd.id, lots[0].id

    frozen_clock.freeze(deadline)
    results = race(
        app,
        rounds.advance_due_rounds,
        lambda: bidding.submit_bid(round_id, lot_id, values(code, "210000"), user(oem_id)).number,
    )
    assert results[0] in ([round_id], []), results
    assert isinstance(results[1], Conflict), results
    assert db.session.get(Round, round_id).phase is RoundPhase.BIDS_CLOSED
    moves = db.session.execute(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "round.transition"))
    assert moves.scalar_one() == 4 + 1  # four moves to tendering, then the deadline's move, written once
