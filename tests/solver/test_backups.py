"""Backup winners (contract section 2, "Backups"): for each (lot, winning supplier) the best
re-award of what that supplier won there if it drops out, everything else fixed.

Exhaustive enumeration on tiny rounds (written from the contract, reading only the documents)
agrees with every backup's vehicles and price; hand-made rounds pin each rule (the tier of the
bid's new total, the winner limit counting the suppliers that stay, share cap, exclusions,
"nobody can replace"); the validator's backup checks each catch their own corruption.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import random
import re
import subprocess
import sys
import time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from solver import io
from solver.award import award, backups, validate_award
from solver.award import validate as av
from solver.award import validate_backups as vb
from solver.award.instance import parse
from tests.solver.award_helpers import (
    _max_flow,
    add_quarters,
    cents,
    deliverable,
    has_quarters,
    tier_price,
    tiny_round,
)

Doc = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]


# -- the reference: every replacement, enumerated ---------------------------------------------


def brute_backup(doc: Doc, result: Doc, lot: str, withdrawn: str) -> tuple[int, int]:
    """(most vehicles, lowest cents among those) over every replacement of `withdrawn` in `lot`
    (with delivery quarters: whole line service, deliverable within what the award's deliveries
    leave of the quarterly capacities)."""
    rules = doc.get("rules") or {}
    whole = rules.get("line_service", "whole") == "whole"
    mw = rules.get("max_winners_per_lot")
    lines, share_cap, cap, used, in_lot, awarded, freed, staying = _left_by_award(doc, result, lot, withdrawn)
    bids = [b for b in doc["bids"] if b["lot"] == lot and b["supplier"] != withdrawn]
    total = sum(freed.values())
    choices = [
        [0] + [q for q in range(1, total + 1) if b["min_quantity"] <= awarded.get(b["id"], 0) + q <= b["max_quantity"]]
        for b in bids
    ]
    best = (0, 0)
    for qs in itertools.product(*choices):
        srcs = [
            (b["id"], b["supplier"], lot, q, tier_price(b, awarded.get(b["id"], 0) + q))
            for b, q in zip(bids, qs, strict=True)
            if q
        ]
        vehicles = sum(s[3] for s in srcs)
        price = sum(s[3] * s[4] for s in srcs)
        if (vehicles, -price) <= (best[0], -best[1]):
            continue
        if any(used.get(s[1], 0) + s[3] > cap[s[1]] or in_lot.get(s[1], 0) + s[3] > share_cap for s in srcs):
            continue
        if mw is not None and len(staying | {s[1] for s in srcs}) > mw:
            continue
        if _covers(srcs, freed, lines, whole, _remaining(doc, result) if has_quarters(doc) else None, lot):
            best = (vehicles, price)
    return best


def _left_by_award(doc: Doc, result: Doc, lot: str, withdrawn: str) -> tuple[Any, ...]:
    """What the award leaves a replacement of `withdrawn` in `lot`: the lot's lines by id, the
    share cap, capacities, vehicles used per supplier, per supplier in the lot and per source,
    the vehicles freed per line, and the suppliers staying in the lot."""
    rules = doc.get("rules") or {}
    lines = {d["id"]: d for lt in doc["lots"] if lt["id"] == lot for d in lt["demand"]}
    share_cap = int(Decimal(str(rules.get("max_share_per_supplier", 1))) * sum(d["quantity"] for d in lines.values()))
    cap = {s["id"]: s["capacity"] for s in doc["suppliers"]}
    used: dict[str, int] = {}
    in_lot: dict[str, int] = {}
    awarded: dict[str, int] = {}
    freed: dict[str, int] = {}
    for r in result["awards"]:
        used[r["supplier"]] = used.get(r["supplier"], 0) + r["quantity"]
        awarded[r["source"]] = awarded.get(r["source"], 0) + r["quantity"]
        if r["lot"] == lot:
            in_lot[r["supplier"]] = in_lot.get(r["supplier"], 0) + r["quantity"]
            if r["supplier"] == withdrawn:
                for al in r["allocations"]:
                    freed[al["demand"]] = freed.get(al["demand"], 0) + al["quantity"]
    return lines, share_cap, cap, used, in_lot, awarded, freed, set(in_lot) - {withdrawn}


def _remaining(doc: Doc, result: Doc) -> Doc:
    """The round with each quarterly capacity less the award's deliveries that count against it."""
    doc = copy.deepcopy(doc)
    segment = {lot["id"]: lot.get("segment") for lot in doc["lots"]}
    for s in doc["suppliers"]:
        for e in s.get("quarterly_capacity") or []:
            for r in result["awards"]:
                if r["supplier"] != s["id"] or e.get("segment") not in (None, segment[r["lot"]]):
                    continue
                for al in r["allocations"]:
                    e["capacity"] -= sum(d["quantity"] for d in al["deliveries"] if d["quarter"] == e["quarter"])
    return doc


