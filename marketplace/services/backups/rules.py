"""What the backup modules share: the phases a promotion happens in and the states it reads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marketplace.models import ConfirmationStatus, RoundPhase

CS = ConfirmationStatus
PROMOTION_PHASES = (RoundPhase.AWARDED, RoundPhase.CONTRACTING)
HELD = (CS.PENDING, CS.CONFIRMED)  # a winner's allocations a withdrawal takes back


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
