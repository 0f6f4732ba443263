"""What an agency earns under a fee schedule. Pure and exact: Decimal in, Decimal out.

The commission rate of a case is the rate of the bucket it was in at placement plus the
bonus of the highest recovery tier its recovery rate reached (tiers do not add up).
Commission is rounded once, to the fen, on the amount it applies to. A negative amount
(a reversed payment) gives the exact negative of the commission on the positive amount,
because rounding half up is symmetric around zero.
"""

from __future__ import annotations

from decimal import Decimal

from weiwai.agencies.contract_schemas import FeeSchedule
from weiwai.errors import RuleViolation
from weiwai.i18n import _
from weiwai.money import ZERO, to_fen


def commission_rate(schedule: FeeSchedule, *, bucket: str, recovery_rate: Decimal) -> Decimal:
    """Bucket rate at placement plus the bonus of the highest tier `recovery_rate` reached."""
    _require_decimal(recovery_rate, "recovery_rate")
    if recovery_rate < 0:
        raise RuleViolation(_("recovery rate cannot be negative ({value})").format(value=recovery_rate))
    try:
        rate = schedule.rates_by_bucket[bucket]
    except KeyError:
        raise RuleViolation(
            _("no commission rate for bucket {bucket} in this fee schedule (it has: {known})").format(
                bucket=bucket, known=", ".join(schedule.rates_by_bucket)
            )
        ) from None
    bonus = Decimal(0)
    for tier in schedule.recovery_tiers:  # ascending, as validated by FeeSchedule
        if recovery_rate >= tier.min_recovery_rate:
            bonus = tier.bonus_rate
    return rate + bonus


def commission_on(schedule: FeeSchedule, *, bucket: str, recovered: Decimal, recovery_rate: Decimal) -> Decimal:
    """Commission on `recovered` at the case's rate, rounded half up to the fen."""
    _require_decimal(recovered, "recovered")
    return to_fen(recovered * commission_rate(schedule, bucket=bucket, recovery_rate=recovery_rate))


def fixed_fees(schedule: FeeSchedule, *, closed_cases: int) -> Decimal:
    """The fixed fee for `closed_cases` closed cases (0.00 when the schedule has none)."""
    if isinstance(closed_cases, bool) or not isinstance(closed_cases, int):
        raise TypeError("closed_cases must be an int")
    if closed_cases < 0:
        raise RuleViolation(_("number of closed cases cannot be negative ({value})").format(value=closed_cases))
    if schedule.fixed_fee_per_closed_case is None:
        return ZERO
    return to_fen(schedule.fixed_fee_per_closed_case * closed_cases)


def _require_decimal(value: object, name: str) -> None:
    # A float here would already have lost the exact amount; refuse rather than guess.
    if not isinstance(value, Decimal | int) or isinstance(value, bool):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
