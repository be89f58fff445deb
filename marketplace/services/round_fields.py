"""The numbers a coordinator sets on a round: label, bounds, decimals and default, defined once.

The coordinator's form (coordinator/forms.py) and the JSON API (api/coordinator.py) both build
their fields from these, so a value the form refuses the API refuses too, with the same words;
the cross-field rules (maximum lot at least the minimum, deadlines in order...) stay in
services/rounds.py, which both call.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from marketplace.services.values import MONEY_MAX, QUANTITY_MAX


@dataclass(frozen=True)
class Number:
    label: str
    minimum: Decimal
    maximum: Decimal
    default: Decimal
    places: int = 0  # decimals allowed; 0 is a whole number

    @property
    def whole(self) -> bool:
        return self.places == 0

    def problem(self, number: Decimal) -> str | None:
        """What is wrong with a number read for this field (None when it fits), as the form says it."""
        if number.as_tuple().exponent < -self.places:  # type: ignore[operator]
            if self.whole:
                return "Must be a whole number."
            return f"At most {self.places} decimal{'s' if self.places != 1 else ''}."
        if not self.minimum <= number <= self.maximum:
            return f"Must be between {self.minimum:,} and {self.maximum:,}."
        return None


def _n(label: str, minimum: int | str, maximum: int | str | Decimal, default: int | str, places: int = 0) -> Number:
    return Number(label, Decimal(minimum), Decimal(maximum), Decimal(default), places)


NUMBERS: dict[str, Number] = {
    "confirmation_period_days": _n("Confirmation period (days)", 1, 365, 14),
    "min_lot_quantity": _n("Minimum lot size (vehicles)", 1, QUANTITY_MAX, 20),
    "max_lot_quantity": _n("Maximum lot size (vehicles)", 1, QUANTITY_MAX, 400),
    "max_levels_up": _n("Region levels a line may pool up", 0, 3, 2),
    "max_winners_per_lot": _n("Maximum winners per lot", 1, 20, 2),
    "max_share_percent": _n("Maximum share of one supplier in a lot (%)", 1, 100, 100, places=1),
    # The currency's minor unit (no cents in JPY) is checked by the service, which knows the chosen currency.
    "deposit_per_vehicle": _n("Deposit per vehicle", 0, MONEY_MAX - Decimal("0.01"), 0, places=2),
    "decline_forfeit_percent": _n("Deposit forfeited on a declined allocation (%)", 0, 100, 100, places=1),
    "withdrawal_forfeit_percent": _n("Deposit forfeited on a withdrawn committed line (%)", 0, 100, 0, places=1),
}
