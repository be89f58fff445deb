"""Notifications: in-app notices with an unread count, and mail (Flask-Mailman) sent by jobs after the commit.

Domain events (services.events) reach them through marketplace.handlers, which queues the jobs.

recipients.py  who is entitled to which notice (pure functions)
service.py     events -> notices (unique per event and user), wording, reminders, digests, sending
mail.py        SMTP or the local outbox
views.py       /notices, preferences, the developer outbox page
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.notifications import mail, views

    mail.init_app(app)
    app.register_blueprint(views.bp)

    @app.context_processor
    def unread_notices() -> dict[str, object]:
        from flask_login import current_user

        def count() -> int:
            if not current_user.is_authenticated:
                return 0
            from marketplace.notifications import service

            return service.unread_count(current_user)

        return {"unread_notices": count}
