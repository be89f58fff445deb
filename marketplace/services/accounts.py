"""Organizations and users: registration, coordinators, logging in."""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.extensions import db
from marketplace.models import Approval, DemandLine, Organization, OrganizationKind, Region, Round, RoundPhase, User
from marketplace.services import access, audit, events
from marketplace.services.errors import Conflict, NotFound, ValidationFailed

MIN_PASSWORD_LENGTH = 10
SELF_REGISTERING_KINDS = (OrganizationKind.FLEET, OrganizationKind.OEM)


def normalise_email(email: str) -> str:
    return email.strip().lower()


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of leaked lists, as zxcvbn ships them (ranked; lower case)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, email: str = "", org_name: str = "") -> str | None:
    """Why this password may not be used, in the words shown under the field, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    if lowered in common_passwords():
        return "This password is one of the most common ones, tried first by anyone guessing: choose another."
    local = normalise_email(email).split("@", 1)[0]
    if len(local) >= 3 and local in lowered:
        return "The password must not contain your email address."
    name = "".join(ch for ch in org_name.lower() if ch.isalnum())
    if len(name) >= 3 and name in "".join(ch for ch in lowered if ch.isalnum()):
        return "The password must not contain your organization's name."
    return None


def _email_taken(email: str) -> bool:
    return db.session.execute(sa.select(User.id).where(User.email == normalise_email(email))).first() is not None


def _check_new_user(email: str, password: str, errors: dict[str, str], org_name: str = "") -> None:
    """For accounts a coordinator creates: a coordinator may be told that an email is taken."""
    if _email_taken(email):
        errors["email"] = "An account with this email already exists: log in instead."
    if problem := password_problem(password, email=email, org_name=org_name):
        errors["password"] = problem


def register_organization(
    *, org_name: str, kind: OrganizationKind | str, country: str, user_name: str, email: str, password: str
) -> User | None:
    """A fleet or an OEM registers itself with its first user. Coordinators never self-register.

    None when the email already has an account: nothing is saved, and the view answers as it does for
    a new registration, so the form cannot be used to find out who has an account.
    """
    kind = OrganizationKind(kind)
    errors: dict[str, str] = {}
    if kind not in SELF_REGISTERING_KINDS:
        errors["kind"] = "Only fleets and OEMs can register; coordinators are created by a coordinator."
    org_name = org_name.strip()
    if not org_name:
        errors["org_name"] = "Give the organization's name."
    elif db.session.execute(sa.select(Organization.id).where(Organization.name == org_name)).first():
        errors["org_name"] = "An organization with this name is already registered."
    country_row = db.session.get(Region, country)
    if country_row is None or country_row.level != "country":
        errors["country"] = "Choose a country from the list."
    if not user_name.strip():
        errors["user_name"] = "Give your name."
    if problem := password_problem(password, email=email, org_name=org_name):
        errors["password"] = problem
    if errors:
        raise ValidationFailed("Registration could not be completed: fix the fields marked below.", field_errors=errors)
    password_hash = _hash(password)  # done either way, so a taken email costs the same time
    if _email_taken(email):
        # Anyone may type any email here: whether it has an account is not theirs to learn. Nothing is
        # saved and the caller answers exactly as for a new registration.
        db.session.rollback()
        return None
    org = Organization(name=org_name, kind=kind, country=country, approval=Approval.PENDING)
    user = User(email=normalise_email(email), name=user_name.strip(), organization=org, password_hash=password_hash)
    db.session.add_all([org, user])
    db.session.flush()
    audit.record(
        user, "organization.register", org, summary=f"{kind.label} “{org_name}” registered; awaiting approval."
    )
    events.record(events.OrganizationRegistered(org.id))
    db.session.commit()
    return user


def create_coordinator(
    *, actor: User | None, email: str, name: str, password: str, org_name: str | None = None
) -> User:
    """A coordinator adds a colleague (actor given), or the CLI creates one (actor None)."""
    if actor is not None:
        access.require_coordinator(actor, "Only a coordinator can create coordinator accounts.")
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Give the person's name."
    coalition = actor.organization.name if actor is not None else (org_name or "Fleet Electrification Coalition")
    _check_new_user(email, password, errors, org_name=coalition)
    if errors:
        raise ValidationFailed("The account could not be created: fix the fields marked below.", field_errors=errors)
    org: Organization | None
    if actor is not None:
        org = actor.organization
    else:
        org_name = org_name or "Fleet Electrification Coalition"
        org = db.session.execute(sa.select(Organization).where(Organization.name == org_name)).scalar_one_or_none()
        if org is None:
            org = Organization(name=org_name, kind=OrganizationKind.COORDINATOR, country="US")
            db.session.add(org)
        elif org.kind is not OrganizationKind.COORDINATOR:
            raise ValidationFailed(f"“{org_name}” is not a coordinator organization.")
    user = User(email=normalise_email(email), name=name.strip(), organization=org)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", user, summary=f"Coordinator account {user.email} created.")
    db.session.commit()
    return user


def _hash_method() -> str | None:
    return current_app.config.get("PASSWORD_HASH_METHOD")


def _hash(password: str) -> str:
    method = _hash_method()
    return generate_password_hash(password, method=method) if method else generate_password_hash(password)


@cache
def _unknown_user_hash(method: str | None) -> str:
    """A hash of a random password, made like a real one: checking it costs what checking a user's costs."""
    import secrets

    return (
        generate_password_hash(secrets.token_urlsafe(16), method=method)
        if method
        else generate_password_hash(secrets.token_urlsafe(16))
    )


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (the caller says nothing more, on purpose).

    An unknown email costs the same password-hash check as a known one, so the answer's timing does
    not tell whether an account exists.
    """
    user = db.session.execute(sa.select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    stored = user.password_hash if user is not None else _unknown_user_hash(_hash_method())
    matches = check_password_hash(stored, password)
    if user is None or not user.active or not matches:
        return None
    return user


def country_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(sa.select(Region).where(Region.level == "country").order_by(Region.name)).scalars()
    return [(r.id, r.name) for r in rows]


@cache
def time_zones() -> list[str]:
    """IANA zones people pick from (Area/City), and UTC."""
    from zoneinfo import available_timezones

    return [*sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))), "UTC"]


def update_profile(actor: User, *, name: str, time_zone: str) -> User:
    """A user's own name and the time zone deadlines are shown in."""
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Give your name."
    if time_zone not in time_zones():
        errors["time_zone"] = "Choose a time zone from the list."
    if errors:
        raise ValidationFailed("Your settings were not saved: fix the fields marked below.", field_errors=errors)
    before = {"name": actor.name, "time_zone": actor.time_zone}
    actor.name = name.strip()
    actor.time_zone = time_zone
    after = {"name": actor.name, "time_zone": actor.time_zone}
    if before != after:
        audit.record(actor, "user.update", actor, summary="Updated personal settings.", before=before, after=after)
    db.session.commit()
    return actor


