from marketplace.coordinator import market_views  # noqa: F401  (its routes join the blueprint)
from marketplace.coordinator.views import bp

__all__ = ["bp"]
