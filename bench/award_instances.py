"""Believable award rounds for the benchmark and the tests (seeded, deterministic).

A round has lots of 2-9 fleet lines of about 7 vehicles each, in a few vehicle segments;
OEMs serve 1-3 segments and offer capacity at 25-70 % of what they bid on (so capacity
binds); about a third of the bids are packages over 2-6 neighbouring lots of the OEM's
segments; single-lot bids have 1-4 all-units tiers 1-4 % apart; each line's reserve price
is around the segment's list price; a few lines exclude an OEM.

    make_round(n_lots=20, n_oems=10, n_bids=200, seed=1, line_service="whole") -> dict
"""

from __future__ import annotations

import random
from typing import Any

# (segment, list price of a vehicle in the round's currency)
SEGMENTS = [
    ("box-truck", 180_000),
    ("refuse-truck", 420_000),
    ("city-bus", 560_000),
    ("tractor", 310_000),
    ("van", 72_000),
    ("school-bus", 390_000),
]

SIZES = {
    200: (20, 10, 200),
    2000: (100, 30, 2000),
    10000: (500, 50, 10000),
    25000: (1000, 80, 25000),
}


def _price(x: float) -> float:
    """A price with at most 2 decimals (cents), as the round's documents carry."""
    return round(x, 2) if x % 1 else int(x)


