"""Pooling input: structural and semantic checks, then the typed document.

Every problem is collected with its JSON path (never stop at the first). The JSON Schema
(solver/schemas/pooling-input.schema.json) is the structural truth; because jsonschema takes
tens of seconds on a 100,000-line document, a hand-written check that accepts exactly what
the schema accepts runs first, and the schema itself only runs to word the problems of a
document the fast check rejects (tests hold the two to the same verdicts).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, TypeGuard

from solver import schema
from solver.errors import InvalidInput, Problem
from solver.money import to_cents
from solver.pooling.types import Line, PoolingInput, Rules
from solver.quarters import format_quarter, parse_quarter

_QUARTER = re.compile(r"^[0-9]{4}Q[1-4]$")
_RULE_KEYS = {"min_lot_quantity", "max_lot_quantity", "max_levels_up"}
_REGION_KEYS = {"code", "parent", "name"}
_LINE_REQUIRED = {"id", "segment", "region", "quantity", "window", "requirements"}
_LINE_KEYS = _LINE_REQUIRED | {"fleet", "max_unit_price", "splittable"}
_REQ_KEYS = {"min_range_km", "min_payload_kg", "charging"}


def _int(v: Any, minimum: int, maximum: int = schema.MAX_QUANTITY) -> bool:
    # As JSON Schema says "integer": 3 and 3.0 (a Python float; JSON text 3.0 arrives as a Decimal and is not one).
    return (type(v) is int or (type(v) is float and v.is_integer())) and minimum <= v <= maximum


def _code(v: Any) -> TypeGuard[str]:
    return isinstance(v, str) and v != ""


def _number(v: Any) -> bool:
    # NaN and infinities: such a document goes to the full check, which names them.
    if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
        return False
    return (type(v) is int or math.isfinite(v)) and 0 <= v <= schema.MAX_PRICE


_WINDOW_KEYS = {"earliest", "latest"}
_QUARTER_TEXTS: set[str] = set()  # texts the quarter pattern accepted (at most 4 per year 0000-9999)


def _quarter_text(v: Any) -> bool:
    # A document repeats a handful of quarters 100,000 times: match each text once.
    if not isinstance(v, str):
        return False
    if v in _QUARTER_TEXTS:
        return True
    if _QUARTER.search(v):
        _QUARTER_TEXTS.add(v)
        return True
    return False


def _line_ok(d: Any) -> bool:
    # Runs on every line (100,000 and more): plain loops, no generators.
    if not isinstance(d, dict) or not d.keys() >= _LINE_REQUIRED or not d.keys() <= _LINE_KEYS:
        return False
    if not (_code(d["id"]) and _code(d["segment"]) and _code(d["region"]) and _int(d["quantity"], 1)):
        return False
    if "fleet" in d and not _code(d["fleet"]):
        return False
    if "max_unit_price" in d and not _number(d["max_unit_price"]):
        return False
    if "splittable" in d and not isinstance(d["splittable"], bool):
        return False
    w = d["window"]
    if not isinstance(w, dict) or w.keys() != _WINDOW_KEYS:
        return False
    if not (_quarter_text(w["earliest"]) and _quarter_text(w["latest"])):
        return False
    r = d["requirements"]
    if not isinstance(r, dict) or "charging" not in r or not r.keys() <= _REQ_KEYS:
        return False
    c = r["charging"]
    if not isinstance(c, list) or not c:
        return False
    for x in c:
        if not (isinstance(x, str) and x):
            return False
    if len(c) > 1 and len(set(c)) != len(c):
        return False
    if "min_range_km" in r and not _number(r["min_range_km"]):
        return False
    return "min_payload_kg" not in r or _number(r["min_payload_kg"])


def structurally_ok(doc: Any) -> bool:
    """True exactly when `schema.check(doc, "pooling-input")` finds nothing, in a fraction of its time."""
    if not isinstance(doc, dict) or doc.keys() != {"rules", "regions", "demand"}:
        return False
    rules = doc["rules"]
    if not isinstance(rules, dict) or rules.keys() != _RULE_KEYS:
        return False
    if not (_int(rules["min_lot_quantity"], 1) and _int(rules["max_lot_quantity"], 1)):
        return False
    if not _int(rules["max_levels_up"], 0, 100):
        return False
    regions = doc["regions"]
    if not isinstance(regions, list):
        return False
    for r in regions:
        if not isinstance(r, dict) or "code" not in r or not r.keys() <= _REGION_KEYS or not _code(r["code"]):
            return False
        if "parent" in r and r["parent"] is not None and not _code(r["parent"]):
            return False
        if "name" in r and not isinstance(r["name"], str):
            return False
    demand = doc["demand"]
    return isinstance(demand, list) and all(_line_ok(d) for d in demand)


def _get(obj: Any, *keys: Any) -> Any:
    for k in keys:
        if isinstance(k, int):
            if not isinstance(obj, list) or k >= len(obj):
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[k] if isinstance(k, int) else obj.get(k)
    return obj


def semantic_problems(doc: Any) -> list[Problem]:
    """The rules a schema cannot say; tolerant of a document that also breaks the schema."""
    problems: list[Problem] = []
    lo, hi = _get(doc, "rules", "min_lot_quantity"), _get(doc, "rules", "max_lot_quantity")
    if _int(lo, 1) and _int(hi, 1) and lo > hi:
        problems.append(Problem("rules.min_lot_quantity", f"must not exceed max_lot_quantity ({hi})"))

    regions = _get(doc, "regions")
    regions = regions if isinstance(regions, list) else []
    parent: dict[str, Any] = {}
    index: dict[str, int] = {}
    for i, r in enumerate(regions):
        code = _get(r, "code")
        if not _code(code):
            continue
        if code in index:
            also = f"regions[{index[code]}]"
            problems.append(Problem(f"regions[{i}].code", f"duplicate region code {code} (also {also})"))
            continue
        index[code] = i
        parent[code] = _get(r, "parent")
    for code, up in parent.items():
        if _code(up) and up not in parent:
            problems.append(Problem(f"regions[{index[code]}].parent", f"unknown region {up}"))
    # Cycles: follow parents; a node seen twice on one walk closes a cycle.
    state: dict[str, int] = {}  # 1 = on the current walk, 2 = done
    for start in parent:
        walk: list[str] = []
        code = start
        while _code(code) and code in parent and state.get(code) is None:
            state[code] = 1
            walk.append(code)
            code = parent[code]
        if _code(code) and state.get(code) == 1:
            cycle = walk[walk.index(code) :]
            first = min(cycle, key=lambda c: index[c])
            k = cycle.index(first)
            ordered = cycle[k:] + cycle[:k]
            text = " > ".join([*ordered, first])
            problems.append(
                Problem(f"regions[{index[first]}].parent", f"region tree has a cycle (parent chain {text})")
            )
        for c in walk:
            state[c] = 2

    demand = _get(doc, "demand")
    demand = demand if isinstance(demand, list) else []
    seen: dict[str, int] = {}
    for i, d in enumerate(demand):
        if not isinstance(d, dict):
            continue
        did = d.get("id")
        if _code(did):
            if did in seen:
                problems.append(Problem(f"demand[{i}].id", f"duplicate demand id {did} (also demand[{seen[did]}])"))
            else:
                seen[did] = i
        region = d.get("region")
        if _code(region) and region not in parent:
            problems.append(Problem(f"demand[{i}].region", f"unknown region {region}"))
        w = d.get("window")
        earliest, latest = (
            (_quarter(w.get("earliest")), _quarter(w.get("latest"))) if isinstance(w, dict) else (None, None)
        )
        if earliest is not None and latest is not None and earliest > latest:
            problems.append(Problem(f"demand[{i}].window.earliest", f"is after latest {format_quarter(latest)}"))
        price = d.get("max_unit_price")
        if _number(price) and _cents(price) is None:
            problems.append(Problem(f"demand[{i}].max_unit_price", "must have at most 2 decimals"))
    return problems


_QUARTERS: dict[str, int | None] = {}


def _quarter(text: Any) -> int | None:
    """parse_quarter, remembered: a document has only a handful of distinct quarters."""
    if not isinstance(text, str):
        return None
    if text not in _QUARTERS:
        _QUARTERS[text] = parse_quarter(text)
    return _QUARTERS[text]


def _checked_quarter(text: Any) -> int:
    """_quarter of a quarter the checks above accepted."""
    q = _quarter(text)
    assert q is not None, text
    return q


def _cents(price: Any) -> int | None:
    """to_cents, with a fast path for the usual int and 2-decimal Decimal prices."""
    if type(price) is int:
        return price * 100
    if isinstance(price, Decimal) and price.is_finite():
        exponent = price.as_tuple().exponent  # an int for a finite number
        if isinstance(exponent, int) and exponent >= -2:
            return int(price * 100)
    return to_cents(price)


def _path_key(p: Problem) -> tuple[Any, ...]:
    # demand[10] after demand[9]: compare numbers as numbers.
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"[\[\].]+", p.path) if t), p.message


def problems(doc: Any) -> list[Problem]:
    """Every problem of a pooling input document, sorted by path; [] if it is valid."""
    found = [] if structurally_ok(doc) else schema.check(doc, "pooling-input")
    found += semantic_problems(doc)
    return sorted(set(found), key=_path_key)


def parse(doc: Any) -> PoolingInput:
    """The typed input, or InvalidInput with every problem."""
    found = problems(doc)
    if found:
        raise InvalidInput(found)
    r = doc["rules"]
    rules = Rules(int(r["min_lot_quantity"]), int(r["max_lot_quantity"]), int(r["max_levels_up"]))
    parent = {reg["code"]: reg.get("parent") for reg in doc["regions"]}
    lines = []
    for i, d in enumerate(doc["demand"]):
        req = d["requirements"]
        price = d.get("max_unit_price")
        lines.append(
            Line(
                index=i,
                id=d["id"],
                fleet=d.get("fleet"),
                segment=d["segment"],
                region=d["region"],
                quantity=int(d["quantity"]),
                earliest=_checked_quarter(d["window"]["earliest"]),
                latest=_checked_quarter(d["window"]["latest"]),
                charging=tuple(sorted(req["charging"])),
                min_range_km=req.get("min_range_km"),
                min_payload_kg=req.get("min_payload_kg"),
                max_unit_price_cents=None if price is None else _cents(price),
                splittable=bool(d.get("splittable", False)),
            )
        )
    return PoolingInput(rules, parent, tuple(lines))
