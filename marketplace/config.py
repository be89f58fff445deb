"""Configuration classes read from the environment.

The embedded defaults need no server: a SQLite file under instance/, Huey on a SQLite
file, payments off. Production (`MARKETPLACE_ENV=production`) demands a strong SECRET_KEY
and a real DATABASE_URL.
"""

from __future__ import annotations

import os
from pathlib import Path

INSTANCE_DIR = Path(os.environ.get("MARKETPLACE_INSTANCE_DIR", Path(__file__).resolve().parent.parent / "instance"))


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # psycopg 3 is the driver: accept the common postgres:// and postgresql:// spellings.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# The development default: known to everybody, so production refuses it.
DEV_SECRET_KEY = "dev-only-not-secret"
MIN_SECRET_KEY_LENGTH = 32


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'marketplace.db'}")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 8
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024  # uploads: 20 MB is far above a 10,000-row sheet
    # Background jobs: SqliteHuey file by default, Redis when REDIS_URL is set.
    REDIS_URL = os.environ.get("REDIS_URL")
    # Counters shared by every web process (Flask-Limiter): Redis whenever it is configured, so N web
    # hosts count together; in memory only for `make run` and tests (one process).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL or "memory://"
    RATELIMIT_KEY_PREFIX = "marketplace"
    RATELIMIT_HEADERS_ENABLED = True  # Retry-After on a 429
    # Failed logins counted per account (the email typed) and per address; a success costs nothing.
    LOGIN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "50 per 15 minutes"
    REGISTER_LIMIT_PER_ADDRESS = "20 per hour"
    # Requests per API token (all of /api/v1 together), in Flask-Limiter's notation.
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "1200 per minute")
    # API tokens a person may make on the account page (failed attempts do not count).
    API_TOKEN_LIMIT = "10 per hour"
    # Requests with an unknown or revoked token, per address: guessing tokens is slowed to a stop.
    API_AUTH_FAILURE_LIMIT = "60 per minute"
    HUEY_SQLITE_PATH = str(INSTANCE_DIR / "huey.db")
    HUEY_IMMEDIATE = False
    # Each pooling run and award solves in a child process that ends with it (services/solver_process.py).
    SOLVER_IN_CHILD_PROCESS = True
    # Payments are off unless a Stripe secret key is configured.
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE")  # a local fake Stripe in tests
    DATA_DIR = Path(__file__).resolve().parent / "data"
    # Mail (Flask-Mailman). Without MAIL_SERVER mails are kept in the local outbox (/dev/outbox), never sent.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT") or 25)
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "").lower() in ("1", "true", "yes")  # STARTTLS
    MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "").lower() in ("1", "true", "yes")  # TLS from the start
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT") or 10)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "ZEV Marketplace <noreply@marketplace.invalid>")
    MAIL_MESSAGE_ID_DOMAIN = os.environ.get("MAIL_MESSAGE_ID_DOMAIN", "marketplace.invalid")
    # The address members reach the site at: links in mails.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    SECURITY_HSTS = False
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))


class DevelopmentConfig(Config):
    DEBUG = False


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = _database_url(os.environ.get("TEST_DATABASE_URL", "sqlite://"))
    WTF_CSRF_ENABLED = False
    HUEY_IMMEDIATE = True
    SOLVER_IN_CHILD_PROCESS = False  # a fresh interpreter per solve would slow the suite; tested on its own
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast for tests; never in production
    STRIPE_SECRET_KEY = None
    STRIPE_PUBLISHABLE_KEY = None
    STRIPE_WEBHOOK_SECRET = None
    MAIL_SERVER = None  # the local outbox, unless a test starts its own SMTP server


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    SECURITY_HSTS = True  # Strict-Transport-Security on https requests (behind the TLS proxy)
    # gunicorn runs behind one TLS proxy (README): trust its X-Forwarded-For/-Proto, so login limits
    # count the client's address, not the proxy's. 0 when clients reach gunicorn directly.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "1"))
    REMEMBER_COOKIE_SECURE = True

    @classmethod
    def check(cls) -> None:
        """Refuse to start on settings that are unsafe or that cannot work on several hosts."""
        # Compare with the known default, never with Config.SECRET_KEY: that was read from this
        # same variable at import, so comparing with it refused every key (issue 13).
        key = os.environ.get("SECRET_KEY", "").strip()
        if not key:
            raise RuntimeError("SECRET_KEY is not set: production needs a random string of at least 32 characters")
        if key == DEV_SECRET_KEY:
            raise RuntimeError("SECRET_KEY is the development default: set a random string of at least 32 characters")
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise RuntimeError(
                f"SECRET_KEY is {len(key)} characters long: production needs at least {MIN_SECRET_KEY_LENGTH}"
            )
        if not os.environ.get("DATABASE_URL"):
            raise RuntimeError("DATABASE_URL is not set: production needs a PostgreSQL database")
        if not os.environ.get("REDIS_URL"):
            raise RuntimeError("REDIS_URL is not set: production runs its jobs, locks and counters on Redis")


def config_from_environment() -> type[Config]:
    env = os.environ.get("MARKETPLACE_ENV", "development")
    if env == "production":
        ProductionConfig.check()
        ProductionConfig.SECRET_KEY = os.environ["SECRET_KEY"]
        return ProductionConfig
    if env == "test":
        return TestConfig
    return DevelopmentConfig
