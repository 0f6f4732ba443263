"""Generate the lender's payment records for part of a generated book."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from weiwai.money import to_fen

PAYMENT_COLUMNS = ["txn_id", "account_no", "amount", "paid_at", "channel"]
CHANNELS = (("bank_transfer", 45), ("alipay", 25), ("wechat_pay", 20), ("auto_debit", 10))


def generate_payments(
    accounts: list[dict[str, str]], *, seed: int, as_of: date, share: float = 0.12, days: int = 45
) -> Iterator[dict[str, str]]:
    """Payments in the `days` before `as_of` on about `share` of the accounts.

    Early-bucket accounts pay more often than deep ones; most pay part, a few in full.
    """
    rng = random.Random(seed * 7919 + 1)
    number = 0
    for row in accounts:
        dpd = (as_of - date.fromisoformat(row["due_date"])).days
        likelihood = share * (2.0 if dpd <= 30 else 1.0 if dpd <= 90 else 0.35)
        if rng.random() >= likelihood:
            continue
        owed = sum(Decimal(row[k]) for k in ("principal_outstanding", "interest_outstanding",
                                              "fee_outstanding", "penalty_outstanding"))
        instalments = rng.choice((1, 1, 1, 2, 3))
        for _ in range(instalments):
            portion = Decimal(str(rng.choice((0.05, 0.1, 0.2, 0.3, 0.5, 1.0))))
            amount = to_fen(owed * portion / instalments)
            if amount <= 0:
                continue
            number += 1
            paid_on = as_of - timedelta(days=rng.randint(1, days))
            paid_at = datetime.combine(paid_on, time(rng.randint(8, 21), rng.randint(0, 59), rng.randint(0, 59)))
            yield {
                "txn_id": f"TXN{as_of:%Y%m%d}{number:07d}",
                "account_no": row["account_no"],
                "amount": str(amount),
                "paid_at": paid_at.isoformat(sep=" "),
                "channel": rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0],
            }
