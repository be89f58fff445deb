"""Web load benchmark: python -m bench.web [--duration 10] [--connections 16] [--database-url URL]

Serves a bare Flask app (one indexed PostgreSQL query, one small template: bench/web_bare.py)
and the product, on the demo data (`flask seed-demo`), each with gunicorn under the same
settings (GUNICORN below: 2 sync web workers), side by side on 127.0.0.1, and loads each page in
turn with wrk at the same concurrency and duration. The pages: landing, fleet dashboard, fleet
round page, OEM tender page, a bid submission (POST with the CSRF token, as an OEM revising its
own bid: a new revision is saved every time, counted in the database afterwards), the
coordinator's round page, and login (exempt from the targets: password hashing is slow on
purpose). The bare app is measured first and last; ratios are against the mean of the two.

Load tool: wrk (Debian package `wrk`): an event-loop client in C that drives 16 connections
with a fraction of one core, so on a small shared machine nearly all CPU goes to the servers
being compared; a Lua script sends the session cookie and the bid form, and checks every
response's status.

Needs PostgreSQL: set BENCH_DATABASE_URL (or --database-url) to a database the benchmark may
wipe, e.g. postgresql://postgres@127.0.0.1:5432/bench; without it, or without wrk, it says so
and skips. Writes bench/results/web.md.
"""

from __future__ import annotations

import argparse
import html
import http.cookiejar
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import timeit
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
PORTS = (7170, 7171)  # bare, product
GUNICORN = ["--workers", "2", "--worker-class", "sync", "--timeout", "30", "--log-level", "warning"]
GET_TARGET, POST_TARGET, P99_TARGET_MS = 0.50, 0.25, 100.0
DEMO_PASSWORD = "zero-emission"


@dataclass
class Page:
    key: str
    label: str
    path: str
    email: str | None = None  # who is logged in (None: anonymous)
    method: str = "GET"
    form: dict[str, str] | None = None  # POST body; "{price}" is replaced per request
    target: float | None = GET_TARGET
    expect: int = 200


@dataclass
class Result:
    page: Page
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    note: str = ""
    bare_requests: int = 0  # the bare app's, in the slices interleaved with this page's
    bare_seconds: float = 0.0
    bare_p99_ms: float = 0.0
    bare_errors: int = 0

    @property
    def bare_rps(self) -> float:
        return self.bare_requests / self.bare_seconds if self.bare_seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.rps / self.bare_rps if self.bare_rps else 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------- the database and the servers


def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def prepare_database(url: str, env: dict[str, str]) -> None:
    """Wipe the database, migrate it, load the demo coalition and the bare app's table."""
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *command], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    from bench.web_bare import create_table

    with engine.begin() as connection:
        create_table(connection)
    engine.dispose()


