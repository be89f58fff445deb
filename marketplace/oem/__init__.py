from marketplace.oem.views import bp

__all__ = ["bp"]