def _ok(src: tuple[Any, ...], line: Doc) -> bool:
    return src[4] <= cents(line["max_unit_price"]) and src[1] not in line.get("excluded_suppliers", [])


def _covers(
    srcs: list[tuple[Any, ...]],
    freed: dict[str, int],
    lines: dict[str, Doc],
    whole: bool,
    quarters: Doc | None = None,
    lot: str = "",
) -> bool:
    """The sources' quantities can be allocated exactly to the freed lines (each at most what it
    freed), and with quarters delivered within the capacities `quarters` leaves."""
    if whole:
        options = [[None] + [i for i, s in enumerate(srcs) if _ok(s, lines[li])] for li in freed]
        for assign in itertools.product(*options):
            tot = [0] * len(srcs)
            for li, k in zip(freed, assign, strict=True):
                if k is not None:
                    tot[k] += freed[li]
            if not all(t == s[3] for t, s in zip(tot, srcs, strict=True)):
                continue
            if quarters is None:
                return True
            bids = {b["id"]: b for b in quarters["bids"]}
            allocs = [
                (srcs[k][1], lot, lines[li], bids[srcs[k][0]], freed[li])
                for li, k in zip(freed, assign, strict=True)
                if k is not None
            ]
            if deliverable(quarters, allocs):
                return True
        return False
    assert quarters is None, "brute force with quarters covers whole line service"
    edges = {s[0]: [li for li in freed if _ok(s, lines[li])] for s in srcs}
    return _max_flow({s[0]: s[3] for s in srcs}, edges, dict(freed)) == sum(s[3] for s in srcs)


@cache
def tiny_cases() -> tuple[tuple[Doc, Doc], ...]:
    cases = []
    for seed in range(30):
        doc = tiny_round(random.Random(1000 + seed), whole=seed % 2 == 0, max_lines=6)
        for s in doc["suppliers"]:
            s["capacity"] += 6  # room for backups
        cases.append((doc, award(doc, workers=1)))
    return tuple(cases)


@cache
def quarter_cases() -> tuple[tuple[Doc, Doc], ...]:
    cases = []
    for seed in range(48):
        rng = random.Random(2000 + seed)
        doc = add_quarters(rng, tiny_round(rng, whole=True, max_lines=5))
        for s in doc["suppliers"]:
            s["capacity"] += 6
        cases.append((doc, award(doc, workers=1)))
    return tuple(cases)


