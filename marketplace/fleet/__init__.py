from marketplace.fleet.views import bp

__all__ = ["bp"]
