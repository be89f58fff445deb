"""Fixtures: a migrated database per session, a clean one per test, an app, a client, log-in helpers.

SQLite (a file, so a live server thread sees the same data) by default; PostgreSQL when
TEST_DATABASE_URL is set. The schema comes from the Alembic migrations, so the tests run
against what production runs.

A test runs inside one outer transaction on one connection, rolled back at its end: the app's
session joins it, and each of the session's transactions is a SAVEPOINT, so the code under test
commits and rolls back as in production while nothing it writes outlives the test. A test that
needs real commits (a second connection, a thread or a second app that must see its rows: live
servers, concurrency, solver jobs' progress and leases, the read-model store) is marked
`commits`; after it every table but the reference data (segments, regions) is emptied instead.
Inside the rolled-back transaction `db.engine` is that connection, so code that opens a side
connection fails loudly there instead of silently missing the test's rows.

Under pytest-xdist (`-n 2`) each worker has its own database: its own SQLite file, and on
PostgreSQL a database named after TEST_DATABASE_URL's with the worker's id appended, made anew.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings

os.environ.setdefault("MARKETPLACE_ENV", "test")

from marketplace import create_app
from marketplace.config import TestConfig
from marketplace.extensions import db
from marketplace.services import clock

# Property tests draw the same examples on every run, with no per-example deadline (Hypothesis's
# built-in "ci" profile, which it loads only when it sees a CI variable): a draw that fails once can
# be repeated, and a busy machine cannot fail a test by being slow. HYPOTHESIS_PROFILE=default
# searches afresh on each run (exploring; put each failure it finds into an explicit test).
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REFERENCE_TABLES = {"segment", "region", "alembic_version"}


@sa.event.listens_for(sa.engine.Engine, "connect")
def _fast_sqlite(dbapi_connection, connection_record) -> None:
    """Tests need no durability: skip SQLite's fsync on every commit (several times faster)."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA journal_mode=MEMORY")
        cursor.close()


DATA_DIR = Path(__file__).resolve().parent.parent / "marketplace" / "data"


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:  # tmp_path_factory's base directory is already one per xdist worker
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    url = TestConfig.SQLALCHEMY_DATABASE_URI  # normalised to the psycopg 3 driver
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    own = sa.engine.make_url(url)
    own = own.set(database=f"{own.database}_{worker}")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{own.database}"'))
    admin.dispose()
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _database_url(tmp_path_factory)
    app = create_app({**_config(url)})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        from flask_migrate import upgrade

        upgrade()
        from marketplace.services.reference_data import load_regions, load_segments

        load_segments(DATA_DIR / "segments.csv")
        load_regions(DATA_DIR / "regions.csv")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return url


def _config(url: str) -> dict[str, object]:
    return {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()} | {
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {},
    }


def _empty_tables() -> None:
    # Only tables the migrations made: a model without its migration yet fails its own tests, not all.
    existing = set(sa.inspect(db.engine).get_table_names())
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name in existing - REFERENCE_TABLES]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "live_server" in getattr(item, "fixturenames", ()):  # the server thread has its own session
            item.add_marker(pytest.mark.commits)


def _side_connection(*args: object, **kwargs: object) -> None:
    raise RuntimeError(
        "this test opens a second database connection (db.engine.begin/connect), which cannot see the rows"
        " of its rolled-back transaction: mark it @pytest.mark.commits (tests/conftest.py)"
    )


@contextmanager
def _rolled_back(app: Flask) -> Iterator[None]:
    """Run the test inside one outer transaction that is rolled back (SQLAlchemy's recipe "Joining
    a Session into an External Transaction"): cheaper than emptying the 31 tables after every test."""
    engines = db._app_engines[app]  # Flask-SQLAlchemy's Session.get_bind reads the app's engines only
    engine = engines[None]
    connection = engine.connect()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # pysqlite begins transactions itself and breaks SAVEPOINT: let SQLAlchemy's BEGIN rule
        connection.connection.driver_connection.isolation_level = None
    outer = connection.begin()
    if sqlite:
        connection.exec_driver_sql("BEGIN")
    connection.begin = connection.connect = _side_connection  # type: ignore[method-assign]  # db.engine's
    factory = db.session.session_factory
    factory.kw["join_transaction_mode"] = "create_savepoint"  # the code's commits release a savepoint
    engines[None] = connection  # type: ignore[index]
    try:
        yield
    finally:
        db.session.remove()
        engines[None] = engine  # type: ignore[index]
        del factory.kw["join_transaction_mode"]
        del connection.begin, connection.connect
        outer.rollback()
        if sqlite:
            connection.connection.driver_connection.isolation_level = ""
        connection.close()


@pytest.fixture(scope="session")
def _one_app(database_url: str) -> Flask:
    """One app for the whole session: building one costs ~0.3 s (URL rules, the OpenAPI document),
    more than most tests. `app` gives each test a fresh app context and undoes its config changes."""
    from marketplace.extensions import limiter

    app = create_app(_config(database_url))
    app.extensions["tests.limiter_state"] = (limiter._storage, limiter._limiter)
    return app


@pytest.fixture
def app(_one_app: Flask, request: pytest.FixtureRequest) -> Iterator[Flask]:
    from marketplace.extensions import limiter

    app = _one_app
    config, extensions = dict(app.config), dict(app.extensions)
    # Another app made by a test re-binds the (global) limiter to its own counters: take ours back, emptied.
    limiter._storage, limiter._limiter = app.extensions["tests.limiter_state"]
    limiter.reset()
    commits = request.node.get_closest_marker("commits") is not None
    with app.app_context():
        try:
            with nullcontext() if commits else _rolled_back(app):
                yield app
        finally:
            db.session.remove()
            clock.freeze(None)
            if commits:
                _empty_tables()
                db.engine.dispose()
            app.config.clear()
            app.config.update(config)
            app.extensions.clear()
            app.extensions.update(extensions)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def frozen_clock() -> Iterator[type]:
    """Control the server clock: frozen_clock.freeze(datetime) / frozen_clock.now()."""
    yield clock
    clock.freeze(None)


@pytest.fixture
def world(app: Flask):
    """Two organizations of each kind with a user each, for access tests."""
    from tests.factories import World

    return World.build()


@pytest.fixture
def login(client: FlaskClient):
    """login(user) logs the test client in as that user (password of the factories)."""
    from tests.factories import PASSWORD

    def do_login(user) -> FlaskClient:
        client.post("/logout")
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.data[:500]
        return client

    return do_login


# ---------------------------------------------------------------- browser tests

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# How long a browser action or a web-first assertion (`expect`) waits. A busy machine (two test
# processes beside neighbours on two cores) can take many seconds to answer a form that solves or mails:
# a CI run six times slower than usual failed a click waiting 20 s for its navigation. Generous, as
# waiting costs nothing when the page is quick.
BROWSER_TIMEOUT_MS = 60_000


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's app served on 127.0.0.1 in a thread, on the test's database. Yields the base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it with apt-get")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_TIMEOUT_MS)  # its own default is 5 s
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ (kept by CI, looked at by people)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