@pytest.mark.parametrize("cases", [tiny_cases, quarter_cases], ids=["plain", "quarters"])
def test_backups_equal_exhaustive_enumeration_on_tiny_rounds(cases: Any) -> None:
    entries = covered = 0
    for doc, result in cases():
        assert validate_award(doc, result) == []
        winners = {(r["lot"], r["supplier"]) for r in result["awards"]}
        assert {(b["lot"], b["withdrawn"]) for b in result["backups"]} == winners
        for b in result["backups"]:
            want = brute_backup(doc, result, b["lot"], b["withdrawn"])
            assert (b["covered_quantity"], cents(b["total_price"])) == want, (doc, b)
            entries += 1
            covered += b["covered_quantity"] > 0
        assert result["stats"]["backups"]["proven"] == len(result["backups"])
    # the set exercises both answers: replacements found, and nobody able to replace
    assert covered >= 4 and entries - covered >= 3


# -- ties: the canonical replacement ------------------------------------------------------------


def _natural(text: str) -> list[Any]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", text) if p]


def tie_weight(line: str, line_rank: int, n_lines: int, source: str, source_rank: int) -> int:
    """w(line, source) of the contract's tie-break (section 2, "Backups"; the award's rule)."""
    digest = hashlib.blake2b(f"{line}\x00{source}".encode(), digest_size=8).digest()
    return ((source_rank + 1) * (n_lines + 1 + line_rank) << 24) + (int.from_bytes(digest, "big") >> 40)


def brute_canonical(doc: Doc, result: Doc, lot: str, withdrawn: str) -> tuple[set[tuple[str, str]], int]:
    """Whole line service: every replacement of `withdrawn` in `lot` (each freed line to one bid
    of another supplier in the lot, or to none), the best by most vehicles, lowest cents, then
    least T; returns its (line, bid) pairs and how many replacements tie on vehicles and cents."""
    rules = doc.get("rules") or {}
    assert rules.get("line_service", "whole") == "whole"
    mw = rules.get("max_winners_per_lot")
    lines, share_cap, cap, used, in_lot, awarded, freed, staying = _left_by_award(doc, result, lot, withdrawn)
    bids = sorted(
        (b for b in doc["bids"] if b["lot"] == lot and b["supplier"] != withdrawn), key=lambda b: _natural(b["id"])
    )
    order = sorted(freed, key=_natural)
    remaining = _remaining(doc, result) if has_quarters(doc) else None
    by_id = {b["id"]: b for b in (remaining or doc)["bids"]}
    found: list[tuple[int, int, int, set[tuple[str, str]]]] = []
    for assign in itertools.product([None, *range(len(bids))], repeat=len(order)):
        q = [0] * len(bids)
        for li, k in zip(order, assign, strict=True):
            if k is not None:
                q[k] += freed[li]
        if any(
            not b["min_quantity"] <= awarded.get(b["id"], 0) + q[k] <= b["max_quantity"]
            for k, b in enumerate(bids)
            if q[k]
        ):
            continue
        price = {k: tier_price(b, awarded.get(b["id"], 0) + q[k]) for k, b in enumerate(bids) if q[k]}
        if any(
            price[k] > cents(lines[li]["max_unit_price"])
            or bids[k]["supplier"] in lines[li].get("excluded_suppliers", [])
            for li, k in zip(order, assign, strict=True)
            if k is not None
        ):
            continue
        if any(
            used.get(b["supplier"], 0) + q[k] > cap[b["supplier"]] or in_lot.get(b["supplier"], 0) + q[k] > share_cap
            for k, b in enumerate(bids)
            if q[k]
        ):
            continue
        if mw is not None and len(staying | {bids[k]["supplier"] for k in price}) > mw:
            continue
        pairs = [(li, k) for li, k in zip(order, assign, strict=True) if k is not None]
        if remaining is not None and not deliverable(
            remaining, [(bids[k]["supplier"], lot, lines[li], by_id[bids[k]["id"]], freed[li]) for li, k in pairs]
        ):
            continue
        vehicles = sum(q)
        total = sum(q[k] * p for k, p in price.items())
        t = sum(freed[li] * tie_weight(li, order.index(li), len(order), bids[k]["id"], k) for li, k in pairs)
        found.append((vehicles, total, t, {(li, bids[k]["id"]) for li, k in pairs}))
    best = max(found, key=lambda f: (f[0], -f[1], -f[2]))
    ties = [f for f in found if f[:2] == best[:2]]
    assert sum(f[2] == best[2] for f in ties) == 1, "the least T is unique"
    return best[3], len(ties)


