"""Notice pages: the user's own notices, the mail preference, and the developer outbox."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import InputRequired

from marketplace.access import coordinator_required
from marketplace.models import Notice, NotifyMode, OutboxMail
from marketplace.notifications import mail, service
from marketplace.pagination import kept_state, paginate

bp = Blueprint("notices", __name__)


class PreferenceForm(FlaskForm):
    notify_mode = RadioField(
        "Mail me notices",
        choices=[(m.value, m.label) for m in NotifyMode],
        validators=[InputRequired(message="Choose how you want notices by mail.")],
    )


@bp.get("/notices")
@login_required
def index():
    listing = paginate(
        service.notices_query(current_user).order_by(None),
        sorts={"newest": [Notice.created_at, Notice.id]},
        default="newest",
        descending=True,
        per_page=25,
    )
    return render_template("notices/index.html", listing=listing, unread=service.unread_count(current_user))


@bp.post("/notices/<int:notice_id>/open")
@login_required
def open_notice(notice_id: int):
    notice = service.open_notice(current_user, notice_id)
    return redirect(notice.link or url_for("notices.index"))


@bp.post("/notices/read")
@login_required
def read_all():
    count = service.mark_all_read(current_user)
    flash(f"Marked {count:,} notice{'s' if count != 1 else ''} as read.", "success")
    return redirect(url_for("notices.index", **kept_state("", ())))  # the page of notices the user was on


@bp.route("/notices/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    form = PreferenceForm(data={"notify_mode": current_user.notify_mode})
    if form.validate_on_submit():
        service.set_mode(current_user, NotifyMode(form.notify_mode.data))
        flash("Saved how you get notices by mail.", "success")
        return redirect(url_for("notices.preferences"))
    status = 400 if form.is_submitted() else 200
    return render_template("notices/preferences.html", form=form), status


@bp.get("/dev/outbox")
@coordinator_required
def outbox():
    """Mails kept instead of sent (no MAIL_SERVER): for developers running `make run`. Not there with SMTP."""
    if mail.smtp_configured():
        abort(404)
    listing = paginate(
        sa.select(OutboxMail),
        sorts={"newest": [OutboxMail.created_at, OutboxMail.id]},
        default="newest",
        descending=True,
        per_page=25,
    )
    return render_template("notices/outbox.html", listing=listing)
