from marketplace.main.views import bp

__all__ = ["bp"]