@cache
def tie_cases() -> tuple[tuple[Doc, Doc], ...]:
    """Whole-service tiny rounds where bids share one price and lines a few sizes: many
    replacements tie on vehicles and price."""
    cases = []
    for seed in range(30):
        rng = random.Random(3000 + seed)
        sups = [f"s{i}" for i in range(rng.randint(3, 4))]
        lots = [
            {
                "id": f"L{i}",
                "demand": [
                    {"id": f"L{i}d{j}", "quantity": rng.choice([2, 2, 3]), "max_unit_price": 120}
                    for j in range(rng.randint(2, 3))
                ],
            }
            for i in range(rng.randint(1, 2))
        ]
        bids = [
            {
                "id": f"b-{s}-{lot['id']}",
                "supplier": s,
                "lot": lot["id"],
                "min_quantity": 2,
                "max_quantity": rng.randint(2, 8),
                "tiers": [{"min_quantity": 2, "unit_price": 100}],
            }
            for s in sups
            for lot in lots
            if rng.random() < 0.8
        ]
        doc: Doc = {
            "rules": {"line_service": "whole"},
            "suppliers": [{"id": s, "capacity": rng.randint(3, 10)} for s in sups],
            "lots": lots,
            "bids": bids,
            "packages": [],
        }
        if rng.random() < 0.4:
            doc["rules"]["max_winners_per_lot"] = rng.randint(2, 3)
        if seed % 3 == 0:
            doc = add_quarters(rng, doc)
        cases.append((doc, award(doc, workers=1)))
    return tuple(cases)


def test_tied_backups_are_the_canonical_replacement() -> None:
    tied = 0
    for doc, result in (*tie_cases(), *tiny_cases()[::2], *quarter_cases()):
        assert result["stats"]["backups"]["tie_break"]["applied"] == len(result["backups"])
        for b in result["backups"]:
            pairs, ties = brute_canonical(doc, result, b["lot"], b["withdrawn"])
            got = {(a["demand"], r["source"]) for r in b["replacement"] for a in r["allocations"]}
            assert got == pairs, (doc, b)
            tied += ties > 1
    assert tied >= 10  # the set has many replacements that tie on vehicles and price


# -- hand-made rounds: one rule each ----------------------------------------------------------


def grow_round(**rules: Any) -> Doc:
    """oem-w serves one line at 90; oem-a serves the other at 100, and 98 from 15 vehicles on;
    oem-b offers 10 at 97."""
    return {
        "rules": {"line_service": "whole", **rules},
        "suppliers": [
            {"id": "oem-a", "capacity": 100},
            {"id": "oem-b", "capacity": 100},
            {"id": "oem-w", "capacity": 10},
        ],
        "lots": [
            {
                "id": "lot-1",
                "demand": [
                    {"id": "d-1", "quantity": 10, "max_unit_price": 120},
                    {"id": "d-2", "quantity": 10, "max_unit_price": 120},
                ],
            }
        ],
        "bids": [
            {
                "id": "bid-a",
                "supplier": "oem-a",
                "lot": "lot-1",
                "min_quantity": 5,
                "max_quantity": 20,
                "tiers": [{"min_quantity": 5, "unit_price": 100}, {"min_quantity": 15, "unit_price": 98}],
            },
            {
                "id": "bid-b",
                "supplier": "oem-b",
                "lot": "lot-1",
                "min_quantity": 10,
                "max_quantity": 10,
                "tiers": [{"min_quantity": 10, "unit_price": 97}],
            },
            {
                "id": "bid-w",
                "supplier": "oem-w",
                "lot": "lot-1",
                "min_quantity": 10,
                "max_quantity": 10,
                "tiers": [{"min_quantity": 10, "unit_price": 90}],
            },
        ],
    }


