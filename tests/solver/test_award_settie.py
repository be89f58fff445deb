"""The tie-break on the package-set program's tables (solver.award.settie): where it tells an award,
that award is the rule's (exhaustive enumeration of every award on tiny rounds, many of them with
several optimal package choices, and on tiny rounds whose capacities bind, proven by the program with
those capacities: solver.award.setcaps), and on the benchmark's rounds it is the class search's."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from bench.award_instances import make_round
from solver import io
from solver.award import award, lotlex_way, setproof, settie
from solver.award.instance import parse
from solver.award.prep import prepare
from solver.award.solution import Solution, to_output
from tests.solver.award_helpers import equal_prices, tiny_round
from tests.solver.test_award_tie_break import _canonical_by_enumeration, _mapping


def _twins(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Each package item sized to one of its lot's lines, and each package again from the next
    supplier with the same items: choices that tie."""
    sups = [s["id"] for s in doc["suppliers"]]
    lots = {lot["id"]: lot for lot in doc["lots"]}
    for p in list(doc["packages"]):
        for it in p["items"]:
            it["quantity"] = rng.choice(lots[it["lot"]]["demand"])["quantity"]
        other = sups[(sups.index(p["supplier"]) + 1) % len(sups)]
        doc["packages"].append({**p, "id": p["id"] + "t", "supplier": other, "items": [dict(it) for it in p["items"]]})
    return doc


def _settie(doc: dict[str, Any]) -> dict[str, Any] | None:
    """settie's award from the program's proof (None: no proof, or settie cannot tell)."""
    inst = parse(doc)
    prep = prepare(inst)
    proof = setproof.prove(inst, prep, Solution(), deadline=time.monotonic() + 600)
    if proof is None:
        return None
    sol, _ = settie.canonical(inst, proof, 60.0)
    if sol is None:
        return None
    return to_output(inst, prep, sol, status="OPTIMAL", bound_quantity=0, bound_cents=0, seconds=0.0, search="t")


def test_the_award_is_the_rule_s_among_every_award(monkeypatch: pytest.MonkeyPatch) -> None:
    choices: list[int] = []
    to_solution = lotlex_way.to_solution

    def counted(*args: Any) -> Solution:
        choices[-1] += 1  # (once per optimal package choice listed)
        return to_solution(*args)

    monkeypatch.setattr(lotlex_way, "to_solution", counted)
    told = several = 0
    for seed in range(120):
        doc = tiny_round(random.Random(9000 + seed), whole=True, max_lines=5)
        if seed % 2:
            _twins(equal_prices(doc), random.Random(seed))
        choices.append(0)
        got = _settie(doc)
        if got is None:
            continue
        vehicles, _, mapping = _canonical_by_enumeration(doc)  # type: ignore[misc]
        assert got["awarded_quantity"] == vehicles, seed
        assert _mapping(got) == mapping, f"seed {9000 + seed}: {doc}"
        told += 1
        several += choices[-1] > 1
    # (counts on these seeds: the test checks something, and rounds with several optimal choices)
    assert told >= 100
    assert several >= 8


def test_the_award_is_the_rule_s_where_capacities_bind() -> None:
    """Tiny rounds with capacities of 2-5 vehicles, half with equal prices and twin packages: of
    700, 19 are proven by the program with the capacities that bind, and on each the award told
    (every one) is the rule's among every award."""
    told = 0
    for seed in range(700):
        rng = random.Random(7000 + seed)
        doc = tiny_round(rng, whole=True, max_lines=5)
        for sup in doc["suppliers"]:
            sup["capacity"] = rng.randint(2, 5)
        if seed % 2:
            _twins(equal_prices(doc), random.Random(seed))
        inst = parse(doc)
        proof = setproof.prove(inst, prepare(inst), Solution(), deadline=time.monotonic() + 600)
        if proof is None or not proof.binding:
            continue
        got = _settie(doc)
        assert got is not None, seed
        vehicles, _, mapping = _canonical_by_enumeration(doc)  # type: ignore[misc]
        assert got["awarded_quantity"] == vehicles, seed
        assert _mapping(got) == mapping, f"seed {7000 + seed}: {doc}"
        told += 1
    assert told == 19


def _same_as_class_search(monkeypatch: pytest.MonkeyPatch, doc: dict[str, Any], binding: bool) -> None:
    """The tie-break told by settie (on the tables, or on the entries where `binding`) and the same
    bytes as the class search's, the rule stated as applied by both."""
    import sys

    sa = sys.modules["solver.award"]
    told: list[bool] = []
    canonical = settie.canonical

    def counted(inst: Any, proof: setproof.Proof, work: float) -> tuple[Solution | None, float]:
        got = canonical(inst, proof, work)
        told.append(bool(proof.binding) == binding and got[0] is not None)
        return got

    monkeypatch.setattr(settie, "canonical", counted)
    by_settie = award(doc, time_limit=600, backups=False)
    assert told == [True]
    monkeypatch.setattr(sa, "SET_TIE_BREAK", False)
    by_classes = award(doc, time_limit=600, backups=False)
    assert told == [True]
    assert by_settie["stats"]["tie_break"]["applied"] and by_classes["stats"]["tie_break"]["applied"]
    assert io.dumps({k: v for k, v in by_settie.items() if k != "stats"}) == io.dumps(
        {k: v for k, v in by_classes.items() if k != "stats"}
    )


@pytest.mark.parametrize(("args", "seed"), [((16, 3, 50), 1), ((20, 10, 200), 2), ((40, 4, 120), 1)])
def test_the_award_is_the_class_search_s(
    monkeypatch: pytest.MonkeyPatch, args: tuple[int, int, int], seed: int
) -> None:
    """Rounds the program proves: the same bytes with the tie-break on its tables as with the class
    search, and the rule stated as applied."""
    _same_as_class_search(monkeypatch, make_round(*args, seed=seed), binding=False)


@pytest.mark.parametrize(("args", "seed"), [((30, 5, 100), 5), ((6, 6, 40), 1)])
def test_the_award_is_the_class_search_s_where_capacities_bind(
    monkeypatch: pytest.MonkeyPatch, args: tuple[int, int, int], seed: int
) -> None:
    """Rounds whose capacities bind (one supplier each), proven by the program with them: the same
    bytes with the tie-break on its entries as with the class search."""
    _same_as_class_search(monkeypatch, make_round(*args, seed=seed), binding=True)


def test_entries_that_lotlex_does_not_reach_claim_nothing() -> None:
    """make_round(30, 5, 100), seed 5, proven with a capacity kept: each lot's entries one cent
    cheaper than lotlex finds them (a program that disagrees with the lots' bests): nothing told."""
    inst = parse(make_round(30, 5, 100, seed=5))
    proof = setproof.prove(inst, prepare(inst), Solution(), deadline=time.monotonic() + 600)
    assert proof is not None and proof.binding and proof.entries is not None
    assert settie.canonical(inst, proof, 60.0)[0] is not None
    proof.entries = [[(S, (v, c - 1), most) for S, (v, c), most in lot] for lot in proof.entries]
    proof.cents -= len(proof.entries)
    assert settie.canonical(inst, proof, 60.0)[0] is None
