"""Log in, log out, and self-registration of fleets and OEMs."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from limits import parse as parse_limit

from marketplace.auth.forms import LoginForm, ProfileForm, RegistrationForm
from marketplace.extensions import db, limiter, login_manager
from marketplace.models import User
from marketplace.services import accounts
from marketplace.services.errors import ValidationFailed
from marketplace.views_common import apply_field_errors

bp = Blueprint("auth", __name__)

REGISTERED = (
    "Thank you. If this email had no account yet, your organization is registered: log in with this email "
    "and password. If it already had one, nothing changed: log in with your existing password."
)

login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to see this page."
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never redirect a fresh login to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _window(config_key: str) -> str:
    minutes = max(1, round(parse_limit(current_app.config[config_key]).get_expiry() / 60))
    return f"{minutes} minutes"


def _too_many(whom: str, config_key: str) -> str:
    return (
        f"Too many failed logins {whom}. For your security, logging in is paused: wait {_window(config_key)} "
        "and try again. If you forgot your password, ask your coalition's coordinator."
    )


def _too_many_registrations() -> str:
    return (
        f"Too many registrations from your network address: wait {_window('REGISTER_LIMIT_PER_ADDRESS')} and try again."
    )


def _login_failed(response) -> bool:
    return response.status_code == 401


def _account_key() -> str:
    """The account a login attempt is for: the email as typed, normalised."""
    return "account:" + accounts.normalise_email(request.form.get("email", ""))


# Guessing passwords: failed logins (401) are counted per account and per address; past either limit
# the login answers 429 (errors.py) until the window ends, even with the right password.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_login_failed,
    error_message=lambda: _too_many("for this account", "LOGIN_LIMIT_PER_ACCOUNT"),
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=_login_failed,
    error_message=lambda: _too_many("from your network address", "LOGIN_LIMIT_PER_ADDRESS"),
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            flash("Wrong email or password.", "danger")
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        return redirect(_safe_next(request.args.get("next")) or url_for("main.dashboard"))
    return render_template("auth/login.html", form=form), (400 if form.errors else 200)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("main.landing"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["REGISTER_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    error_message=_too_many_registrations,
)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = RegistrationForm()
    form.country.choices = [("", "Choose…"), *accounts.country_choices()]
    if form.validate_on_submit():
        try:
            accounts.register_organization(
                org_name=form.org_name.data or "",
                kind=form.kind.data or "",
                country=form.country.data or "",
                user_name=form.user_name.data or "",
                email=form.email.data or "",
                password=form.password.data or "",
            )
        except ValidationFailed as exc:
            apply_field_errors(form, exc)
        else:
            # The same answer whether the email was new (user) or already had an account (None).
            flash(REGISTERED, "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form), (400 if form.errors else 200)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ProfileForm(obj=current_user)
    form.time_zone.choices = [(z, z.replace("_", " ")) for z in accounts.time_zones()]
    if form.validate_on_submit():
        try:
            accounts.update_profile(current_user, name=form.name.data or "", time_zone=form.time_zone.data or "")
        except ValidationFailed as exc:
            apply_field_errors(form, exc)
        else:
            flash("Your settings are saved. Deadlines are now shown in " + current_user.time_zone + ".", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form), (400 if form.errors else 200)
