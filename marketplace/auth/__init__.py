from marketplace.auth.views import bp

__all__ = ["bp"]
