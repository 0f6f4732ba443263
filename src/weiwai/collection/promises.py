"""Whether a promise to pay was kept, as a pure function of the payments by local day.

Payments count from the day of the promise through its due date, both inclusive. A
promise is judged only once its due date has passed (as_of after due_on): until then
the debtor may still pay, and it is pending.
  kept        paid at least the amount by the due date
  partly_kept paid something, less than the amount
  broken      paid nothing
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from weiwai.collection.models import PromiseStatus
from weiwai.money import ZERO, to_fen


def evaluate_promise(
    amount: Decimal,
    due_on: date,
    payments_by_day: Mapping[date, Decimal],
    as_of: date,
    *,
    promised_on: date | None = None,
) -> tuple[PromiseStatus, Decimal]:
    """(status, amount paid in the promise's window so far) as of the day `as_of`."""
    last_day = min(due_on, as_of)
    paid = to_fen(sum(
        (value for day, value in payments_by_day.items()
         if day <= last_day and (promised_on is None or day >= promised_on)),
        ZERO,
    ))
    if as_of <= due_on:
        return PromiseStatus.pending, paid
    if paid >= amount:
        return PromiseStatus.kept, paid
    if paid > 0:
        return PromiseStatus.partly_kept, paid
    return PromiseStatus.broken, paid
