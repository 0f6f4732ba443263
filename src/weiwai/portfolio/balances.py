"""Applying a payment to an account's balance components, and undoing it exactly.

Pure functions over Decimal amounts to the fen. The waterfall (settings.payment_waterfall,
by default fee → penalty → interest → principal) says which component a payment pays
off first. Whatever is left once all four components are zero becomes credit on the
account instead of disappearing. An Allocation records exactly where each fen went,
so that a reversal can put every fen back where it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal

from weiwai.errors import RuleViolation
from weiwai.money import ZERO, to_fen

COMPONENTS = ("fee", "penalty", "interest", "principal")


def _check_amount(name: str, value: Decimal) -> None:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    if to_fen(value) != value:
        raise ValueError(f"{name} must be a whole number of fen")


@dataclass(frozen=True)
class Balances:
    """What an account owes, by component, plus unapplied credit from over-payments."""

    principal: Decimal
    interest: Decimal
    fee: Decimal
    penalty: Decimal
    credit: Decimal = ZERO

    def __post_init__(self) -> None:
        for item in fields(self):
            _check_amount(item.name, getattr(self, item.name))

    @property
    def total_outstanding(self) -> Decimal:
        return self.principal + self.interest + self.fee + self.penalty


@dataclass(frozen=True)
class Allocation:
    """How one payment was applied, to the fen; the components sum to the payment."""

    fee: Decimal = ZERO
    penalty: Decimal = ZERO
    interest: Decimal = ZERO
    principal: Decimal = ZERO
    credit: Decimal = ZERO

    def __post_init__(self) -> None:
        for item in fields(self):
            _check_amount(item.name, getattr(self, item.name))

    @property
    def total(self) -> Decimal:
        return self.fee + self.penalty + self.interest + self.principal + self.credit


def _waterfall(order: Sequence[str] | None) -> Sequence[str]:
    if order is None:
        from weiwai.config import get_settings

        order = get_settings().payment_waterfall
    if sorted(order) != sorted(COMPONENTS):
        raise ValueError("a waterfall lists fee, penalty, interest and principal once each")
    return order


def apply_payment(
    balances: Balances, amount: Decimal, *, waterfall: Sequence[str] | None = None
) -> tuple[Balances, Allocation]:
    """Pay `amount` into the components in waterfall order; the rest becomes credit."""
    _check_amount("amount", amount)
    remaining = amount
    paid: dict[str, Decimal] = {}
    for component in _waterfall(waterfall):
        share = min(remaining, getattr(balances, component))
        paid[component] = share
        remaining -= share
    allocation = Allocation(**paid, credit=remaining)
    after = replace(
        balances,
        **{component: getattr(balances, component) - paid[component] for component in COMPONENTS},
        credit=balances.credit + remaining,
    )
    return after, allocation


def reverse_payment(balances: Balances, allocation: Allocation) -> Balances:
    """Undo `allocation` exactly: every component gets back what the payment took from it."""
    if allocation.credit > balances.credit:
        from weiwai.i18n import _

        raise RuleViolation(
            _("the over-payment credit of this payment has already been used; it cannot be reversed exactly")
        )
    return replace(
        balances,
        **{component: getattr(balances, component) + getattr(allocation, component) for component in COMPONENTS},
        credit=balances.credit - allocation.credit,
    )


def balances_of(account) -> Balances:
    """The Balances of an Account row."""
    return Balances(
        principal=account.principal_outstanding,
        interest=account.interest_outstanding,
        fee=account.fee_outstanding,
        penalty=account.penalty_outstanding,
        credit=account.credit_balance,
    )


def store_balances(account, balances: Balances) -> None:
    """Write `balances` onto an Account row (the caller's session persists it)."""
    account.principal_outstanding = balances.principal
    account.interest_outstanding = balances.interest
    account.fee_outstanding = balances.fee
    account.penalty_outstanding = balances.penalty
    account.credit_balance = balances.credit


def allocation_of(payment) -> Allocation:
    """The Allocation recorded on a Payment row."""
    return Allocation(
        fee=payment.applied_fee,
        penalty=payment.applied_penalty,
        interest=payment.applied_interest,
        principal=payment.applied_principal,
        credit=payment.applied_credit,
    )
