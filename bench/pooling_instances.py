"""Believable coalition demand for the pooling benchmark (seeded, deterministic).

A region tree world region > country > state > metro; demand concentrated in a few metros
(Zipf-like weights); 6 segments of different popularity; quantities mostly 1-30 (mean ~6);
delivery windows of 1-4 quarters over two years; one or two charging standards per line
from its world region's standards; ~30 % splittable lines; min lot 20, max lot 400, at
most 2 levels up.

    python -m bench.pooling_instances 1000 [SEED] [--skewed] > in.json
"""

from __future__ import annotations

import random
import sys
from decimal import Decimal
from typing import Any

WORLD = [
    ("NAM", ("CCS1", "NACS", "MCS")),
    ("EUR", ("CCS2", "MCS")),
    ("EAS", ("GBT", "CCS2", "CHAdeMO")),
    ("SAM", ("CCS2", "CCS1")),
    ("SAS", ("CCS2", "GBT")),
    ("OCE", ("CCS2", "MCS")),
]
SEGMENTS = ["transit-bus", "school-bus", "box-truck", "refuse-truck", "tractor", "cargo-van"]
SEGMENT_WEIGHT = [0.22, 0.12, 0.25, 0.08, 0.13, 0.20]
FIRST_QUARTER = 2027 * 4  # 2027Q1 as an ordinal; the horizon is two years


def _quarter(ordinal: int) -> str:
    return f"{ordinal // 4}Q{ordinal % 4 + 1}"


def regions(rng: random.Random) -> tuple[list[dict[str, Any]], list[tuple[str, int, str]]]:
    """The region tree and the places demand can sit at: (code, level, world region)."""
    out: list[dict[str, Any]] = []
    places: list[tuple[str, int, str]] = []
    for world, _ in WORLD:
        out.append({"code": world, "parent": None})
        for c in range(rng.randint(3, 5)):
            country = f"{world}-C{c + 1}"
            out.append({"code": country, "parent": world})
            places.append((country, 1, world))
            for s in range(rng.randint(2, 4)):
                state = f"{country}-S{s + 1}"
                out.append({"code": state, "parent": country})
                places.append((state, 2, world))
                for m in range(rng.randint(1, 3)):
                    metro = f"{state}-M{m + 1}"
                    out.append({"code": metro, "parent": state})
                    places.append((metro, 3, world))
    return out, places


def generate(n: int, seed: int = 1, skewed: bool = False) -> dict[str, Any]:
    """`skewed` (issue 17's skewed family): demand piles up in a few places (Zipf exponent 2
    instead of 1.1) and in the first quarters (windows start at 2027Q1 with probability ~0.6,
    decaying after it, and last 1-2 quarters), so a few components hold most lines."""
    rng = random.Random(seed)
    region_list, places = regions(rng)
    standards = dict(WORLD)
    # Zipf-like popularity: metros dominate, a few of them most.
    order = list(range(len(places)))
    rng.shuffle(order)
    weight = [0.0] * len(places)
    for rank, i in enumerate(order, 1):
        level = places[i][1]
        weight[i] = (1.0 / rank ** (2.0 if skewed else 1.1)) * {1: 0.15, 2: 0.35, 3: 1.0}[level]
    demand = []
    for i in range(n):
        code, _, world = rng.choices(places, weight)[0]
        seg = rng.choices(SEGMENTS, SEGMENT_WEIGHT)[0]
        q = 1 + int(rng.expovariate(1 / 5.0))
        if rng.random() < 0.02:
            q = rng.randint(30, 150)
        q = min(q, 30) if q <= 40 else q
        if skewed:
            start = FIRST_QUARTER + min(7, int(rng.expovariate(1.0)))
            length = rng.choice((1, 1, 2))
        else:
            start = FIRST_QUARTER + rng.randrange(8)
            length = rng.choice((1, 2, 2, 3, 3, 4))
        end = min(start + length - 1, FIRST_QUARTER + 7)
        stds = standards[world]
        charging = sorted(rng.sample(stds, 2 if rng.random() < 0.35 else 1))
        demand.append(
            {
                "id": f"d-{i + 1:06d}",
                "fleet": f"fleet-{rng.randrange(max(1, n // 8)) + 1}",
                "segment": seg,
                "region": code,
                "quantity": q,
                "window": {"earliest": _quarter(start), "latest": _quarter(end)},
                "requirements": {
                    "min_range_km": rng.choice((150, 200, 250, 300, 400)),
                    "min_payload_kg": rng.choice((2000, 4000, 8000, 12000)),
                    "charging": charging,
                },
                "max_unit_price": Decimal(rng.randrange(15_000_000, 45_000_000)) / 100,
                "splittable": rng.random() < 0.3,
            }
        )
    return {
        "rules": {"min_lot_quantity": 20, "max_lot_quantity": 400, "max_levels_up": 2},
        "regions": region_list,
        "demand": demand,
    }


if __name__ == "__main__":
    from solver import io

    skewed = "--skewed" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--skewed"]
    sys.stdout.write(io.dumps(generate(int(args[0]), int(args[1]) if len(args) > 1 else 1, skewed=skewed)))
