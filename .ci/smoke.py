"""The production smoke test's client: drives a running stack over HTTP only, as people would.

/healthz answers 200 with a fresh worker heartbeat; the coordinator logs in (CSRF token from the
form), creates a small round and opens it; a new fleet registers (approved by the coordinator when
approval is required), posts a demand line and commits it; the coordinator closes demand, runs
pooling and a job worker finishes it. Every form is read from its page (hidden fields, defaults),
so only the fields a person would type are set here.

    SMOKE_BASE_URL=http://127.0.0.1:7110 COORDINATOR_EMAIL=... COORDINATOR_PASSWORD=... python .ci/smoke.py
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

BASE = os.environ.get("SMOKE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")


def step(text: str) -> None:
    print(f"smoke: {text}", flush=True)


class Forms(HTMLParser):
    """Every form of a page: its action and the (name, value) pairs a browser would send by default."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._recent = ""  # the text just before a form (e.g. the table row it acts on)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": [], "choices": {}, "text": self._recent})
            return
        if not self.forms:
            return
        form = self.forms[-1]
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            form["choices"].setdefault(a["name"], []).append(a.get("value", "on"))
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    form["fields"].append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button", "image", "file"):
                form["fields"].append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            form["fields"].append((a["name"], ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select and self.forms:
            form = self.forms[-1]
            form["choices"][self._select] = [v for v, _ in self._options]
            chosen = [v for v, sel in self._options if sel] or [v for v, _ in self._options[:1]]
            form["fields"].extend((self._select, v) for v in chosen)
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        self._recent = (self._recent + data)[-400:]
        if self.forms:
            self.forms[-1]["text"] += data


class BehindTLSProxy(http.cookiejar.DefaultCookiePolicy):
    """Production cookies are Secure; here the client talks to gunicorn directly, as the TLS proxy
    would, so it sends them back over plain HTTP to 127.0.0.1."""

    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return True


class Browser:
    def __init__(self, who: str) -> None:
        self.who = who
        jar = http.cookiejar.CookieJar(policy=BehindTLSProxy())
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def request(self, path: str, data: list[tuple[str, str]] | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(BASE + path, data=body, timeout=60) as response:
                return response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.url, exc.read().decode(errors="replace")

    def get(self, path: str) -> str:
        status, _, text = self.request(path)
        if status != 200:
            fail(f"{self.who}: GET {path} answered {status}: {text[:500]}")
        return text

    def form(self, page: str, action: str) -> dict:
        parser = Forms()
        parser.feed(self.get(page))
        for form in parser.forms:
            target = urllib.parse.urlsplit(form["action"]).path or urllib.parse.urlsplit(page).path  # "" = this page
            if target.rstrip("/") == action.rstrip("/"):
                return form
        fail(f"{self.who}: no form posting to {action} on {page}: {[f['action'] for f in parser.forms]}")
        raise AssertionError

    def submit(
        self, page: str, action: str, values: dict[str, str | list[str]], *, form: dict | None = None, ok=(200,)
    ) -> str:
        """Fill the form posting to `action` on `page` like a person (typed values replace the defaults)."""
        form = form or self.form(page, action)
        fields = [(k, v) for k, v in form["fields"] if k not in values]
        for name, value in values.items():
            fields.extend((name, v) for v in (value if isinstance(value, list) else [value]))
        status, url, text = self.request(action, fields)
        if status not in ok:  # redirects are followed: 200 is the page after the move
            fail(f"{self.who}: POST {action} answered {status}: {_message(text)}")
        return url


def _message(text: str) -> str:
    found = re.findall(r'class="(?:alert[^"]*|invalid-feedback[^"]*)"[^>]*>(.*?)<', text, flags=re.S)
    return "; ".join(m.strip() for m in found if m.strip()) or text[:800]


def fail(message: str) -> None:
    print(f"smoke: FAILED: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def wait_healthy(timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(BASE + "/healthz", timeout=5) as response:
                report = json.loads(response.read())
                if response.status == 200 and report.get("worker", {}).get("status") == "ok":
                    return report
                last = report
        except (OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(1)
    fail(f"/healthz not healthy with a worker heartbeat within {timeout:.0f} s: {last}")
    raise AssertionError


def pick(choices: list[str], *preferred: str) -> str:
    for value in preferred:
        if value in choices:
            return value
    return next(v for v in choices if v)


def main() -> None:
    started = time.monotonic()
    report = wait_healthy()
    step(f"/healthz 200: {report}")

    coordinator = Browser("coordinator")
    url = coordinator.submit(
        "/login",
        "/login",
        {"email": os.environ["COORDINATOR_EMAIL"], "password": os.environ["COORDINATOR_PASSWORD"]},
    )
    if "/login" in url:
        fail("the coordinator could not log in")
    step("coordinator logged in")

    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    form = coordinator.form("/coordinator/rounds/new", "/coordinator/rounds/new")
    segment = pick(form["choices"]["segment_ids"], "md_box_truck")
    region = pick(form["choices"]["region_ids"], "US-CA", "US")
    at = datetime.now(UTC)
    when = {  # in the coordinator's time zone; days ahead, so a few hours either way do not matter
        "demand_deadline": (at + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "bid_deadline": (at + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"),
        "confirmation_deadline": (at + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M"),
    }
    url = coordinator.submit(
        "/coordinator/rounds/new",
        "/coordinator/rounds/new",
        {
            "name": f"Smoke round {stamp}",
            "segment_ids": segment,
            "region_ids": region,
            "min_lot_quantity": "1",
            **{k: v for k, v in when.items() if k in form["choices"]},
        },
        form=form,
    )
    found = re.search(r"/coordinator/rounds/(\d+)$", urllib.parse.urlsplit(url).path)
    if not found:
        fail(f"creating a round did not lead to its page ({url})")
    round_id = found.group(1)
    move(coordinator, round_id, "demand_open")
    step(f"round {round_id} created ({segment} in {region}) and opened for demand")

    fleet = Browser("fleet")
    email = f"fleet-{stamp}@smoke.example"
    password = f"Smoke-{stamp}-long passphrase"
    form = fleet.form("/register", "/register")
    fleet.submit(
        "/register",
        "/register",
        {
            "kind": "fleet",
            "org_name": f"Smoke Haulage {stamp}",
            "country": pick(form["choices"]["country"], "US"),
            "user_name": "Sam Smoke",
            "email": email,
            "password": password,
            "confirm": password,
        },
        form=form,
    )
    fleet = Browser("fleet")  # a registration answers alike for new and taken emails: log in after it
    # (until a coordinator approves the organization, its dashboard answers 403 "awaiting approval")
    fleet.submit("/login", "/login", {"email": email, "password": password}, ok=(200, 403))
    new_line = f"/fleet/rounds/{round_id}/lines/new"

    def can_post_demand() -> tuple[bool, str]:
        status, url, text = fleet.request(new_line)
        return status == 200 and urllib.parse.urlsplit(url).path == new_line, f"{status} {url}: {_message(text)}"

    approved = False
    if not can_post_demand()[0]:  # new organizations wait for a coordinator's approval
        approve_fleet(coordinator, f"Smoke Haulage {stamp}")
        approved = True
        fleet = Browser("fleet")
        fleet.submit("/login", "/login", {"email": email, "password": password}, ok=(200, 403))
    allowed, why = can_post_demand()
    if not allowed:
        fail(f"the new fleet cannot open the demand form ({why})")
    step("fleet registered and logged in" + (", approved by the coordinator" if approved else ""))

    page = f"/fleet/rounds/{round_id}/lines/new"
    form = fleet.form(page, page)
    values = {
        "segment": segment,
        "region": region,
        "quantity": "12",
        "earliest_quarter": f"{at.year + 1}Q1",
        "latest_quarter": f"{at.year + 1}Q4",
        "max_unit_price": "300000",
    }
    if form["choices"].get("charging"):
        values["charging"] = form["choices"]["charging"]
    fleet.submit(page, page, values, form=form)
    # Committing starts with a summary of what is at stake (vehicles, maximum spend, deposit); its form commits.
    fleet.submit(f"/fleet/rounds/{round_id}/commit?all=1", f"/fleet/rounds/{round_id}/commit", {})
    step("fleet posted and committed 12 vehicles")

    move(coordinator, round_id, "demand_closed")
    page = f"/coordinator/rounds/{round_id}/pooling"
    url = coordinator.submit(page, page, {"time_limit": "20"})
    run = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("run", [""])[0]
    if not run:
        fail(f"starting pooling did not show the run ({url})")
    step(f"demand closed, pooling run {run} started")
    deadline = time.monotonic() + 90
    progress: dict = {}
    while time.monotonic() < deadline:
        progress = json.loads(coordinator.get(f"/coordinator/pooling-runs/{run}/progress"))
        if progress["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.5)
    if progress.get("status") != "succeeded":
        fail(f"pooling run {run} did not succeed within 90 s: {progress}")
    if "Publish these lots" not in coordinator.get(f"{page}?run={run}"):
        fail("the pooling page does not offer the run's lots")
    step(f"a worker finished pooling run {run}: {progress['progress'].get('quantity')} vehicles pooled")
    step(f"passed in {time.monotonic() - started:.1f} s")


def move(coordinator: Browser, round_id: str, target: str) -> None:
    """A phase move: its confirmation page states the consequences; the coordinator ticks the box."""
    coordinator.submit(
        f"/coordinator/rounds/{round_id}/move/{target}",
        f"/coordinator/rounds/{round_id}/transition",
        {"target": target, "confirm": "y"},
    )


def approve_fleet(coordinator: Browser, org_name: str) -> None:
    """The coordinator approves a waiting organization from the organizations page."""
    parser = Forms()
    parser.feed(coordinator.get("/coordinator/organizations"))
    for form in parser.forms:
        if "approve" in form["action"] and org_name in form["text"]:
            coordinator.submit("/coordinator/organizations", urllib.parse.urlsplit(form["action"]).path, {}, form=form)
            return
    page = coordinator.get("/coordinator/organizations")
    near = page[max(0, page.find(org_name) - 1500) : page.find(org_name) + 1500] if org_name in page else ""
    fail(f"the new fleet cannot post demand and no approval form was found for it: {near or 'not listed'}")


if __name__ == "__main__":
    main()
