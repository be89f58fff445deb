"""Rule: a line receives at most its quantity; with whole line service, from one source only.

With `serve_all` every line some source can serve must be served in full (exactly one source,
or its whole quantity): the award with the most vehicles when one exists (solver.award.cpsat).
"""

from __future__ import annotations

from solver.award.rules.variables import Families


def add(f: Families, *, serve_all: bool = False) -> None:
    m = f.model
    for li, vs in enumerate(f.of_line()):
        q = f.inst.lines[li].quantity
        if serve_all and vs:
            if f.whole:
                m.add_exactly_one(vs)
            else:
                m.add(sum(vs) == q)
        elif len(vs) >= 2:
            if f.whole:
                m.add_at_most_one(vs)
            else:
                m.add(sum(vs) <= q)
