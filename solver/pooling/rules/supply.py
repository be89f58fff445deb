"""Rule: every vehicle is pooled at most once: a class's items over all lots stay within what it has.

A class that is not splittable counts whole lines (each in one lot at most); a splittable one
counts vehicles (a line may be divided among lots).
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from solver.pooling.components import Component
from solver.pooling.rules.variables import LotCopy


def add(m: cp_model.CpModel, comp: Component, copies: list[LotCopy]) -> None:
    by_class: list[list[cp_model.IntVar]] = [[] for _ in comp.classes]
    for c in copies:
        for it in c.items:
            by_class[it.klass].append(it.var)
    for ci, vs in enumerate(by_class):
        if len(vs) > 1:
            m.add(cp_model.LinearExpr.sum(vs) <= comp.classes[ci].cap)