def _backup(result: Doc, withdrawn: str) -> Doc:
    return next(b for b in result["backups"] if b["withdrawn"] == withdrawn)


def test_a_new_supplier_replaces_when_the_winner_limit_leaves_a_place() -> None:
    doc = grow_round(max_winners_per_lot=2)
    result = award(doc)
    assert {r["supplier"] for r in result["awards"]} == {"oem-w", "oem-b"}  # 90 and 97: cheapest pair
    b = _backup(result, "oem-w")
    # oem-b already has 10 (its maximum); oem-a is new and takes the freed line at its first tier
    assert b["quantity"] == 10 and b["covered_quantity"] == 10
    assert [(r["source"], r["quantity"], r["unit_price"]) for r in b["replacement"]] == [("bid-a", 10, 100)]
    assert b["total_price"] == 1000
    assert validate_award(doc, result) == []


def test_a_growing_bid_prices_the_backup_at_the_tier_of_its_new_total() -> None:
    doc = grow_round(max_winners_per_lot=2)
    doc["bids"][1]["tiers"][0]["unit_price"] = 130  # oem-b out of every line's reach
    result = award(doc)
    assert {r["supplier"]: r["unit_price"] for r in result["awards"]} == {"oem-w": 90, "oem-a": 100}
    b = _backup(result, "oem-w")
    # oem-a has 10 at 100; 10 more reach its 15-vehicle tier: the backup vehicles cost 98
    assert [(r["source"], r["quantity"], r["unit_price"]) for r in b["replacement"]] == [("bid-a", 10, 98)]
    assert b["total_price"] == 980


def test_the_winner_limit_counts_the_suppliers_that_stay() -> None:
    doc = grow_round(max_winners_per_lot=1)
    doc["lots"][0]["demand"].pop()  # one line of 10: one winner
    doc["bids"][0]["min_quantity"] = doc["bids"][0]["tiers"][0]["min_quantity"] = 10
    doc["suppliers"][2]["capacity"] = 10
    result = award(doc)
    assert [r["supplier"] for r in result["awards"]] == ["oem-w"]
    b = _backup(result, "oem-w")
    # oem-w leaves: its place is free, and oem-b (97) is cheaper than oem-a (100)
    assert [(r["supplier"], r["unit_price"]) for r in b["replacement"]] == [("oem-b", 97)]


def test_nobody_can_replace_is_an_empty_backup() -> None:
    doc = grow_round(max_winners_per_lot=2)
    for line in doc["lots"][0]["demand"]:
        line["excluded_suppliers"] = ["oem-a"]
    doc["bids"][1]["tiers"][0]["unit_price"] = 130
    result = award(doc)
    b = _backup(result, "oem-w")
    assert b == {
        "lot": "lot-1",
        "withdrawn": "oem-w",
        "quantity": 10,
        "covered_quantity": 0,
        "replacement": [],
        "total_price": 0,
    }


def test_share_cap_and_capacity_bound_the_backup() -> None:
    doc = grow_round(max_winners_per_lot=2, max_share_per_supplier=0.5)
    doc["bids"][1]["tiers"][0]["unit_price"] = 130
    result = award(doc)
    # oem-a holds its share (10 of 20) already: nobody can take oem-w's line
    assert _backup(result, "oem-w")["replacement"] == []
    doc = grow_round(max_winners_per_lot=2)
    doc["bids"][1]["tiers"][0]["unit_price"] = 130
    doc["suppliers"][0]["capacity"] = 15  # oem-a has 10, room for 5: not a whole line
    assert _backup(award(doc), "oem-w")["replacement"] == []


# -- options and determinism -----------------------------------------------------------------


