"""JSON in and out, the same bytes for the same result."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any


def loads(text: str | bytes) -> Any:
    # Decimal keeps prices exact to the cent; ints stay ints.
    return json.loads(text, parse_float=Decimal)


def load(path: str | Path) -> Any:
    return loads(Path(path).read_bytes())


def _default(obj: object) -> object:
    if isinstance(obj, Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def dumps(doc: Any) -> str:
    """Canonical text of a result: key order as built, two-space indent, final newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False, default=_default) + "\n"
