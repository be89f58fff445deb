from marketplace.oem import quarter_views  # noqa: F401  (its routes join the blueprint)
from marketplace.oem.views import bp

__all__ = ["bp"]
