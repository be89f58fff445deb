from marketplace.coordinator.views import bp

__all__ = ["bp"]
