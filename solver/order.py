"""The natural order of ids, used wherever the solver orders ids (model, tie-break).

Digit runs compare as numbers, so "bid-2" comes before "bid-10"; ids equal in that order
("bid-02" and "bid-2") fall back to comparing as plain strings, so the order is total.
"""

from __future__ import annotations

import re

_RUNS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[object, ...], str]:
    parts = _RUNS.split(text)
    # Even positions are text, odd positions digit runs: same types meet at the same position.
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), text
