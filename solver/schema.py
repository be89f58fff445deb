"""JSON Schemas of the four solver documents, and structural checks that name fields by JSON path.

The schemas ship in the package (solver/schemas/*.schema.json). A schema node may carry
an "x-message" to replace jsonschema's generic wording with one a coordinator understands
("not a quarter like 2027Q2"). Rules a schema cannot say (ids unique, windows ordered,
prices to the cent, region tree without cycles) are checked by each half's own validation.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from solver.errors import Problem

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

DOCUMENTS = ("pooling-input", "pooling-output", "award-input", "award-output")

# The input schemas' upper bounds (tests check that the schema files say the same). They keep
# memory and integer arithmetic bounded: a tier's reachable quantities are a bitset as wide as
# its quantity, and every price x quantity must stay far inside CP-SAT's 64-bit integers.
MAX_QUANTITY = 1_000_000  # vehicles in a demand line, a bid's range, a tier, a package item, a lot
MAX_CAPACITY = 100_000_000  # vehicles a supplier can deliver in the round
MAX_PRICE = 100_000_000_000  # unit price in the round's currency (10^13 minor units: IDR, VND...)


@cache
def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one document: pooling-input, pooling-output, award-input or award-output."""
    if name not in DOCUMENTS:
        raise KeyError(name)
    doc: dict[str, Any] = json.loads((files("solver") / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
    return doc


@cache
def _validator(name: str) -> Draft202012Validator:
    # Imported here: jsonschema takes ~0.3 s to import, and a valid document may never need it.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema(name))


def json_path(parts: Any) -> str:
    """("demand", 3, "window") -> "demand[3].window"; the root is "$"."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "$"


def _non_finite(node: Any, path: list[Any], out: list[Problem]) -> None:
    # JSON Schema's "number" admits NaN and infinities (every comparison with NaN is false).
    if (isinstance(node, float) and not math.isfinite(node)) or (isinstance(node, Decimal) and not node.is_finite()):
        out.append(Problem(json_path(path), "must be a finite number (not NaN or Infinity)"))
    elif isinstance(node, dict):
        for key, value in node.items():
            _non_finite(value, [*path, key], out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _non_finite(value, [*path, i], out)


def check(doc: Any, name: str) -> list[Problem]:
    """Every structural problem of `doc` against the named schema, sorted by path."""
    problems: list[Problem] = []
    _non_finite(doc, [], problems)
    if problems:  # no schema keyword would say it, and every keyword's check passes on NaN
        return sorted(set(problems))
    for err in _validator(name).iter_errors(doc):
        path = list(err.absolute_path)
        if err.validator == "required":
            # Name the missing field itself, not the object that lacks it.
            missing = err.message.split("'")[1] if "'" in err.message else "?"
            problems.append(Problem(json_path([*path, missing]), "is required"))
            continue
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            problems.extend(Problem(json_path([*path, key]), "unknown field") for key in extra)
            continue
        message = err.schema.get("x-message") if isinstance(err.schema, dict) else None
        problems.append(Problem(json_path(path), message or err.message))
    return sorted(set(problems))
