"""Pages at coalition scale: python -m bench.web_scale [--database-url URL] [--port 7160]

Builds (once: found again by name on a rerun) a 1,000-line / 200-bid round and a 10,000-line /
2,000-bid round with `flask seed-large`'s code, then reads each page of issue 16's table as the
member who sees it, in process through the Flask test client: median time of 5 reads, bytes and
SQL statements. Then serves the app with gunicorn (4 workers, 127.0.0.1:--port) and measures the
landing page's throughput alone and while 4 clients keep loading the heaviest coordinator page.
Targets (issue 16), at 10,000 lines and 2,000 bids: every page <= 300 ms median, <= 30 SQL
statements, <= 500 KB; growth from 1,000 to 10,000 lines <= 1.5x; the landing page keeps >= 70 %
of its idle throughput. Writes bench/results/web_scale.md, every target met or not.
Default database: a SQLite file under a temporary folder (kept between runs in $TMPDIR).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SIZES = ((1_000, 200), (10_000, 2_000))
TARGET_MS, TARGET_STATEMENTS, TARGET_BYTES, TARGET_GROWTH, TARGET_KEPT = 300, 30, 500_000, 1.5, 0.70
REPEAT = 5


def _app(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("MARKETPLACE_ENV", "development")
    from marketplace import create_app

    return create_app()


def _round(lines: int, bids: int, time_limit: float) -> int:
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.models import Round, RoundPhase
    from marketplace.services.large_seed import seed_large

    existing = db.session.execute(
        sa.select(Round.id).where(
            Round.name.like(f"Large round %: {lines:,} lines, {bids:,} bids"), Round.phase == RoundPhase.CONTRACTING
        )
    ).scalar()
    if existing:
        return existing
    from flask import current_app

    started = time.monotonic()
    result = seed_large(lines, bids, data_dir=current_app.config["DATA_DIR"], time_limit=time_limit, say=print)
    print(f"seeded {lines:,} lines / {bids:,} bids in {time.monotonic() - started:.0f} s", flush=True)
    return result.round_id


def _pages(round_id: int) -> list[tuple[str, str, str]]:
    """(page, who reads it, URL) for the issue's table."""
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.models import DemandLine, Organization, Round, User

    rnd = db.session.get(Round, round_id)
    tag = rnd.name.split(":")[0].removeprefix("Large round ")

    def email(name: str) -> str:
        # the member who registered it (seed-demo also gives every OEM a sales@ login)
        return db.session.execute(
            sa.select(User.email).join(User.organization).where(Organization.name == name).order_by(User.id).limit(1)
        ).scalar_one()

    fleet, oem = email(f"Large Fleet 001 ({tag})"), email(f"Large OEM 01 ({tag})")
    lines_of_fleet = db.session.execute(
        sa.select(sa.func.count()).where(DemandLine.round_id == round_id, DemandLine.organization.has(name=f"Large Fleet 001 ({tag})"))
    ).scalar_one()  # fmt: skip
    c = "coordinator@fec.example"
    return [
        ("pooling run", c, f"/coordinator/rounds/{round_id}/pooling"),
        ("scenario", c, f"/coordinator/scenarios/{rnd.published_scenario_id}"),
        (
            "scenario, lots awarded in part by value (page 2)",
            c,
            f"/coordinator/scenarios/{rnd.published_scenario_id}?bylot_awarded=in+part&bylot_sort=value&bylot_dir=desc"
            "&bylot_page=2",
        ),
        ("coordinator contracting", c, f"/coordinator/rounds/{round_id}/contracting"),
        ("scenario comparison", c, f"/coordinator/rounds/{round_id}/scenarios"),
        ("report", c, f"/coordinator/rounds/{round_id}/report"),
        ("report XLSX", c, f"/coordinator/rounds/{round_id}/report.xlsx"),
        ("report CSV", c, f"/coordinator/rounds/{round_id}/report.csv"),
        ("OCDS export", c, f"/coordinator/rounds/{round_id}/ocds.json"),
        ("round overview (audit log)", c, f"/coordinator/rounds/{round_id}"),
        ("deposits", c, f"/payments/rounds/{round_id}/deposits"),
        ("OEM results", oem, f"/oem/rounds/{round_id}/results"),
        ("OEM tender page", oem, f"/oem/rounds/{round_id}"),
        ("OEM tender page, its own bids (page 2)", oem, f"/oem/rounds/{round_id}?bid=bid+placed&page=2"),
        ("OEM capacity by quarter", oem, f"/oem/rounds/{round_id}/capacity/quarters"),
        (f"fleet round page ({lines_of_fleet:,} lines)", fleet, f"/fleet/rounds/{round_id}"),
        (
            "fleet round page, lines by segment and region name",
            fleet,
            f"/fleet/rounds/{round_id}?segment=box&region=Texas",
        ),
        ("fleet allocations", fleet, f"/fleet/rounds/{round_id}/allocations"),
        ("landing", "", "/"),
    ]


def _fresh() -> None:
    """Each read as its own request would be: the bench's app context (its g and session) outlives requests."""
    from flask import g

    from marketplace.extensions import db

    for key in ("_login_user", "csrf_token"):
        g.pop(key, None)
    db.session.remove()


