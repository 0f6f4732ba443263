"""Recording one repayment entered over the API, exactly as a payments file would post it.

The payment goes through the import's own posting (weiwai.portfolio.importing.payments
.post_rows): the same lock against concurrent imports, the waterfall, the account's new
balances and status, the balance history. Attribution to an agency then happens as for
every imported payment: by `attribute_payments` in the daily job `attribute_payments`
(after expiry, so that a payment after a case's period is not credited to it) or by
`weiwai payment attribute`.

A transaction id is unique: the same txn_id with the same account, amount, time and
channel is the same payment (answered again, nothing posted); with anything else it is
a conflict.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.errors import Conflict, RuleViolation
from weiwai.i18n import _
from weiwai.money import to_fen
from weiwai.payments.schemas import PaymentCreate
from weiwai.portfolio.importing import validation as v
from weiwai.portfolio.importing.payments import post_rows
from weiwai.portfolio.importing.writers import Store
from weiwai.portfolio.models import Account, Payment
from weiwai.security import audit

# Payment.source_file of payments entered over the API.
API_SOURCE = "api"


def record_payment(*, session: Session, data: PaymentCreate, actor: str) -> tuple[Payment, bool]:
    """Post one payment as an import would; (payment, False) when the same payment was posted before."""
    store = Store.for_session(session)
    # The imports' lock: one posting at a time reads and changes balances, and a txn_id
    # sent twice at once is seen by the second request once the first committed.
    store.lock()
    existing = session.execute(
        select(Payment, Account.account_no).join(Account, Account.id == Payment.account_id)
        .where(Payment.txn_id == data.txn_id)
    ).first()
    if existing is not None:
        payment, account_no = existing
        if (account_no, payment.amount, payment.paid_at, payment.channel) != (
            data.account_no, to_fen(data.amount), data.paid_at, data.channel
        ):
            raise Conflict(
                _("transaction {txn} was recorded before with other details (account {account}, amount {amount}, "
                  "paid at {paid_at}, channel {channel})").format(
                    txn=data.txn_id, account=account_no, amount=payment.amount,
                    paid_at=payment.paid_at.isoformat(), channel=payment.channel or "-"),
                code="txn_id_conflict",
            )
        return payment, False
    if session.scalar(select(Account.id).where(Account.account_no == data.account_no)) is None:
        raise RuleViolation(_("no account {account_no} in the portfolio").format(account_no=data.account_no),
                            code="unknown_account")
    rows = pl.DataFrame(
        {v.ROW: [1], "txn_id": [data.txn_id], "account_no": [data.account_no],
         "amount": [int(to_fen(data.amount) * 100)], "paid_at": [data.paid_at], "channel": [data.channel]},
        schema={v.ROW: pl.Int64, "txn_id": pl.String, "account_no": pl.String, "amount": pl.Int64,
                "paid_at": pl.Datetime("us", "UTC"), "channel": pl.String},
    )
    post_rows(store, rows, source_file=API_SOURCE, actor=actor)
    payment = session.scalars(select(Payment).where(Payment.txn_id == data.txn_id)).one()
    audit.record(session=session, actor=actor, action="payment.recorded", entity="payment", entity_id=payment.id,
                 details={"txn_id": data.txn_id, "account_no": data.account_no, "amount": str(payment.amount),
                          "paid_at": payment.paid_at.isoformat()})
    return payment, True