def set_number_format(actor: User, value: str) -> Organization:
    """How the actor's organization types numbers (1,234.56 or 1.234,56); every form and upload reads by it."""
    from marketplace.services.values import NumberFormat, default_number_format, number_format_of

    choices = {f.value for f in NumberFormat}
    if value not in choices:
        raise ValidationFailed(
            "The number format was not saved.", field_errors={"number_format": "Choose 1,234.56 or 1.234,56."}
        )
    org = actor.organization
    before = number_format_of(actor).value
    # The country's usual format is stored as None, so it keeps following the country's default.
    org.number_format = None if value == default_number_format(org.country).value else value
    if before != value:
        audit.record(
            actor,
            "organization.number_format",
            org,
            summary=f"Numbers are now read as {NumberFormat(value).label}.",
            before={"number_format": before},
            after={"number_format": value},
        )
    db.session.commit()
    return org


def end_sessions(user: User) -> None:
    """Logging out ends the session on the server: a copy of the cookie no longer works."""
    user.end_sessions()
    db.session.commit()


def change_password(actor: User, *, current: str, new: str) -> User:
    """A user changes their password: every other session of theirs ends (the caller logs this one in again)."""
    errors: dict[str, str] = {}
    if not check_password_hash(actor.password_hash, current):
        errors["current"] = "This is not your current password."
    elif problem := password_problem(new, email=actor.email, org_name=actor.organization.name):
        errors["new"] = problem
    elif new == current:
        errors["new"] = "Choose a password different from the current one."
    if errors:
        raise ValidationFailed("Your password was not changed: fix the fields marked below.", field_errors=errors)
    actor.password_hash = _hash(new)
    actor.end_sessions()
    audit.record(actor, "user.password", actor, summary="Changed the password; every other session was ended.")
    db.session.commit()
    return actor


def all_organizations() -> list[Organization]:
    """Every organization, by kind then name (the coordinators' list)."""
    return list(db.session.execute(sa.select(Organization).order_by(Organization.kind, Organization.name)).scalars())


def landing_figures() -> dict[str, int]:
    """The landing page's four figures, in one statement (the most visited page)."""
    fleets, oems, open_rounds, vehicles = db.session.execute(_LANDING_FIGURES).one()
    return {"fleets": fleets, "oems": oems, "open_rounds": open_rounds, "vehicles": int(vehicles)}


_LANDING_FIGURES = sa.select(
    sa.select(sa.func.count(Organization.id)).where(Organization.kind == OrganizationKind.FLEET).scalar_subquery(),
    sa.select(sa.func.count(Organization.id)).where(Organization.kind == OrganizationKind.OEM).scalar_subquery(),
    sa.select(sa.func.count(Round.id)).where(Round.phase == RoundPhase.DEMAND_OPEN).scalar_subquery(),
    sa.select(sa.func.coalesce(sa.func.sum(DemandLine.quantity), 0)).scalar_subquery(),
)


def user_of_session(user_id: int) -> User | None:
    """A session's user with its organization (every page reads its kind, name and approval)."""
    return db.session.get(User, user_id, options=[joinedload(User.organization)])


def pending_organizations() -> list[Organization]:
    return list(
        db.session.execute(
            sa.select(Organization).where(Organization.approval == Approval.PENDING).order_by(Organization.created_at)
        ).scalars()
    )


def decide_organization(actor: User, org_id: int, *, approve: bool) -> Organization:
    """A coordinator approves or rejects a self-registered organization (audited)."""
    access.require_coordinator(actor, "Only a coordinator can approve organizations.")
    org = db.session.execute(
        sa.select(Organization).where(Organization.id == org_id).with_for_update()
    ).scalar_one_or_none()
    if org is None:
        raise NotFound("No such organization.")
    if org.approval is not Approval.PENDING:
        raise Conflict(f"“{org.name}” is already {org.approval.label}.")
    org.approval = Approval.APPROVED if approve else Approval.REJECTED
    action = "organization.approve" if approve else "organization.reject"
    audit.record(
        actor,
        action,
        org,
        summary=f"{org.kind.label} “{org.name}” {org.approval.label}.",
        before={"approval": "pending"},
        after={"approval": org.approval.value},
    )
    events.record(events.OrganizationDecided(org.id, approve, actor.id))
    db.session.commit()
    return org
