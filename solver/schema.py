"""JSON Schemas of the four solver documents, and structural checks that name fields by JSON path.

The schemas ship in the package (solver/schemas/*.schema.json). A schema node may carry
an "x-message" to replace jsonschema's generic wording with one a coordinator understands
("not a quarter like 2027Q2"). Rules a schema cannot say (ids unique, windows ordered,
prices to the cent, region tree without cycles) are checked by each half's own validation.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from solver.errors import Problem

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

DOCUMENTS = ("pooling-input", "pooling-output", "award-input", "award-output")


@cache
def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one document: pooling-input, pooling-output, award-input or award-output."""
    if name not in DOCUMENTS:
        raise KeyError(name)
    return json.loads((files("solver") / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))


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


def check(doc: Any, name: str) -> list[Problem]:
    """Every structural problem of `doc` against the named schema, sorted by path."""
    problems: list[Problem] = []
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
