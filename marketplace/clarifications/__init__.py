"""Questions about a round (clarifications): members ask, the coordinator answers for everyone."""

from marketplace.clarifications.views import bp

__all__ = ["bp"]