def test_backups_can_be_left_out_and_change_nothing_else() -> None:
    doc = grow_round(max_winners_per_lot=2)
    full = award(doc)
    off = award(doc, backups=False)
    assert "backups" not in off and "backups" not in off["stats"]
    no_rule = copy.deepcopy(doc)
    no_rule["rules"]["backups"] = False
    by_rule = award(no_rule)
    for r in (full, off, by_rule):
        r["stats"].pop("solve_seconds")
        r["stats"].pop("backups", None)
    full.pop("backups")
    assert full == off == by_rule


def test_backups_do_not_depend_on_the_input_order() -> None:
    doc, result = tiny_cases()[3]
    shuffled = copy.deepcopy(doc)
    rng = random.Random(7)
    for key in ("suppliers", "lots", "bids", "packages"):
        rng.shuffle(shuffled[key])
    assert award(shuffled)["backups"] == result["backups"]


def test_backups_run_on_their_own_work_budget() -> None:
    doc, result = tiny_cases()[3]
    got = result["stats"]["backups"]
    assert got["work_limit"] == 0.25 * result["stats"]["limits"]["work_limit"]
    assert got["stopped_by"] == "nothing"
    # the backups of the award made without them: the same bytes (the same budget, no clock)
    alone = award(doc, backups=False)
    assert backups.of_result(doc, alone) == result["backups"]


def test_a_spent_work_budget_gives_the_greedys_backups_the_same_on_every_run() -> None:
    greedy_found = 0
    for doc, result in (*tiny_cases()[:12], *quarter_cases()[:12]):
        inst = parse(doc)
        sol = backups.solution_of(inst, result)
        first, stopped = backups.compute(inst, sol, deadline=time.monotonic() + 600, work_limit=0.0)
        again, _ = backups.compute(inst, sol, deadline=time.monotonic() + 600, work_limit=0.0)
        assert backups.to_output(inst, sol, first) == backups.to_output(inst, sol, again)
        spent = dict(result, backups=backups.to_output(inst, sol, first))
        assert validate_award(doc, spent) == []
        searched = [b for b in first if not b.proven]  # the others had nothing to search
        assert stopped == ("work" if searched else "nothing")
        assert all(not b.canonical for b in searched)
        greedy_found += sum(bool(b.replacement) for b in searched)
    assert greedy_found >= 3  # the greedy still finds replacements past the budget


