"""The backups on two threads (solver.award.backups_pool): the same backups, proven flags and
`stopped_by` as one after the other, also when the shared work budget runs out part way."""

from __future__ import annotations

import threading
import time

import pytest

from solver.award import backups, backups_pool
from solver.award.instance import parse
from tests.solver.test_backups import tiny_cases


def _both(monkeypatch: pytest.MonkeyPatch, doc: dict, result: dict, work: float) -> tuple[object, object, set[str]]:
    inst = parse(doc)
    sol = backups.solution_of(inst, result)
    names: set[str] = set()
    real = backups._one

    def spy(*args: object, **kw: object) -> backups.Backup:
        names.add(threading.current_thread().name)
        time.sleep(0.002)  # so that both threads take a share even of a tiny round
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(backups, "_one", spy)
    runs = []
    for cores in (1, 2):
        monkeypatch.setattr(backups.race, "cores", lambda cores=cores: cores)
        found, stopped = backups.compute(inst, sol, deadline=time.monotonic() + 600, work_limit=work)
        runs.append((backups.to_output(inst, sol, found), [(b.proven, b.canonical) for b in found], stopped))
    return runs[0], runs[1], names


def test_two_threads_give_the_backups_of_one() -> None:
    mp = pytest.MonkeyPatch()
    try:
        threads: set[str] = set()
        for doc, result in tiny_cases()[:8]:
            one, two, names = _both(mp, doc, result, 0.25 * result["stats"]["limits"]["work_limit"])
            assert one == two
            threads |= names
        assert len({n for n in threads if n.startswith("backup")}) == 2  # both threads took backups
    finally:
        mp.undo()


@pytest.mark.parametrize("work", [0.0, 0.002, 0.01, 0.03])
def test_a_budget_spent_part_way_gives_the_backups_of_one(work: float) -> None:
    mp = pytest.MonkeyPatch()
    try:
        stops = set()
        for doc, result in tiny_cases()[:12]:
            one, two, _ = _both(mp, doc, result, work)
            assert one == two
            stops.add(one[2])
        if work == 0.0:
            assert "work" in stops
    finally:
        mp.undo()


def test_a_trace_replays_only_when_the_budget_grants_every_request() -> None:
    trace = backups_pool.Trace()
    assert trace.take(1.0) == 1.0
    trace.spend(0.4)
    trace.take(1.0)
    trace.spend(0.3)
    roomy = backups._Budget(5.0)
    assert backups_pool.replays(trace, roomy) and roomy.left == pytest.approx(4.3)
    short = backups._Budget(1.2)  # the second request would get 0.8 of 1.0
    assert not backups_pool.replays(trace, short) and short.left == 1.2


def test_past_the_clock_the_rest_are_left_unsearched_as_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    for doc, result in tiny_cases()[:4]:
        inst = parse(doc)
        sol = backups.solution_of(inst, result)
        runs = []
        for cores in (1, 2):
            monkeypatch.setattr(backups.race, "cores", lambda cores=cores: cores)
            found, stopped = backups.compute(inst, sol, deadline=time.monotonic() - 1, work_limit=7.5)
            runs.append(([(b.lot, b.withdrawn, b.replacement, b.proven) for b in found], stopped))
        assert runs[0] == runs[1]
        assert runs[0][1] in ("time", "nothing")  # "nothing": no backup had anything to search