def _measure(app, pages) -> dict[str, tuple[float, int, int, int, float]]:
    """page -> (median ms, bytes, SQL statements, status, first read ms)."""
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.services.demo import DEMO_PASSWORD

    statements: list[int] = []

    def count(*_args) -> None:
        statements.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    clients = {}
    out = {}
    try:
        for name, who, url in pages:
            if who not in clients:
                clients[who] = app.test_client()
                if who:
                    _fresh()
                    form = clients[who].get("/login").get_data(as_text=True)
                    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
                    data = {"email": who, "password": DEMO_PASSWORD, "csrf_token": token.group(1) if token else ""}
                    _fresh()
                    answer = clients[who].post("/login", data=data)
                    assert answer.status_code == 302 and "/login" not in answer.location, f"{who} cannot log in"
            client = clients[who]
            _fresh()
            started = time.perf_counter()
            client.get(url)  # warm; for a stored document (services/read_models.py) this read computes it
            first = (time.perf_counter() - started) * 1000
            times = []
            for _ in range(REPEAT):
                _fresh()
                statements.clear()
                started = time.perf_counter()
                response = client.get(url)
                body = response.get_data()
                times.append((time.perf_counter() - started) * 1000)
            out[name.split(" (")[0] if name.startswith("fleet round") else name] = (
                statistics.median(times), len(body), len(statements), response.status_code, first,
            )  # fmt: skip
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return out


def _throughput(port: int, heavy: str, seconds: float = 10.0) -> tuple[float, float]:
    """Landing page requests per second alone, then while 4 clients load `heavy` (logged in)."""
    from marketplace.services.demo import DEMO_PASSWORD

    base = f"http://127.0.0.1:{port}"

    def landing_rate() -> float:
        done = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            urllib.request.urlopen(base + "/").read()
            done += 1
        return done / seconds

    idle = landing_rate()
    stop = threading.Event()

    def load() -> None:
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login = opener.open(base + "/login").read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login)
        data = {"email": "coordinator@fec.example", "password": DEMO_PASSWORD}
        if token:
            data["csrf_token"] = token.group(1)
        opener.open(base + "/login", data=urllib.parse.urlencode(data).encode()).read()
        while not stop.is_set():
            opener.open(base + heavy).read()

    threads = [threading.Thread(target=load, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(2)
    busy = landing_rate()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    return idle, busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--port", type=int, default=7160)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--no-load", action="store_true", help="skip the gunicorn throughput part")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.gettempdir()) / 'bench-web-scale.db'}"
    app = _app(url)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        round_ids = [_round(lines, bids, args.time_limit) for lines, bids in SIZES]
        measured = [_measure(app, _pages(round_id)) for round_id in round_ids]
        coordinator_pages = {n: u for n, who, u in _pages(round_ids[-1]) if who == "coordinator@fec.example"}
    figures = {}
    if not args.no_load:
        env = {**os.environ, "DATABASE_URL": url, "MARKETPLACE_ENV": "development"}
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--workers", "4", "--bind", f"127.0.0.1:{args.port}",
             "--timeout", "120", "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(60):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{args.port}/").read()
                    break
                except OSError:
                    time.sleep(0.5)
            # The heaviest HTML page a coordinator loads (downloads excluded).
            html = {
                n: u for n, u in coordinator_pages.items() if not n.startswith(("report XLSX", "report CSV", "OCDS"))
            }
            worst = max(html, key=lambda n: measured[-1][n][0])
            figures["heavy"] = worst
            figures["idle"], figures["busy"] = _throughput(args.port, html[worst])
        finally:
            server.terminate()
            server.wait(timeout=30)
    _write(url, measured, figures)


def _write(url: str, measured, figures) -> None:
    small, large = measured
    rows = []
    met_all = True
    for name in large:
        ms, size, stmts, status, first = large[name]
        ms1, size1, stmts1, _, first1 = small.get(name, (0, 0, 0, 0, 0))
        growth = ms / ms1 if ms1 else float("nan")
        ok = ms <= TARGET_MS and stmts <= TARGET_STATEMENTS and size <= TARGET_BYTES and growth <= TARGET_GROWTH
        met_all &= ok
        rows.append(
            f"| {name} | {status} | {ms1:.0f} ms, {size1 / 1000:,.0f} KB, {stmts1} | {ms:.0f} ms | {size / 1000:,.0f} KB "
            f"| {stmts} | {growth:.2f}x | {first1:.0f} / {first:.0f} ms | {'met' if ok else 'NOT met'} |"
        )
    lines = [
        "# Pages at coalition scale (issue 16)",
        "",
        f"`python -m bench.web_scale` on {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs (shared with other work), database {url.split(':')[0]}; "
        f"rounds built by `flask seed-large` (1,000 lines / 200 bids and 10,000 lines / 2,000 bids). "
        f"In-process reads (Flask test client), median of {REPEAT}.",
        "",
        f"Targets at 10,000 lines: <= {TARGET_MS} ms median, <= {TARGET_STATEMENTS} SQL statements, "
        f"<= {TARGET_BYTES // 1000} KB, growth from 1,000 lines <= {TARGET_GROWTH}x.",
        "",
        "| page | status | at 1,000 lines (time, size, statements) | time | size | SQL statements | growth "
        "| first read (1,000 / 10,000) | target |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Every page target met: {'yes' if met_all else 'no'}.",
        "",
    ]
    if figures:
        kept = figures["busy"] / figures["idle"] if figures["idle"] else 0
        lines += [
            f"Landing page under load (gunicorn, 4 workers): {figures['idle']:.1f} req/s idle, "
            f"{figures['busy']:.1f} req/s while 4 clients load the {figures['heavy']} page: "
            f"{100 * kept:.0f} % kept (target >= {100 * TARGET_KEPT:.0f} %: {'met' if kept >= TARGET_KEPT else 'NOT met'}).",
            "",
        ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "web_scale.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
