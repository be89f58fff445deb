"""Delivery quarters in the award (contract section 2, "Delivery quarters"): windows, the quarters a
source can deliver in, suppliers' quarterly capacities, and the deliveries of each allocation."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from solver import schema
from solver.award import award, validate_award
from solver.money import to_cents
from tests.solver.award_helpers import add_quarters, brute_force, highs_award, tiny_round


def quarter_doc() -> dict:
    return {
        "rules": {"prefer_early_delivery": True, "backups": False},
        "suppliers": [
            {
                "id": "oem-2",
                "capacity": 120,
                "quarterly_capacity": [
                    {"quarter": "2027Q1", "capacity": 40},
                    {"quarter": "2027Q1", "segment": "refuse-truck", "capacity": 10},
                    {"quarter": "2027Q2", "capacity": 80},
                ],
            }
        ],
        "lots": [
            {
                "id": "lot-1",
                "segment": "refuse-truck",
                "demand": [
                    {
                        "id": "d-001",
                        "quantity": 12,
                        "max_unit_price": 260000,
                        "window": {"first": "2027Q1", "last": "2027Q4"},
                    }
                ],
            }
        ],
        "bids": [
            {
                "id": "bid-1",
                "supplier": "oem-2",
                "lot": "lot-1",
                "min_quantity": 10,
                "max_quantity": 100,
                "tiers": [{"min_quantity": 10, "unit_price": 250000}],
                "quarters": ["2027Q1", "2027Q2"],
            }
        ],
        "packages": [],
    }


def test_the_input_schema_takes_the_quarter_fields_and_names_a_bad_quarter() -> None:
    assert schema.check(quarter_doc(), "award-input") == []
    bad = quarter_doc()
    bad["lots"][0]["demand"][0]["window"]["last"] = "2027Q5"
    bad["bids"][0]["quarters"] = []
    bad["suppliers"][0]["quarterly_capacity"][0]["quarter"] = "Q1-2027"
    assert {(p.path, p.message) for p in schema.check(bad, "award-input")} == {
        ("lots[0].demand[0].window.last", "must be a quarter like 2027Q2"),
        ("bids[0].quarters", "must be a non-empty list of quarters like 2027Q2"),
        ("suppliers[0].quarterly_capacity[0].quarter", "must be a quarter like 2027Q2"),
    }


def test_the_output_schema_takes_deliveries_and_backups() -> None:
    alloc = {"demand": "d-001", "quantity": 12, "deliveries": [{"quarter": "2027Q2", "quantity": 12}]}
    out = {
        "status": "OPTIMAL",
        "awarded_quantity": 12,
        "total_price": 3000000,
        "awards": [
            {
                "source": "bid-1",
                "supplier": "oem-2",
                "lot": "lot-1",
                "quantity": 12,
                "unit_price": 250000,
                "allocations": [alloc],
            }
        ],
        "unserved": [],
        "backups": [
            {
                "lot": "lot-1",
                "withdrawn": "oem-2",
                "quantity": 12,
                "covered_quantity": 0,
                "replacement": [],
                "total_price": 0,
            }
        ],
        "stats": {"solve_seconds": 0.0, "bound_quantity": 12, "bound_price": 3000000},
    }
    assert schema.check(out, "award-output") == []
    out["awards"][0]["allocations"][0]["deliveries"] = [{"quarter": "2027Q2", "quantity": 0}]
    assert [p.path for p in schema.check(out, "award-output")] == ["awards[0].allocations[0].deliveries[0].quantity"]


# -- an input without quarters is solved exactly as before -------------------------------------

GOLDEN = Path(__file__).parent / "data" / "award_before_quarters.json"


def _dump(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, default=lambda d: float(d) if d != d.to_integral_value() else int(d))


@pytest.mark.parametrize("name", sorted(json.loads(GOLDEN.read_text())))
def test_an_input_without_quarters_gives_the_same_bytes_as_before_quarters_existed(name: str) -> None:
    # Outputs of the award at commit 36dd95a (before delivery quarters), on tiny rounds and two
    # 30-bid rounds, solved with the same work limit (tests/solver/data/award_before_quarters.json),
    # but for one reason: tiny-5's L0d0 (4 vehicles, more than any supplier's capacity) is now said
    # to be larger than any source may take, where it said "capacity taken by cheaper lines".
    case = json.loads(GOLDEN.read_text(), parse_float=Decimal)[name]
    out = award(case["input"], time_limit=600, work_limit=10)  # on work: the clock must not bind
    out["stats"].pop("solve_seconds")
    out.pop("backups", None)  # a separate output (contract: Backups), not part of the award
    out["stats"].pop("backups", None)
    assert _dump(out) == _dump(case["output"])


# -- the optimum with quarters: brute force (whole service) and HiGHS (both services) -----------


def quarter_round(seed: int, *, whole: bool, max_lines: int = 5) -> dict[str, Any]:
    rng = random.Random(seed)
    return add_quarters(rng, tiny_round(rng, whole=whole, max_lines=max_lines))


@pytest.mark.parametrize("seeds", [range(0, 25), range(25, 50)], ids=lambda r: f"seeds{r.start}-{r.stop - 1}")
def test_award_with_quarters_equals_brute_force(seeds: range) -> None:
    for seed in seeds:
        doc = quarter_round(seed, whole=True)
        result = award(doc, time_limit=20, work_limit=20)
        assert validate_award(doc, result) == [], seed
        got = (result["awarded_quantity"], to_cents(result["total_price"]))
        assert got == brute_force(doc), f"seed {seed}"
        assert result["status"] == "OPTIMAL"
        greedy = award(doc, exact=False)
        assert validate_award(doc, greedy) == [], seed


def test_highs_reference_with_quarters_equals_brute_force() -> None:
    """The HiGHS reference the benchmark cross-checks against, with its phase 2 stated line by line
    when every servable line is served (award_helpers.highs_award), finds brute force's optimum."""
    served_all = 0
    rounds = [quarter_round(seed, whole=True) for seed in range(40)]
    rounds += [tiny_round(random.Random(seed)) for seed in range(60)]  # whole and split, no quarters
    for seed, doc in enumerate(rounds):
        best = brute_force(doc)
        if best == (0, 0):  # nothing can be awarded: HiGHS gets an empty model
            continue
        ref = highs_award(doc, time_limit=60)
        assert ref["optimal"], seed
        assert (ref["vehicles"], ref["cents"]) == best, f"seed {seed}"
        served_all += ref["serve_all"]
    assert 5 <= served_all <= len(rounds) - 20  # both ways of stating phase 2 are checked


