"""Log in, log out, and self-registration of fleets and OEMs."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from limits import parse as parse_limit

from marketplace.auth.forms import (
    ApiTokenForm,
    LoginForm,
    NumberFormatForm,
    PasswordForm,
    ProfileForm,
    RegistrationForm,
)
from marketplace.extensions import limiter, login_manager
from marketplace.models import User
from marketplace.services import accounts, api_tokens
from marketplace.services.errors import ValidationFailed
from marketplace.services.values import default_number_format, number_format_of
from marketplace.views_common import apply_field_errors

bp = Blueprint("auth", __name__)

REGISTERED = (
    "Thank you. If this email had no account yet, your organization is registered and waits for a coordinator's "
    "approval: log in with this email and password to follow it. If it already had one, nothing changed: log in "
    "with your existing password."
)

login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to see this page."
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a session id "<user id>.<session version>" (User.get_id), if that session is still on."""
    user_id, _, version = session_id.partition(".")
    if not (user_id.isdigit() and version.isdigit()):
        return None  # a cookie from before session versions, or forged
    # With its organization: every page reads its kind, name and approval.
    user = accounts.user_of_session(int(user_id))
    if user is None or user.session_version != int(version):
        return None  # logged out (or the password changed) since this cookie was issued
    return user


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
    accounts.end_sessions(current_user)
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
    return _account_page(form), (400 if form.errors else 200)


def _number_format_form(form: NumberFormatForm | None = None) -> NumberFormatForm:
    form = form or NumberFormatForm(formdata=None)
    if form.number_format.data is None:
        form.number_format.data = number_format_of(current_user).value
    return form


def _account_page(
    form: ProfileForm,
    number_form: NumberFormatForm | None = None,
    password_form: PasswordForm | None = None,
    token_form: ApiTokenForm | None = None,
    new_token: str | None = None,
) -> str:
    return render_template(
        "auth/account.html",
        form=form,
        password_form=password_form or PasswordForm(formdata=None),
        number_form=_number_format_form(number_form),
        country_format=default_number_format(current_user.organization.country),
        token_form=token_form or ApiTokenForm(formdata=None),
        api_tokens=api_tokens.tokens_of(current_user),
        new_token=new_token,
    )


def _profile_form() -> ProfileForm:
    profile = ProfileForm(obj=current_user, formdata=None)
    profile.time_zone.choices = [(z, z.replace("_", " ")) for z in accounts.time_zones()]
    return profile


def _token_maker() -> str:
    return "api-token-maker:" + (current_user.get_id() or request.remote_addr or "")


def _too_many_tokens() -> str:
    return (
        f"You made {current_app.config['API_TOKEN_LIMIT'].replace(' per ', ' API tokens per ')} already: "
        "wait a while, or revoke and reuse an existing token."
    )


# A stolen session must not mint tokens without end: only tokens actually made (201) count, per person.
@bp.post("/account/api-tokens")
@login_required
@limiter.limit(
    lambda: current_app.config["API_TOKEN_LIMIT"],
    key_func=_token_maker,
    deduct_when=lambda response: response.status_code == 201,
    error_message=_too_many_tokens,
)
def create_api_token():
    """An organization API token for its own systems: shown on this page once, then only its first characters."""
    token_form = ApiTokenForm()
    if token_form.validate_on_submit():
        try:
            made = api_tokens.create_token(
                current_user, name=token_form.name.data or "", scope=token_form.scope.data or ""
            )
        except ValidationFailed as exc:
            apply_field_errors(token_form, exc)
        else:
            return _account_page(_profile_form(), new_token=made.secret), 201
    return _account_page(_profile_form(), token_form=token_form), 400


@bp.post("/account/api-tokens/<int:token_id>/revoke")
@login_required
def revoke_api_token(token_id: int):
    token = api_tokens.revoke_token(token_id, current_user)
    flash(f"The API token “{token.name}” is revoked: requests with it now answer 401.", "success")
    return redirect(url_for("auth.account") + "#api-tokens")


@bp.post("/account/number-format")
@login_required
def number_format():
    """The organization's number format: every form and upload of its people reads numbers by it."""
    number_form = NumberFormatForm()
    if number_form.validate_on_submit():
        try:
            accounts.set_number_format(current_user, number_form.number_format.data or "")
        except ValidationFailed as exc:
            apply_field_errors(number_form, exc)
        else:
            fmt = number_format_of(current_user)
            flash(f"Numbers typed by {current_user.organization.name} are now read as {fmt.label}.", "success")
            return redirect(url_for("auth.account"))
    form = ProfileForm(obj=current_user, formdata=None)
    form.time_zone.choices = [(z, z.replace("_", " ")) for z in accounts.time_zones()]
    return _account_page(form, number_form), 400


@bp.post("/account/password")
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.change_password(
                current_user._get_current_object(),  # the User itself: login_user must not keep the proxy
                current=form.current.data or "",
                new=form.new.data or "",
            )
        except ValidationFailed as exc:
            apply_field_errors(form, exc)
        else:
            login_user(user)  # this browser stays logged in under the new session version; others are out
            flash("Your password is changed. Every other session of yours has been logged out.", "success")
            return redirect(url_for("auth.account"))
    profile = ProfileForm(obj=current_user)
    profile.time_zone.choices = [(z, z.replace("_", " ")) for z in accounts.time_zones()]
    return _account_page(profile, password_form=form), 400
