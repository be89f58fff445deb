from marketplace.contracting.views import bp

__all__ = ["bp"]