@pytest.mark.parametrize("whole", [True, False], ids=["whole", "split"])
def test_award_with_quarters_equals_highs_on_tiny_rounds(whole: bool) -> None:
    for seed in range(100, 130):
        doc = quarter_round(seed, whole=whole, max_lines=6)
        result = award(doc, time_limit=20, work_limit=20)
        assert validate_award(doc, result) == [], seed
        ref = highs_award(doc, time_limit=60)
        assert ref["optimal"]
        assert (result["awarded_quantity"], to_cents(result["total_price"])) == (ref["vehicles"], ref["cents"]), seed
        assert result["status"] == "OPTIMAL"
        assert validate_award(doc, award(doc, exact=False)) == [], seed


MID_SIZE = [
    pytest.param((10, 5, 40, 1, "whole"), id="10lots-40bids-whole"),
    pytest.param((8, 4, 30, 2, "split"), id="8lots-30bids-split"),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", MID_SIZE)
def test_award_with_quarters_equals_highs_on_mid_size_rounds(case: tuple[int, int, int, int, str]) -> None:
    """The benchmark's rounds with production ramps (bench.award_quarters: windows, bids from some
    quarter on, quarterly and segment capacities), the ramps 40 % steeper so they bind: the award
    equals the HiGHS MIP, whose delivery quarters are its own (tests/solver/award_helpers.py), to
    the cent."""
    from bench.award_instances import make_round
    from bench.award_quarters import with_quarters

    n_lots, n_oems, n_bids, seed, service = case
    doc = with_quarters(make_round(n_lots, n_oems, n_bids, seed=seed, line_service=service), seed)
    for s in doc["suppliers"]:
        for e in s["quarterly_capacity"]:
            e["capacity"] = int(e["capacity"] * 0.6)
    # ours on work, the clocks only generous safety caps (the same search under any load)
    ours = award(doc, time_limit=900, work_limit=30, backups=False)
    assert validate_award(doc, ours) == []
    ref = highs_award(doc, time_limit=900)
    assert ref["optimal"], "the reference must prove its optimum for the comparison to mean something"
    assert ours["status"] == "OPTIMAL"
    assert (ours["awarded_quantity"], to_cents(ours["total_price"])) == (ref["vehicles"], ref["cents"])
    # the ramps bind: without them the same round is served otherwise (more vehicles or cheaper)
    free = json.loads(json.dumps(doc))
    for s in free["suppliers"]:
        s.pop("quarterly_capacity")
    unbound = award(free, time_limit=900, work_limit=30, backups=False)
    assert (unbound["awarded_quantity"], -to_cents(unbound["total_price"])) > (
        ours["awarded_quantity"],
        -to_cents(ours["total_price"]),
    )


# -- hand-made rounds: what a coordinator relies on ---------------------------------------------


def ramp_round(*, prefer_early: bool = False) -> dict[str, Any]:
    """oem-1 ramps up (5, then 5, then 20 vehicles a quarter, at most 3 buses in 2027Q3);
    oem-2 delivers from 2027Q3 only, dearer."""
    return {
        "rules": {"line_service": "split", "prefer_early_delivery": prefer_early},
        "suppliers": [
            {
                "id": "oem-1",
                "capacity": 100,
                "quarterly_capacity": [
                    {"quarter": "2027Q1", "capacity": 5},
                    {"quarter": "2027Q2", "capacity": 5},
                    {"quarter": "2027Q3", "capacity": 20},
                    {"quarter": "2027Q3", "segment": "bus", "capacity": 3},
                ],
            },
            {"id": "oem-2", "capacity": 100},
        ],
        "lots": [
            {
                "id": "lot-1",
                "segment": "bus",
                "demand": [
                    {
                        "id": "d-1",
                        "quantity": 8,
                        "max_unit_price": 300,
                        "window": {"first": "2027Q1", "last": "2027Q3"},
                    },
                    {
                        "id": "d-2",
                        "quantity": 6,
                        "max_unit_price": 300,
                        "window": {"first": "2027Q2", "last": "2027Q3"},
                    },
                ],
            },
            {"id": "lot-2", "demand": [{"id": "d-3", "quantity": 9, "max_unit_price": 300}]},
        ],
        "bids": [
            {
                "id": "bid-1",
                "supplier": "oem-1",
                "lot": "lot-1",
                "min_quantity": 1,
                "max_quantity": 20,
                "tiers": [{"min_quantity": 1, "unit_price": 100}],
            },
            {
                "id": "bid-2",
                "supplier": "oem-2",
                "lot": "lot-1",
                "min_quantity": 1,
                "max_quantity": 20,
                "tiers": [{"min_quantity": 1, "unit_price": 200}],
                "quarters": ["2027Q3"],
            },
            {
                "id": "bid-3",
                "supplier": "oem-1",
                "lot": "lot-2",
                "min_quantity": 1,
                "max_quantity": 20,
                "tiers": [{"min_quantity": 1, "unit_price": 100}],
            },
        ],
    }


def _deliveries(result: dict[str, Any]) -> dict[tuple[str, str], list[tuple[str, int]]]:
    return {
        (row["source"], al["demand"]): [(d["quarter"], d["quantity"]) for d in al["deliveries"]]
        for row in result["awards"]
        for al in row["allocations"]
    }


def test_the_ramp_limits_the_cheaper_supplier_and_every_vehicle_gets_a_quarter() -> None:
    doc = ramp_round()
    result = award(doc, time_limit=20)
    assert validate_award(doc, result) == []
    assert result["status"] == "OPTIMAL"
    # oem-1 can deliver 5 + 5 + 3 buses in the window: 13 of the 14, the last one from oem-2.
    assert (result["awarded_quantity"], result["total_price"]) == (23, 2400)
    got = _deliveries(result)
    assert [ds for (src, _), ds in got.items() if src == "bid-2"] == [[("2027Q3", 1)]]
    bus_by_quarter: dict[str, int] = {}
    for (src, _), ds in got.items():
        for q, n in ds:
            if src == "bid-1":
                bus_by_quarter[q] = bus_by_quarter.get(q, 0) + n
    assert bus_by_quarter == {"2027Q1": 5, "2027Q2": 5, "2027Q3": 3}


def test_without_quarter_capacities_the_same_round_is_served_by_the_cheaper_supplier() -> None:
    doc = ramp_round()
    del doc["suppliers"][0]["quarterly_capacity"]
    result = award(doc, time_limit=20)
    assert validate_award(doc, result) == []
    assert (result["awarded_quantity"], result["total_price"]) == (23, 2300)


def test_a_line_whose_supplier_quarters_are_full_says_which_quarter() -> None:
    doc = ramp_round()
    doc["bids"] = [b for b in doc["bids"] if b["id"] != "bid-2"]
    result = award(doc, time_limit=20)
    assert validate_award(doc, result) == []
    assert result["awarded_quantity"] == 22
    (unserved,) = result["unserved"]
    assert unserved["reason"] == ("oem-1's bus capacity for 2027Q3 is used up; oem-1's capacity for 2027Q2 is used up")


def test_prefer_early_delivery_takes_the_earlier_of_two_equal_offers() -> None:
    doc: dict[str, Any] = {
        "suppliers": [{"id": "oem-1", "capacity": 10}, {"id": "oem-2", "capacity": 10}],
        "lots": [
            {
                "id": "lot-1",
                "demand": [
                    {"id": "d-1", "quantity": 4, "max_unit_price": 100, "window": {"first": "2027Q1", "last": "2027Q4"}}
                ],
            }
        ],
        "bids": [
            {
                "id": "bid-1",
                "supplier": "oem-1",
                "lot": "lot-1",
                "min_quantity": 1,
                "max_quantity": 4,
                "tiers": [{"min_quantity": 1, "unit_price": 100}],
                "quarters": ["2027Q4"],
            },
            {
                "id": "bid-2",
                "supplier": "oem-2",
                "lot": "lot-1",
                "min_quantity": 1,
                "max_quantity": 4,
                "tiers": [{"min_quantity": 1, "unit_price": 100}],
                "quarters": ["2027Q2", "2027Q3"],
            },
        ],
    }
    plain = award(doc, time_limit=20)
    assert _deliveries(plain) == {("bid-1", "d-1"): [("2027Q4", 4)]}  # the tie-break's lower source
    assert "early_delivery" not in plain["stats"]
    doc["rules"] = {"prefer_early_delivery": True}
    early = award(doc, time_limit=20)
    assert validate_award(doc, early) == []
    assert _deliveries(early) == {("bid-2", "d-1"): [("2027Q2", 4)]}
    assert early["stats"]["early_delivery"] == {"applied": True}
    assert (early["awarded_quantity"], early["total_price"]) == (plain["awarded_quantity"], plain["total_price"])


def test_quarters_that_bind_nothing_leave_the_award_as_it_was_and_add_deliveries() -> None:
    for seed in range(6):
        doc = tiny_round(random.Random(seed))
        before = award(doc, time_limit=20, work_limit=10)
        doc["bids"] = [{**b, "quarters": ["2027Q2"]} for b in doc["bids"]]
        after = award(doc, time_limit=20, work_limit=10)
        assert validate_award(doc, after) == []
        for row in after["awards"]:
            for al in row["allocations"]:
                assert al.pop("deliveries") == [{"quarter": "2027Q2", "quantity": al["quantity"]}]
        for res in (before, after):
            res["stats"].pop("solve_seconds")
        assert after == before, seed


def test_bad_quarter_input_is_refused_naming_the_field() -> None:
    from solver.errors import InvalidInput

    doc = ramp_round()
    doc["lots"][0]["demand"][0]["window"] = {"first": "2027Q3", "last": "2027Q1"}
    doc["suppliers"][0]["quarterly_capacity"].append({"quarter": "2027Q1", "capacity": 9})
    with pytest.raises(InvalidInput) as err:
        award(doc)
    assert {(p.path, p.message) for p in err.value.problems} == {
        ("lots[0].demand[0].window.first", "must not be after the last quarter (2027Q1)"),
        ("suppliers[0].quarterly_capacity[4]", "a second capacity for 2027Q1 (quarterly_capacity[0])"),
    }


# -- the validator re-derives each quarter rule (one check per rule) -----------------------------


def _problems_by_check(doc: dict[str, Any], result: dict[str, Any]) -> dict[str, list[str]]:
    from solver.award import validate as av

    a = av.read(doc, result)
    return {c.__name__: [p.message for p in c(a)] for c in av.CHECKS if c(a)}


def test_each_quarter_rule_broken_in_a_valid_award_is_caught_by_its_own_check() -> None:
    import copy

    doc = ramp_round()
    valid = award(doc, time_limit=20)
    assert _problems_by_check(doc, valid) == {}

    def row_alloc(result: dict[str, Any], source: str, demand: str | None = None) -> dict[str, Any]:
        row = next(r for r in result["awards"] if r["source"] == source)
        return next(a for a in row["allocations"] if demand is None or a["demand"] == demand)

    missing = copy.deepcopy(valid)
    del row_alloc(missing, "bid-3", "d-3")["deliveries"]
    assert list(_problems_by_check(doc, missing)) == ["check_deliveries"]

    short = copy.deepcopy(valid)
    row_alloc(short, "bid-3", "d-3")["deliveries"][0]["quantity"] -= 1
    assert list(_problems_by_check(doc, short)) == ["check_deliveries"]

    outside = copy.deepcopy(valid)
    row_alloc(outside, "bid-2")["deliveries"] = [{"quarter": "2027Q2", "quantity": 1}]  # bid-2: 2027Q3 only
    assert _problems_by_check(doc, outside) == {"check_delivery_quarters": ["'bid-2' cannot deliver in 2027Q2"]}

    unlisted = copy.deepcopy(valid)
    row_alloc(unlisted, "bid-3", "d-3")["deliveries"] = [{"quarter": "2027Q4", "quantity": 9}]
    assert _problems_by_check(doc, unlisted) == {"check_delivery_quarters": ["'oem-1' states no capacity for 2027Q4"]}

    window = copy.deepcopy(valid)
    d2 = row_alloc(window, "bid-1", "d-2")
    d2["deliveries"] = [{"quarter": "2027Q1", "quantity": d2["quantity"]}]  # d-2's window starts in 2027Q2
    assert "2027Q1 is outside the line's window" in _problems_by_check(doc, window)["check_delivery_quarters"]

    over = copy.deepcopy(valid)
    row_alloc(over, "bid-3", "d-3")["deliveries"] = [{"quarter": "2027Q1", "quantity": 9}]
    assert _problems_by_check(doc, over) == {
        "check_quarterly_capacity": ["supplier 'oem-1' delivers 14 vehicles in 2027Q1, over its capacity 5"]
    }

    no_quarters = {**doc, "suppliers": [{"id": s["id"], "capacity": s["capacity"]} for s in doc["suppliers"]]}
    no_quarters["lots"] = [
        {"id": lot["id"], "demand": [{k: v for k, v in d.items() if k != "window"} for d in lot["demand"]]}
        for lot in doc["lots"]
    ]
    no_quarters["bids"] = [{k: v for k, v in b.items() if k != "quarters"} for b in doc["bids"]]
    award_only = {k: v for k, v in valid.items() if k != "backups"}  # backups: check_backup_deliveries
    assert list(_problems_by_check(no_quarters, award_only)) == ["check_deliveries"]


@pytest.mark.slow
def test_the_neighbourhood_search_keeps_every_award_deliverable(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if the rounds were too big for the whole model: greedy, then sub-rounds of a few lots
    # with the quarterly capacities the rest of the award leaves.
    import importlib

    monkeypatch.setattr(importlib.import_module("solver.award"), "MAX_GLOBAL_PRICE_VARS", 0)
    from bench.award_instances import make_round
    from bench.award_quarters import with_quarters

    improved = searched = 0
    for seed in range(1, 4):
        doc = with_quarters(make_round(8, 4, 30, seed=seed, line_service="whole" if seed % 2 else "split"), seed)
        greedy_first = award(doc, exact=False)
        result = award(doc, time_limit=60, work_limit=0.5)
        searched += result["stats"]["search"] == "cp-sat+lns"  # else the greedy start was proven optimal
        assert validate_award(doc, result) == [], seed
        assert result["awarded_quantity"] <= result["stats"]["bound_quantity"]
        improved += (result["awarded_quantity"], -result["total_price"]) > (
            greedy_first["awarded_quantity"],
            -greedy_first["total_price"],
        )
    assert searched >= 2
    assert improved > 0, "the search never did better than the greedy start"


def test_a_neighbourhood_may_move_the_deliveries_of_the_rest_of_the_award() -> None:
    # oem-a delivers 10 a quarter. The award outside the neighbourhood (lot-1, window Q1-Q2) has
    # its 10 buses in Q1, its earliest; lot-2's line can only come in Q1, so it went to oem-b at
    # twice the price. The sub-round on lot-2 alone may move lot-1's buses to Q2 and give lot-2
    # to oem-a: the whole award stays deliverable and costs 1,000 less.
    from solver.award import lns
    from solver.award.cpsat import AwardModel
    from solver.award.deliveries import schedule
    from solver.award.instance import parse
    from solver.award.prep import prepare
    from solver.award.solution import Solution, objective

    def line(i: str, last: str) -> dict[str, Any]:
        return {"id": i, "quantity": 10, "max_unit_price": 300, "window": {"first": "2027Q1", "last": last}}

    def bid(i: str, supplier: str, lot: str, price: int) -> dict[str, Any]:
        tiers = [{"min_quantity": 1, "unit_price": price}]
        return {"id": i, "supplier": supplier, "lot": lot, "min_quantity": 1, "max_quantity": 10, "tiers": tiers}

    doc = {
        "suppliers": [
            {
                "id": "oem-a",
                "capacity": 20,
                "quarterly_capacity": [{"quarter": "2027Q1", "capacity": 10}, {"quarter": "2027Q2", "capacity": 10}],
            },
            {"id": "oem-b", "capacity": 20},
        ],
        "lots": [
            {"id": "lot-1", "demand": [line("d-1", "2027Q2")]},
            {"id": "lot-2", "demand": [line("d-2", "2027Q1")]},
        ],
        "bids": [
            bid("bid-1", "oem-a", "lot-1", 100),
            bid("bid-2", "oem-a", "lot-2", 100),
            bid("bid-3", "oem-b", "lot-2", 200),
        ],
        "packages": [],
    }
    inst = parse(doc)
    sol = Solution({0: {0: 10}, 2: {1: 10}}, {})
    assert objective(inst, sol) == (20, 300_000)
    sub = lns._sub_instance(inst, sol, [1])
    model = AwardModel(sub.inst, prepare(sub.inst))
    model.hint(sub.cur)
    r = model.solve_phase(objective="lex", time_limit=20, work_limit=5, workers=1)
    assert r.optimal and r.solution is not None
    new = lns._merge(inst, sol, sub, r.solution)
    assert objective(inst, new) == (20, 200_000)
    assert new.bids == {0: {0: 10}, 1: {1: 10}}
    assert schedule(inst, new) is not None  # lot-1's buses in Q2, lot-2's in Q1


def test_the_neighbourhood_search_with_quarters_repeats_itself() -> None:
    # The sub-rounds move the rest of the award's deliveries (groups in a fixed order): the same
    # input and work give the same awards, each deliverable.
    import time

    from bench.award_instances import make_round
    from bench.award_quarters import with_quarters
    from solver.award.deliveries import schedule
    from solver.award.greedy import greedy
    from solver.award.instance import parse
    from solver.award.lns import improve_price
    from solver.award.prep import prepare
    from solver.award.solution import objective

    inst = parse(with_quarters(make_round(16, 6, 90, seed=3), 3))
    start = greedy(inst, prepare(inst))
    runs = []
    for _ in range(2):
        seen: list[tuple[int, int]] = []

        def check(sol: Any, seen: list[tuple[int, int]] = seen) -> None:
            assert schedule(inst, sol) is not None
            seen.append(objective(inst, sol))

        sol, _, ended = improve_price(inst, start, deadline=time.monotonic() + 120, work_limit=1.0, on_improve=check)
        assert ended == "work"
        runs.append((sol.bids, sol.packages, seen))
    assert runs[0] == runs[1]
    assert runs[0][2], "the search found nothing better than the greedy start"