def test_cli_no_backups(tmp_path: Path) -> None:
    path = tmp_path / "round.json"
    path.write_text(json.dumps(grow_round(max_winners_per_lot=2)), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "solver", "award", str(path), "--no-backups"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result = io.loads(proc.stdout)
    assert result["awarded_quantity"] == 20 and "backups" not in result


def test_rules_backups_must_be_a_boolean() -> None:
    from solver.errors import InvalidInput

    doc = grow_round(backups="no")
    with pytest.raises(InvalidInput) as exc:
        award(doc)
    assert any(p.path == "rules.backups" for p in exc.value.problems)


# -- the validator's backup checks, each on its own corruption --------------------------------


@cache
def valid_cases() -> tuple[tuple[Doc, Doc], ...]:
    cases = list(tiny_cases()) + list(quarter_cases())
    for mw in (1, 2):
        doc = grow_round(max_winners_per_lot=mw)
        cases.append((doc, award(doc)))
    doc = grow_round(max_winners_per_lot=2)
    doc["bids"][1]["tiers"][0]["unit_price"] = 130
    cases.append((doc, award(doc)))
    return tuple(cases)


def _with_replacement(doc: Doc, result: Doc) -> tuple[Doc, Doc, Doc, Doc] | None:
    """A deep copy of the case and its first backup row, if any backup has one."""
    for i, b in enumerate(result["backups"]):
        if b["replacement"]:
            doc2, res2 = copy.deepcopy(doc), copy.deepcopy(result)
            return doc2, res2, res2["backups"][i], res2["backups"][i]["replacement"][0]
    return None


def entry_missing(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    if not result["backups"]:
        return None
    result = copy.deepcopy(result)
    result["backups"].pop()
    return doc, result


def entry_quantity_wrong(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    if not result["backups"]:
        return None
    result = copy.deepcopy(result)
    result["backups"][0]["quantity"] += 1
    return doc, result


def replaced_by_itself(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    made = _with_replacement(doc, result)
    if made is None:
        return None
    doc, result, b, r = made
    r["supplier"] = b["withdrawn"]
    return doc, result


def replaced_by_a_package(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    made = _with_replacement(doc, result)
    if made is None or not doc.get("packages"):
        return None
    doc, result, _, r = made
    r["source"] = doc["packages"][0]["id"]
    return doc, result


def wrong_tier_price(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    made = _with_replacement(doc, result)
    if made is None:
        return None
    doc, result, _, r = made
    r["unit_price"] = r["unit_price"] + 1
    return doc, result


def bid_total_out_of_range(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    made = _with_replacement(doc, result)
    if made is None:
        return None
    doc, result, _, r = made
    bid = next(x for x in doc["bids"] if x["id"] == r["source"])
    bid["max_quantity"] = sum(a["quantity"] for a in result["awards"] if a["source"] == bid["id"]) + r["quantity"] - 1
    return doc, result


def line_not_freed(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    made = _with_replacement(doc, result)
    if made is None:
        return None
    doc, result, b, r = made
    freed = {
        al["demand"]
        for a in result["awards"]
        if (a["lot"], a["supplier"]) == (b["lot"], b["withdrawn"])
        for al in a["allocations"]
    }
    other = [d["id"] for lot in doc["lots"] for d in lot["demand"] if d["id"] not in freed]
    if not other:
        return None
    r["allocations"][0]["demand"] = other[0]
    return doc, result


def over_reserve_price(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    made = _with_replacement(doc, result)
    if made is None:
        return None
    doc, result, _, r = made
    line = next(d for lot in doc["lots"] for d in lot["demand"] if d["id"] == r["allocations"][0]["demand"])
    line["max_unit_price"] = Decimal(cents(r["unit_price"]) - 1) / 100
    return doc, result


def excluded_replacement(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    made = _with_replacement(doc, result)
    if made is None:
        return None
    doc, result, _, r = made
    line = next(d for lot in doc["lots"] for d in lot["demand"] if d["id"] == r["allocations"][0]["demand"])
    line["excluded_suppliers"] = [r["supplier"]]
    return doc, result


def over_remaining_capacity(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    made = _with_replacement(doc, result)
    if made is None:
        return None
    doc, result, _, r = made
    used = sum(a["quantity"] for a in result["awards"] if a["supplier"] == r["supplier"])
    next(s for s in doc["suppliers"] if s["id"] == r["supplier"])["capacity"] = used + r["quantity"] - 1
    return doc, result


def new_winner_over_the_limit(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    for b in result["backups"]:
        staying = {a["supplier"] for a in result["awards"] if a["lot"] == b["lot"]} - {b["withdrawn"]}
        new = {r["supplier"] for r in b["replacement"]} - staying
        if new:
            doc2, res2 = copy.deepcopy(doc), copy.deepcopy(result)
            # one place fewer than the backup fills (the award itself may then break it too)
            doc2["rules"]["max_winners_per_lot"] = len(staying | new) - 1
            if doc2["rules"]["max_winners_per_lot"] < 1:
                continue
            return doc2, res2
    return None


def covered_quantity_wrong(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    if not result["backups"]:
        return None
    result = copy.deepcopy(result)
    result["backups"][0]["covered_quantity"] += 1
    return doc, result


def total_price_off_by_a_cent(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    made = _with_replacement(doc, result)
    if made is None:
        return None
    doc, result, b, _ = made
    b["total_price"] = Decimal(cents(b["total_price"]) + 1) / 100
    return doc, result


def _delivered(doc: Doc, result: Doc) -> tuple[Doc, Doc, Doc, Doc, Doc] | None:
    """A deep copy of the case, its first backup with deliveries, that row and its first allocation."""
    for i, b in enumerate(result["backups"]):
        for j, r in enumerate(b["replacement"]):
            if r["allocations"][0].get("deliveries"):
                doc2, res2 = copy.deepcopy(doc), copy.deepcopy(result)
                row = res2["backups"][i]["replacement"][j]
                return doc2, res2, res2["backups"][i], row, row["allocations"][0]
    return None


def deliveries_do_not_sum(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    made = _delivered(doc, result)
    if made is None:
        return None
    doc, result, _, _, al = made
    al["deliveries"][0]["quantity"] += 1
    return doc, result


def backup_over_quarterly_capacity(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    made = _delivered(doc, result)
    if made is None:
        return None
    doc, result, _, r, al = made
    d = al["deliveries"][0]
    sup = next(s for s in doc["suppliers"] if s["id"] == r["supplier"])
    award_load = sum(
        x["quantity"]
        for a in result["awards"]
        if a["supplier"] == r["supplier"]
        for y in a["allocations"]
        for x in y.get("deliveries") or []
        if x["quarter"] == d["quarter"]
    )
    entries = [e for e in sup.get("quarterly_capacity") or [] if "segment" not in e and e["quarter"] != d["quarter"]]
    # the quarter's capacity now holds the award's deliveries and one vehicle less than the backup's
    sup["quarterly_capacity"] = [*entries, {"quarter": d["quarter"], "capacity": award_load + d["quantity"] - 1}]
    return doc, result


def no_deliveries_with_quarters(doc: Doc, result: Doc) -> tuple[Doc, Doc] | None:
    made = _delivered(doc, result)
    if made is None:
        return None
    doc, result, _, _, al = made
    del al["deliveries"]
    return doc, result


CORRUPTIONS = [
    (entry_missing, "check_backup_entries"),
    (entry_quantity_wrong, "check_backup_entries"),
    (replaced_by_itself, "check_backup_sources"),
    (replaced_by_a_package, "check_backup_sources"),
    (wrong_tier_price, "check_backup_tier_price"),
    (bid_total_out_of_range, "check_backup_tier_price"),
    (line_not_freed, "check_backup_allocations"),
    (over_reserve_price, "check_backup_allocations"),
    (excluded_replacement, "check_backup_allocations"),
    (over_remaining_capacity, "check_backup_capacity"),
    (new_winner_over_the_limit, "check_backup_winners"),
    (covered_quantity_wrong, "check_backup_totals"),
    (total_price_off_by_a_cent, "check_backup_totals"),
    (deliveries_do_not_sum, "check_backup_deliveries"),
    (backup_over_quarterly_capacity, "check_backup_deliveries"),
    (no_deliveries_with_quarters, "check_backup_deliveries"),
]


def test_the_valid_results_pass_every_backup_check() -> None:
    for doc, result in valid_cases():
        a = av.read(doc, result)
        assert {c.__name__: c(a) for c in vb.CHECKS} == {c.__name__: [] for c in vb.CHECKS}


@pytest.mark.parametrize(("corrupt", "check"), CORRUPTIONS, ids=[c.__name__ for c, _ in CORRUPTIONS])
def test_every_backup_corruption_is_caught_by_its_rule(corrupt: Any, check: str) -> None:
    fn = getattr(vb, check)
    assert fn in av.CHECKS
    applied = 0
    for doc, result in valid_cases():
        made = corrupt(doc, result)
        if made is None:
            continue
        applied += 1
        bad_doc, bad = made
        assert fn(av.read(bad_doc, bad)), corrupt.__name__
        assert validate_award(bad_doc, bad), corrupt.__name__
    assert applied >= 1, "no valid result could be corrupted this way: widen the set"
