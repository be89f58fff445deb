"""Example client of the marketplace API: post 1,000 demand lines for a fleet, commit them, print the pool progress.

    API_TOKEN=zev_... python docs/api_client_example.py --base-url http://127.0.0.1:5000 --round 1

The token is a write token of a fleet (account page, or `flask create-api-token --email ops@parcelo.example
--scope write`). Standard library only. Every POST carries an Idempotency-Key, so running the script again
after a lost answer (a timeout, a dropped connection) repeats nothing: the server replays its first answer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, problem: dict[str, Any]):
        self.status, self.problem = status, problem
        lines = [f"{status} {problem.get('title', '')}: {problem.get('detail', '')}"]
        lines += [f"  {e.get('pointer') or e.get('parameter')}: {e['detail']}" for e in problem.get("errors", [])[:20]]
        super().__init__("\n".join(lines))


class Client:
    def __init__(self, base_url: str, token: str):
        self.base_url, self.token = base_url.rstrip("/") + "/api/v1", token

    def call(self, method: str, path: str, body: Any = None, *, key: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if method == "POST":
            headers["Idempotency-Key"] = key or str(uuid.uuid4())
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:  # problem details (RFC 9457) name what was wrong
            raise ApiError(exc.code, json.loads(exc.read() or b"{}")) from None

    def pages(self, path: str) -> Any:
        """Every item of a list, following next_cursor."""
        cursor = None
        while True:
            page = self.call(
                "GET", path + ("&" if "?" in path else "?") + "limit=500" + (f"&cursor={cursor}" if cursor else "")
            )
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return


def demand_lines(rnd: dict[str, Any], count: int, seed: int = 19) -> list[dict[str, Any]]:
    """Lines a fleet system would send: within the round's segments and scope, over the next quarters."""
    rng = random.Random(seed)
    regions = rnd["regions"]
    lines = []
    for i in range(count):
        year = 2029 + rng.randrange(0, 2)
        quarter = rng.randrange(1, 4)
        lines.append({
            "segment": rng.choice(rnd["segments"]),
            "region": rng.choice(regions),
            "quantity": rng.randrange(1, 12),
            "earliest_quarter": f"{year}Q{quarter}",
            "latest_quarter": f"{year}Q{quarter + 1}",
            "charging": rng.sample(["CCS1", "CCS2", "MCS"], 2),
            "max_unit_price": f"{rng.randrange(150_000, 400_000)}.00",
            "splittable": rng.random() < 0.5,
            "note": f"depot {i % 200}",
        })  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:5000")
    parser.add_argument("--round", type=int, required=True, help="a round open for demand")
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--token", default=os.environ.get("API_TOKEN"), help="default: $API_TOKEN")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("give a fleet's write token with --token or API_TOKEN")
    api = Client(args.base_url, args.token)
    try:
        rnd = api.call("GET", f"/rounds/{args.round}")
        print(f"{rnd['name']}: {rnd['phase']}, demand deadline {rnd['demand_deadline']}")
        run = uuid.uuid4()  # one key per request of this run: a retry of the script reuses nothing by accident
        posted = api.call("POST", f"/rounds/{args.round}/lines/bulk", {"lines": demand_lines(rnd, args.lines)},
                          key=f"bulk-{run}")  # fmt: skip
        print(f"posted {posted['created']:,} lines ({posted['vehicles']:,} vehicles)")
        committed = api.call("POST", f"/rounds/{args.round}/commit", {"line_ids": posted["line_ids"]},
                             key=f"commit-{run}")  # fmt: skip
        print(f"committed {len(committed['committed']):,} lines ({committed['vehicles']:,} vehicles); "
              f"{len(committed['awaiting_deposit']):,} wait for their deposit")  # fmt: skip
        progress = list(api.pages(f"/rounds/{args.round}/pool-progress"))
        reached = sum(1 for p in progress if p["reached"])
        print(f"pool progress: {reached:,} of {len(progress):,} lines are in a lot of the round's minimum size")
        for p in sorted(progress, key=lambda p: p["percent"])[:5]:
            print(f"  line {p['line_id']}: {p['total']} of {p['minimum']} vehicles ({p['percent']} %) "
                  f"in {p['region']} {p['charging']} {p['quarter']}")  # fmt: skip
    except ApiError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