def start_server(app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [str(VENV_BIN / "gunicorn"), *GUNICORN, "--bind", f"127.0.0.1:{port}", app]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120  # importing the app takes a while on a busy machine
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn {app} stopped at start: see {log}\n{log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
            return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"gunicorn {app} did not answer on port {port} within 120 s: see {log}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- logging in and finding the pages


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A cookie jar and the CSRF token of the last page read, over urllib (redirects not followed)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            response = self.opener.open(self.base + path, data=data, timeout=30)
        except urllib.error.HTTPError as exc:  # 3xx (not followed) and 4xx/5xx
            return exc.code, exc.headers.get("Location", ""), exc.read().decode(errors="replace")
        return response.status, "", response.read().decode(errors="replace")

    def csrf(self, path: str) -> str:
        status, _, body = self.request(path)
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body)
        if status != 200 or found is None:
            raise SystemExit(f"no CSRF token on {path} (status {status})")
        return html.unescape(found.group(1))

    def login(self, email: str) -> None:
        token = self.csrf("/login")
        status, _, _ = self.request("/login", {"csrf_token": token, "email": email, "password": DEMO_PASSWORD})
        if status != 302:
            raise SystemExit(f"logging in as {email} failed (status {status})")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def find_pages(url: str, env: dict[str, str]) -> list[Page]:
    """The measured pages of the demo coalition, found in its database and named by the app's routes."""
    os.environ.update(env)
    import sqlalchemy as sa

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import Bid, Round, RoundPhase, User
    from marketplace.services import demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url), "SERVER_NAME": "127.0.0.1"})
    with app.app_context(), app.test_request_context():
        from flask import url_for

        open_round = db.session.execute(sa.select(Round).where(Round.name == demo.NA_ROUND)).scalar_one()
        tendering = db.session.execute(sa.select(Round).where(Round.phase == RoundPhase.TENDERING)).scalars().first()
        assert tendering is not None, "the demo has a round in tendering"
        # The OEM with the most bids in the tendering round revises its bid on its first lot.
        bid = (
            db.session.execute(
                sa.select(Bid)
                .where(Bid.round_id == tendering.id)
                .order_by(
                    sa.func.count().over(partition_by=Bid.organization_id).desc(), Bid.organization_id, Bid.lot_id
                )
            )
            .scalars()
            .first()
        )
        assert bid is not None and bid.current is not None and not bid.current.withdrawn
        oem = (
            db.session.execute(
                sa.select(User.email).where(User.organization_id == bid.organization_id).order_by(User.id)
            )
            .scalars()
            .first()
        )
        fleet_email = demo.FLEETS[0].email
        coordinator = demo.COORDINATOR_EMAIL
        revision = bid.current
        form = {"model_code": revision.vehicle_model.code, "min_quantity": str(revision.min_quantity),
                "max_quantity": str(revision.max_quantity)}  # fmt: skip
        for n, tier in enumerate(revision.tiers, start=1):
            form[f"tier{n}_min"] = str(tier.min_quantity)
            form[f"tier{n}_price"] = "{price}" if n == len(revision.tiers) else f"{tier.unit_price:.2f}"
        # The last tier's price changes on every request (see LUA), so every submission is a new revision.
        form |= {"_base_cents": str(int(revision.tiers[-1].unit_price * 100)), "_bid_id": str(bid.id)}

        def path(endpoint: str, **values: Any) -> str:
            return url_for(endpoint, **values, _external=False)

        pages = [
            Page("landing", "Landing page", path("main.landing")),
            Page("fleet_dashboard", "Fleet dashboard", path("fleet.dashboard"), fleet_email),
            Page("fleet_round", "Fleet round page", path("fleet.round_page", round_id=open_round.id), fleet_email),
            Page("oem_tender", "OEM tender page", path("oem.tender", round_id=tendering.id), oem),
            Page(
                "coordinator_round",
                "Coordinator round page",
                path("coordinator.round_detail", round_id=open_round.id),
                coordinator,
            ),
            Page(
                "bid",
                "Bid submission (POST)",
                path("oem.bid", round_id=tendering.id, lot_id=bid.lot_id),
                oem,
                method="POST",
                form=form,
                target=POST_TARGET,
                expect=302,
            ),
            Page(
                "login",
                "Login (POST, exempt)",
                path("auth.login"),
                None,
                method="POST",
                form={"email": coordinator, "password": DEMO_PASSWORD},
                target=None,
                expect=302,
            ),
        ]
        db.session.remove()
        db.engine.dispose()
    return pages


def revisions_of(url: str, bid_id: int) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.connect() as connection:
        n = connection.execute(sa.text("SELECT count(*) FROM bid_revision WHERE bid_id = :b"), {"b": bid_id}).scalar()
    engine.dispose()
    return int(n or 0)


# ---------------------------------------------------------------- load with wrk

