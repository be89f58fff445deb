"""Progress reports a solve sends to its caller (the web app's progress bar, the CLI's --verbose)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    phase: str  # what the solver is doing now, e.g. "greedy", "max-vehicles", "min-lots"
    elapsed: float  # seconds since the call started
    quantity: int  # vehicles pooled / awarded in the best solution known so far
    quantity_bound: int  # proven upper bound on vehicles
    price: float | None = None  # award only: total price of the best award known
    price_bound: float | None = None  # award only: proven lower bound on that price
    lots: int | None = None  # pooling only: lots in the best pooling known

    def fraction(self) -> float:
        """How far the primary objective is from its bound, for a progress bar (0..1)."""
        if self.quantity_bound <= 0:
            return 1.0
        return min(1.0, self.quantity / self.quantity_bound)


ProgressCallback = Callable[[Progress], None]
