"""Whose work was a payment: the attribution rules as pure functions.

A payment belongs to the case that was open with an agency at the moment it was paid
(`case`); failing that, to the account's last case when that case was handed back
(recalled, expired or returned) and the payment fell within its contract's
post-recall grace days, counted in local days and inclusive (`grace`); otherwise the
money is the lender's own (`direct`) and never earns commission.

A case is open on the half-open interval [placed_at, ended_at): a payment on the
recall day before the recall moment is `case`, at or after it `grace`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from weiwai.money import to_fen
from weiwai.payments.models import AttributionKind
from weiwai.placements.models import CaseStatus, CloseReason

# Endings after which the agency keeps a claim on payments for the grace days: the
# debtor may still be paying because of the agency's work.
HANDED_BACK_STATUSES = frozenset({CaseStatus.recalled, CaseStatus.expired, CaseStatus.returned})
HANDED_BACK_REASONS = frozenset({CloseReason.recalled, CloseReason.expired, CloseReason.returned})


@dataclass(frozen=True)
class CaseSpan:
    """What attribution needs to know about one case of the account."""

    case_id: int
    agency_id: int
    placed_at: datetime
    ended_at: datetime | None  # None while the case is open
    status: CaseStatus | str
    close_reason: CloseReason | str | None
    grace_days: int  # the contract's post_recall_grace_days

    def is_open_at(self, moment: datetime) -> bool:
        return self.placed_at <= moment and (self.ended_at is None or moment < self.ended_at)

    @property
    def handed_back(self) -> bool:
        """Ended by recall, expiry or return (not paid, settled, written off…)."""
        if CaseStatus(self.status) in HANDED_BACK_STATUSES:
            return True
        return CaseStatus(self.status) == CaseStatus.closed and self.close_reason in HANDED_BACK_REASONS


@dataclass(frozen=True)
class Decision:
    kind: AttributionKind
    case_id: int | None = None
    agency_id: int | None = None


DIRECT = Decision(AttributionKind.direct)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar day of `moment` where the debtor lives."""
    return moment.astimezone(tz).date()


def last_grace_day(case: CaseSpan, tz: ZoneInfo) -> date | None:
    """The last local day a payment still counts for the agency after the case ended."""
    if case.ended_at is None or not case.handed_back:
        return None
    return local_day(case.ended_at, tz) + timedelta(days=case.grace_days)


def attribute(*, paid_at: datetime, cases: Iterable[CaseSpan], tz: ZoneInfo) -> Decision:
    """The attribution of a payment made at `paid_at` on an account with these cases."""
    cases = list(cases)
    open_cases = [case for case in cases if case.is_open_at(paid_at)]
    if open_cases:
        # The database allows one open case per account; should history still overlap
        # (a case placed at the very moment the previous one ended), the newer one wins.
        case = max(open_cases, key=lambda c: (c.placed_at, c.case_id))
        return Decision(AttributionKind.case, case.case_id, case.agency_id)
    ended = [case for case in cases if case.ended_at is not None and case.ended_at <= paid_at]
    if not ended:
        return DIRECT
    last = max(ended, key=lambda c: (c.ended_at, c.case_id))
    grace_until = last_grace_day(last, tz)
    if grace_until is not None and local_day(paid_at, tz) <= grace_until:
        return Decision(AttributionKind.grace, last.case_id, last.agency_id)
    return DIRECT


def recovered_amount(*, amount: Decimal, applied_credit: Decimal) -> Decimal:
    """The part of a payment that reduced the debt: over-payment credit is not a recovery.

    Credit is the debtor's money held for them (refunded or used later), so it earns no
    commission and does not count towards the recovery rate.
    """
    return to_fen(amount - applied_credit)


def is_commissionable(kind: AttributionKind | str) -> bool:
    """Only the agencies' money earns commission: never direct or unattributed payments."""
    return AttributionKind(kind) in (AttributionKind.case, AttributionKind.grace)
