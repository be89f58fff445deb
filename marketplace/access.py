"""Role gating of pages: log-in and the organization's role, before a view calls a service.

Who may see or change which object is decided in one place, `marketplace.services.access`,
with the actor passed in; views pass `current_user`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, render_template
from flask_login import current_user, login_required

from marketplace.models import OrganizationKind
from marketplace.services import access as policy

F = TypeVar("F", bound=Callable[..., Any])


def role_required(*kinds: OrganizationKind) -> Callable[[F], F]:
    """Log-in required, and the user's organization must be of one of these kinds (else 403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.kind not in kinds:
                abort(403)
            org = current_user.organization
            if not org.approved:
                # A new fleet or OEM sees where its application stands, and nothing else (the services
                # refuse its actions too: services.access.require_approved).
                return render_template("auth/awaiting.html", org=org, message=policy.awaiting_message(org)), 403
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


coordinator_required = role_required(OrganizationKind.COORDINATOR)
fleet_required = role_required(OrganizationKind.FLEET)
oem_required = role_required(OrganizationKind.OEM)
