"""JSON in and out, the same bytes for the same result.

Reading is strict: NaN and Infinity (which Python's json module accepts) are refused, a
number with more than MAX_DIGITS digits is refused before Python converts it, and a
document nested deeper than Python's recursion allows is refused, each as NotJson with the
line and column where it happens, so the command line answers "not valid JSON" and where,
never a traceback.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from solver.gcpause import no_gc

# No field of the contract needs more (prices have at most 13 digits before the point); Python
# refuses to convert integers of more than 4,300 digits, and a long decimal costs time to read.
MAX_DIGITS = 40

# A JSON string (skipped) or a token we refuse: a constant, or a number of too many digits.
_LONG = MAX_DIGITS + 1
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN|-?\d{' + str(_LONG) + r",}|-?\d+\.\d{" + str(_LONG) + r",})")
_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|([\[{])|([\]}])')


class NotJson(ValueError):
    """The text is not a JSON document the solver reads; str() says what and where."""


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line} column {col} (char {pos})"


def _refused(text: str) -> NotJson:
    for m in _TOKENS.finditer(text):
        if m.group(1):
            token = m.group(1)
            what = f"{token} is not a number" if token.lstrip("-")[0] in "IN" else "a number with too many digits"
            return NotJson(f"{what}: {_where(text, m.start(1))}")
    return NotJson("a number the solver cannot read")


def _too_deep(text: str, limit: int = 100) -> NotJson:
    depth = 0
    for m in _BRACKETS.finditer(text):
        if m.group(1):
            depth += 1
            if depth > limit:
                return NotJson(f"nested more than {limit} levels deep: {_where(text, m.start(1))}")
        elif m.group(2):
            depth -= 1
    return NotJson("nested too deep")


class _Refuse(Exception):
    pass


def _constant(name: str) -> Any:
    raise _Refuse(name)


def _int(text: str) -> int:
    if len(text) > MAX_DIGITS + 1:
        raise _Refuse(text[:20])
    return int(text)


def _float(text: str) -> Decimal:
    if len(text) > 2 * MAX_DIGITS:
        raise _Refuse(text[:20])
    return Decimal(text)


def loads(text: str | bytes) -> Any:
    """The document; NotJson when the text is not JSON the solver reads.

    Decimal keeps prices exact to the cent; ints stay ints."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise NotJson(f"not UTF-8 text: byte {exc.start}") from None
    try:
        with no_gc():  # millions of small objects, no cycles among them (solver.gcpause)
            return json.loads(text, parse_float=_float, parse_int=_int, parse_constant=_constant)
    except _Refuse:
        raise _refused(text) from None
    except RecursionError:
        raise _too_deep(text) from None
    except json.JSONDecodeError as exc:
        raise NotJson(f"{exc.msg}: {_where(text, exc.pos)}") from None
    except ValueError as exc:  # e.g. an exponent Decimal cannot hold
        raise NotJson(str(exc)) from None


def load(path: str | Path) -> Any:
    return loads(Path(path).read_bytes())


def _default(obj: object) -> object:
    if isinstance(obj, Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def dumps(doc: Any) -> str:
    """Canonical text of a result: key order as built, two-space indent, final newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False, default=_default) + "\n"