def make_round(
    n_lots: int,
    n_oems: int,
    n_bids: int,
    seed: int = 1,
    line_service: str = "whole",
    max_winners: int | None = 3,
    max_share: float = 0.8,
    capacity_share: tuple[float, float] = (0.25, 0.70),
    package_share: float = 1 / 3,
    package_lots: tuple[int, int] = (2, 6),
    bundles: str = "consecutive",
    tier_step: tuple[float, float] = (0.01, 0.04),
    price_scale: int = 1,
) -> dict[str, Any]:
    """A seeded round. The keyword arguments shape the benchmark families (bench.award_families):
    the share of bids that are packages and their number of lots, how a package's lots are
    chosen ("consecutive" by id, "arbitrary" as in CATS, or "regions": neighbours on a grid of
    lots, as in CATS's regions), the discount between tiers, and a factor on every price
    (10^4 gives IDR-like unit prices of 10^11 minor units)."""
    rng = random.Random(seed)
    n_seg = 2 if n_lots <= 30 else 4
    segs = SEGMENTS[:n_seg]
    lots = []
    lot_seg = []
    line_no = 0
    for i in range(n_lots):
        s = rng.randrange(n_seg)
        list_price = segs[s][1]
        demand = []
        for _ in range(rng.randint(2, 9)):
            line_no += 1
            q = max(1, min(20, round(rng.gauss(7, 3))))
            demand.append(
                {
                    "id": f"d-{line_no:06d}",
                    "fleet": f"fleet-{rng.randint(1, max(3, n_lots // 2)):04d}",
                    "quantity": q,
                    "max_unit_price": _price(round(list_price * rng.uniform(0.96, 1.06), -2) + rng.choice([0, 0.5])),
                    "excluded_suppliers": [],
                }
            )
        lots.append({"id": f"lot-{i + 1:04d}", "demand": demand})
        lot_seg.append(s)

    oems = []
    for j in range(n_oems):
        served = sorted(rng.sample(range(n_seg), rng.randint(1, min(3, n_seg))))
        oems.append({"id": f"oem-{j + 1:03d}", "segments": served, "factor": rng.uniform(0.9, 1.04)})

    # A few exclusions: about 3 % of lines exclude one OEM.
    for lot in lots:
        for d in lot["demand"]:
            if rng.random() < 0.03:
                d["excluded_suppliers"] = [rng.choice(oems)["id"]]

    n_packages = int(n_bids * package_share)
    n_single = n_bids - n_packages
    pairs = [(j, i) for j, o in enumerate(oems) for i in range(n_lots) if lot_seg[i] in o["segments"]]
    rng.shuffle(pairs)
    pairs = sorted(pairs[:n_single])
    bid_on: dict[int, int] = {}
    bids = []
    for k, (j, i) in enumerate(pairs):
        o = oems[j]
        lot = lots[i]
        dem = sum(d["quantity"] for d in lot["demand"])
        smallest = min(d["quantity"] for d in lot["demand"])
        bmin = max(1, rng.randint(max(1, smallest // 2), max(1, smallest + dem // 4)))
        bmax = max(bmin, rng.randint(max(bmin, dem // 2), dem))
        base = segs[lot_seg[i]][1] * o["factor"] * rng.uniform(0.95, 1.05)
        n_tiers = rng.randint(1, 4)
        tiers = [{"min_quantity": bmin, "unit_price": _price(round(base, -1))}]
        q, price = bmin, base
        for _ in range(n_tiers - 1):
            step = max(1, (bmax - bmin) // n_tiers)
            q += rng.randint(1, max(1, step))
            if q > bmax:
                break
            price *= 1 - rng.uniform(*tier_step)
            tiers.append({"min_quantity": q, "unit_price": _price(round(price, -1) + rng.choice([0, 0.25]))})
        bids.append(
            {
                "id": f"bid-{k + 1:06d}",
                "supplier": o["id"],
                "lot": lot["id"],
                "min_quantity": bmin,
                "max_quantity": bmax,
                "tiers": tiers,
            }
        )
        bid_on[j] = bid_on.get(j, 0) + bmax

    lots_of_seg: dict[int, list[int]] = {}
    for i, s in enumerate(lot_seg):
        lots_of_seg.setdefault(s, []).append(i)
    packages = []
    for k in range(n_packages):
        j = rng.randrange(n_oems)
        o = oems[j]
        mine = sorted(i for s in o["segments"] for i in lots_of_seg.get(s, []))
        if len(mine) < 2:
            continue
        size = rng.randint(package_lots[0], min(package_lots[1], len(mine)))
        if bundles == "arbitrary":
            chosen_lots = sorted(rng.sample(mine, size))
        elif bundles == "regions":
            chosen_lots = _region_bundle(rng, mine, size, n_lots)
        else:
            start = rng.randrange(len(mine) - size + 1)
            chosen_lots = mine[start : start + size]
        items = []
        for i in chosen_lots:
            lot = lots[i]
            price = _price(round(segs[lot_seg[i]][1] * o["factor"] * rng.uniform(0.9, 0.99), -1))
            # usually a sum of whole lines that accept the price; sometimes not coverable (it drops out)
            qs = [d["quantity"] for d in lot["demand"] if d["max_unit_price"] >= price] or [
                lot["demand"][0]["quantity"]
            ]
            chosen = [q for q in qs if rng.random() < 0.4] or [qs[0]]
            while len(chosen) > 1 and sum(chosen) > max_share * sum(d["quantity"] for d in lot["demand"]):
                chosen.pop()
            qty = sum(chosen) + (rng.randint(1, 3) if rng.random() < 0.05 else 0)
            items.append({"lot": lot["id"], "quantity": qty, "unit_price": price})
        packages.append({"id": f"pkg-{k + 1:06d}", "supplier": o["id"], "items": items})
        bid_on[j] = bid_on.get(j, 0) + sum(it["quantity"] for it in items)

    suppliers = [
        {"id": o["id"], "capacity": max(1, round(bid_on.get(j, 10) * rng.uniform(*capacity_share)))}
        for j, o in enumerate(oems)
    ]
    if price_scale != 1:
        _scale_prices(lots, bids, packages, price_scale)
    rules: dict[str, Any] = {"max_share_per_supplier": max_share, "line_service": line_service}
    if max_winners is not None:
        rules["max_winners_per_lot"] = max_winners
    return {"rules": rules, "suppliers": suppliers, "lots": lots, "bids": bids, "packages": packages}


def round_of_size(n_bids: int, seed: int = 1, line_service: str = "whole") -> dict[str, Any]:
    n_lots, n_oems, n = SIZES[n_bids]
    return make_round(n_lots, n_oems, n, seed=seed, line_service=line_service)


def _region_bundle(rng: random.Random, mine: list[int], size: int, n_lots: int) -> list[int]:
    """Lots next to each other on a square grid of all lots (a CATS "regions" bundle), grown from
    a random lot of the supplier's through neighbours it also serves."""
    width = max(1, round(n_lots**0.5))
    have = set(mine)
    start = rng.choice(mine)
    bundle = [start]
    frontier = [start]
    while frontier and len(bundle) < size:
        cur = frontier.pop(rng.randrange(len(frontier)))
        r, c = divmod(cur, width)
        for nb in ((r - 1) * width + c, (r + 1) * width + c, cur - 1 if c else -1, cur + 1 if c + 1 < width else -1):
            if nb in have and nb not in bundle and len(bundle) < size:
                bundle.append(nb)
                frontier.append(nb)
    return sorted(bundle) if len(bundle) >= 2 else sorted(rng.sample(mine, 2))


def _scale_prices(
    lots: list[dict[str, Any]], bids: list[dict[str, Any]], packages: list[dict[str, Any]], k: int
) -> None:
    def scaled(x: float) -> float:
        cents = round(x * 100) * k
        return cents // 100 if cents % 100 == 0 else cents / 100

    for lot in lots:
        for d in lot["demand"]:
            d["max_unit_price"] = scaled(d["max_unit_price"])
    for b in bids:
        for t in b["tiers"]:
            t["unit_price"] = scaled(t["unit_price"])
    for p in packages:
        for it in p["items"]:
            it["unit_price"] = scaled(it["unit_price"])
