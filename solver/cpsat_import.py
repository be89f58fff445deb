"""CP-SAT's Python module, imported without pandas until something really uses pandas.

`ortools.sat.python.cp_model` imports pandas when it loads, for its `*_series` helpers (variables
and intervals indexed by a pandas Index), which the solver never calls: of the 0.47 s of CPU the
import costs, 0.28 s are pandas (ortools 9.15, `python -X importtime`). Every fresh process pays
it, and the marketplace spawns one per solve (marketplace/services/solver_process.py), as does
`python -m solver`. `load()` imports cp_model with a stand-in for pandas in `sys.modules`, only
while cp_model loads: its `Index` and `Series` are classes for cp_model's annotations and
isinstance checks, true only for objects of the real classes (which exist only if something
loaded the real pandas); calling them or reading their attributes, or any other attribute of the
stand-in, imports the real pandas and forwards to it (also for a module that imported pandas in
another thread while cp_model loaded and so holds the stand-in). So the `*_series` helpers still work, and any later `import pandas`
gets the real one. Results do not change: only the import is cheaper.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

CP_MODEL = "ortools.sat.python.cp_model"


def _real_pandas() -> types.ModuleType:
    if isinstance(sys.modules.get("pandas"), _StandIn):  # asked for while cp_model still loads
        del sys.modules["pandas"]
    return importlib.import_module("pandas")


class _Forward(type):
    """A pandas class name: isinstance against the real class (if loaded); a call builds a real object."""

    def __instancecheck__(cls, obj: object) -> bool:
        real = sys.modules.get("pandas")
        return real is not None and not isinstance(real, _StandIn) and isinstance(obj, getattr(real, cls.__name__))

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return getattr(_real_pandas(), cls.__name__)(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:  # e.g. Series.dtype; not the dunders typing probes
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(getattr(_real_pandas(), cls.__name__), name)


class Index(metaclass=_Forward):
    pass


class Series(metaclass=_Forward):
    pass


class _StandIn(types.ModuleType):
    Index = Index
    Series = Series

    def __getattr__(self, name: str) -> Any:
        return getattr(_real_pandas(), name)


def load() -> None:
    """Import cp_model (once per process), with pandas left out unless something else loaded it."""
    if CP_MODEL in sys.modules:
        return
    if "pandas" in sys.modules:
        importlib.import_module(CP_MODEL)
        return
    stand_in = _StandIn("pandas")
    sys.modules["pandas"] = stand_in
    try:
        importlib.import_module(CP_MODEL)
    finally:
        if sys.modules.get("pandas") is stand_in:
            del sys.modules["pandas"]
