"""The device compliance score of a client: one rule, read by the live figure
(``selectors.device_score_for``) and by the daily history (``DeviceScoreDay``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class DeviceScore:
    """A client's device compliance: of the (device, rule) pairs the verify pass
    evaluated, how many comply; unknown and stale pairs count against it."""

    compliant: int
    evaluated: int

    @property
    def percent(self) -> Decimal | None:
        """The compliant share in percent with one decimal; None when nothing was
        evaluated (no device in any rule's scope yet)."""
        if not self.evaluated:
            return None
        return (Decimal(100 * self.compliant) / self.evaluated).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