LUA = r"""
wrk.method = "%(method)s"
%(headers)s
local body = %(body)s
local base_cents = %(base_cents)d - %(offset)d
local threads = {}
local expect = %(expect)d

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  bad = 0
  nthreads = %(threads)d
end

function request()
  if body == nil then
    return wrk.format()
  end
  n = n + 1
  -- A different price on every request, so every submission is a real change saved as a revision.
  local cents = base_cents - (n * nthreads + tid) %% 50000
  return wrk.format(nil, nil, nil, (body:gsub("{price}", string.format("%%d.%%02d", math.floor(cents / 100), cents %% 100))))
end

function response(status, headers, response_body)
  if status ~= expect then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do
    wrong = wrong + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "socket_errors": %%d, "wrong_status": %%d}\n',
    summary.requests, summary.duration, math.floor(latency:percentile(50)), math.floor(latency:percentile(99)),
    e.connect + e.read + e.write + e.timeout, wrong))
end
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for ASCII text


def run_wrk(
    base: str, page: Page, cookie: str, duration: float, connections: int, workdir: Path, offset: int = 0
) -> Result:
    threads = 2
    headers = [f'wrk.headers["Cookie"] = {lua_string(cookie)}'] if cookie else []
    body = "nil"
    base_cents = 0
    if page.form is not None:
        headers.append('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"')
        fields = {k: v for k, v in page.form.items() if not k.startswith("_")}
        body = lua_string(urllib.parse.urlencode(fields).replace("%7Bprice%7D", "{price}"))
        base_cents = int(page.form.get("_base_cents", "0"))
    script = workdir / f"{page.key}.lua"
    script.write_text(LUA % {"method": page.method, "headers": "\n".join(headers), "body": body,
                             "base_cents": base_cents, "offset": offset, "expect": page.expect, "threads": threads})  # fmt: skip
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", "--timeout", "10s",
               "-s", str(script), base + page.path]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"^RESULT (.*)$", out, re.M)
    if found is None:
        raise SystemExit(f"wrk gave no result for {page.label}:\n{out}")
    data = json.loads(found.group(1))
    return Result(
        page=page,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["socket_errors"] + data["wrong_status"],
    )


def drain(base: str) -> None:
    """Wait until the requests still queued when wrk stopped are served: a probe queues behind them."""
    urllib.request.urlopen(base + "/", timeout=120).read()


def measure(
    page: Page, bare_base: str, product_base: str, cookie: str, args: argparse.Namespace, workdir: Path
) -> Result:
    """The page and the bare app in alternating slices, so both meet the same load of the shared machine."""
    bare_page = Page("bare", "Bare Flask", "/")
    piece = args.duration / args.slices
    before = revisions_of(args.database_url, int(page.form["_bid_id"])) if page.key == "bid" and page.form else 0
    bare_runs, runs = [], []
    for n in range(args.slices):
        bare_runs.append(run_wrk(bare_base, bare_page, "", piece, args.connections, workdir))
        drain(bare_base)
        runs.append(run_wrk(product_base, page, cookie, piece, args.connections, workdir, offset=n * 50_000))
        drain(product_base)
    p50s = sorted(r.p50_ms for r in runs)
    result = Result(
        page=page,
        requests=sum(r.requests for r in runs),
        seconds=sum(r.seconds for r in runs),
        p50_ms=p50s[len(p50s) // 2],  # the median slice's median
        p99_ms=max(r.p99_ms for r in runs),  # the worst slice's
        errors=sum(r.errors for r in runs),
        bare_requests=sum(r.requests for r in bare_runs),
        bare_seconds=sum(r.seconds for r in bare_runs),
        bare_p99_ms=max(r.p99_ms for r in bare_runs),
        bare_errors=sum(r.errors for r in bare_runs),
    )
    if page.key == "bid" and page.form:
        saved = revisions_of(args.database_url, int(page.form["_bid_id"])) - before
        # A request still in flight when wrk stops may be saved without being counted.
        result.note = f"{saved:,} new bid revisions saved for {result.requests:,} answered submissions."
        if not result.requests <= saved <= result.requests + args.connections * args.slices:
            result.errors += abs(saved - result.requests)
    print(f"  {page.label}: {result.rps:,.0f} req/s (bare {result.bare_rps:,.0f}), ratio {result.ratio:.2f}, "
          f"p99 {result.p99_ms:.1f} ms, {result.errors} errors", flush=True)  # fmt: skip
    return result


# ---------------------------------------------------------------- the report


def machine_note() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    loop = min(timeit.repeat("sum(range(10**6))", number=1, repeat=5)) * 1000
    return (
        f"Machine at the time: load average {load:.1f} on {os.cpu_count()} CPUs (shared); "
        f"`sum(range(10**6))` took {loop:.0f} ms (an idle recent x86 core takes about 15-20 ms). "
        "Absolute req/s move with the machine's load; the ratios, measured side by side, are the figures to compare."
    )


def report(results: list[Result], args: argparse.Namespace, note: str) -> str:
    piece = args.duration / args.slices
    lines = [
        "# Web load benchmark",
        "",
        f"`python -m bench.web --duration {args.duration} --slices {args.slices} --connections {args.connections}` "
        f"on PostgreSQL · Python {platform.python_version()} · {platform.machine()} · {os.cpu_count()} CPUs",
        "",
        f"Load tool: wrk, {args.connections} connections on 2 threads. Servers: gunicorn `{' '.join(GUNICORN)}` for "
        "both the bare app (`bench/web_bare.py`: one indexed PostgreSQL query by primary key, one small template) "
        "and the product (`wsgi:app`, demo data of `flask seed-demo`, the embedded defaults but PostgreSQL). "
        f"Each page is loaded for {args.duration} s in {args.slices} slices of {piece:g} s, each right after a "
        f"slice of the bare app, so both meet the same load of the shared machine: the ratio is the page's "
        "requests over the bare app's in those interleaved slices. p50 is the median slice's, p99 the worst slice's.",
        "",
        note,
        "",
        f"Targets (issue 13): every GET page >= {GET_TARGET:.0%} of the bare app's req/s, the bid submission "
        f">= {POST_TARGET:.0%}, p99 <= {P99_TARGET_MS:.0f} ms, 0 errors. Login is exempt (password hashing is slow "
        "on purpose). Errors = socket errors + responses with another status than expected (200, or 302 after a "
        "POST).",
        "",
        "| page | req/s | p50 | p99 | errors | bare req/s (p99) | product / bare | target | met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in results:
        if r.page.target is None:
            target, met = "exempt", ""
        else:
            target = f">= {r.page.target:.2f}, p99 <= {P99_TARGET_MS:.0f} ms"
            ok = r.ratio >= r.page.target and r.p99_ms <= P99_TARGET_MS and r.errors == 0
            met = "met" if ok else "**not met**"
        lines.append(
            f"| {r.page.label} | {r.rps:,.0f} | {r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms | {r.errors} | "
            f"{r.bare_rps:,.0f} ({r.bare_p99_ms:.0f} ms) | **{r.ratio:.2f}** | {target} | {met} |"
        )
    lines.append("")
    for r in results:
        if r.note:
            lines.append(f"{r.page.label}: {r.note}")
        if r.bare_errors:
            lines.append(f"The bare app had {r.bare_errors} errors beside {r.page.label}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="PostgreSQL database to wipe and use (default: $BENCH_DATABASE_URL)")  # fmt: skip
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--slices", type=int, default=2, help="alternations of bare app and page per page")
    parser.add_argument("--only", nargs="*", help="page keys to measure (default: all)")
    parser.add_argument("--no-write", action="store_true", help="print the figures, leave bench/results alone")
    parser.add_argument("--keep-database", action="store_true", help="reuse the database of the last run (no reseed)")
    args = parser.parse_args(argv)

    if not args.database_url or not args.database_url.startswith(("postgres://", "postgresql")):
        print("bench.web skipped: set BENCH_DATABASE_URL=postgresql://USER@HOST:PORT/DB (a database it may wipe).")
        return 0
    if shutil.which("wrk") is None:
        print("bench.web skipped: the load tool wrk is missing (Debian: apt-get install wrk).")
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "BENCH_BARE_DATABASE_URL": sqlalchemy_url(args.database_url),
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MARKETPLACE_INSTANCE_DIR": str(workdir / "instance"),
    }
    for name in ("MARKETPLACE_ENV", "REDIS_URL", "STRIPE_SECRET_KEY", "FLASK_DEBUG"):
        env.pop(name, None)
    if not args.keep_database:
        print(f"Preparing {args.database_url} (wiped, migrated, demo data)...", flush=True)
        prepare_database(args.database_url, env)
    pages = find_pages(args.database_url, env)
    if args.only:
        pages = [p for p in pages if p.key in args.only]

    bare_base, product_base = (f"http://127.0.0.1:{port}" for port in PORTS)
    servers = []
    try:
        servers.append(start_server("bench.web_bare:app", PORTS[0], env, workdir / "bare.log"))
        servers.append(start_server("wsgi:app", PORTS[1], env, workdir / "product.log"))
        cookies: dict[str | None, str] = {None: ""}
        for page in pages:
            browser = Browser(product_base)
            if page.email is not None:
                browser.login(page.email)
            if page.form is not None:  # a session holding a CSRF token, taken from the page itself
                page.form = {"csrf_token": browser.csrf(page.path), **page.form}
            status, _, _ = browser.request(page.path) if page.method == "GET" else (200, "", "")
            if status != 200:
                raise SystemExit(f"{page.label}: {page.path} answers {status} before the load")
            cookies[page.key] = browser.cookie_header()
            for _ in range(3):  # warm both workers: templates compiled, connections pooled
                browser.request(page.path) if page.method == "GET" else None
        note = machine_note()
        print(note, flush=True)
        results = [measure(page, bare_base, product_base, cookies[page.key], args, workdir) for page in pages]
    finally:
        for process in servers:
            stop_server(process)
    text = report(results, args, note)
    print(text)
    if not (args.no_write or args.only):
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "web.md").write_text(text)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
