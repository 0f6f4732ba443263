"""Attribution of the lender's posted payments, and reversal of bounced ones.

The payments (weiwai.portfolio.models.Payment) are the lender's records and the truth;
they have already been applied to balances when they were imported, with the split kept
in Payment.applied_*. Here each one is attributed exactly once (the rules are in
weiwai.payments.attribution), and a reversal undoes precisely what the payment did:
balances from the applied_* amounts, the attribution, and any commission it earned.

Invariant (tested): Σ payments − Σ reversed payments = Σ reduction of the outstanding
balances + Σ credit added, to the fen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Contract
from weiwai.db import utcnow
from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.payments.attribution import CaseSpan, attribute, is_commissionable, recovered_amount
from weiwai.payments.models import PaymentAttribution, PaymentReversal
from weiwai.placements.lifecycle import transition_case
from weiwai.placements.models import OPEN_CASE_STATUSES, Case, CaseStatus, CloseReason
from weiwai.portfolio import balances
from weiwai.portfolio.models import (
    Account,
    AccountBalanceChange,
    AccountStatus,
    BalanceChangeSource,
    Debtor,
    Payment,
    PaymentStatus,
)
from weiwai.settlement.ledger import claw_back_payment
from weiwai.settlement.periods import lender_tz

ATTRIBUTION_ACTOR = "system:attribution"
_CHUNK = 2000


@dataclass
class AttributionSummary:
    """What one attribution run did."""

    attributed: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: {"case": 0, "grace": 0, "direct": 0})
    cases_paid: list[str] = field(default_factory=list)  # case numbers closed paid in full

    def as_dict(self) -> dict:
        return {"attributed": self.attributed, **self.by_kind, "cases_paid": len(self.cases_paid)}


# --- attribution --------------------------------------------------------------------------


def attribute_payments(
    *, session: Session, payment_ids: Sequence[int] | None = None, actor: str = ATTRIBUTION_ACTOR
) -> AttributionSummary:
    """Attribute every unattributed posted payment (or only those among `payment_ids`); idempotent."""
    summary = AttributionSummary()
    # account -> latest payment of this run that reduced its debt (else: latest payment at
    # all): the moment a case whose account now owes nothing ended.
    reduced_at: dict[int, datetime] = {}
    last_paid: dict[int, datetime] = {}
    for chunk in _unattributed(session, payment_ids):
        spans = _case_spans(session, {row.account_id for row in chunk})
        rows = []
        for payment in chunk:
            decision = attribute(paid_at=payment.paid_at, cases=spans.get(payment.account_id, ()), tz=_tz(payment))
            recovered = recovered_amount(amount=payment.amount, applied_credit=payment.applied_credit)
            rows.append({
                "payment_id": payment.id, "kind": decision.kind.value, "case_id": decision.case_id,
                "agency_id": decision.agency_id, "amount": recovered, "attributed_at": utcnow(),
            })
            summary.by_kind[decision.kind.value] += 1
            _keep_latest(last_paid, payment.account_id, payment.paid_at)
            if recovered > 0:
                _keep_latest(reduced_at, payment.account_id, payment.paid_at)
        session.execute(insert(PaymentAttribution), rows)
        summary.attributed += len(rows)
    summary.cases_paid = _close_paid_off_cases(session, {**last_paid, **reduced_at}, actor=actor)
    return summary


def _keep_latest(moments: dict[int, datetime], account_id: int, moment: datetime) -> None:
    if account_id not in moments or moment > moments[account_id]:
        moments[account_id] = moment


def _unattributed(session: Session, payment_ids: Sequence[int] | None) -> Iterator[list]:
    """Posted payments without an attribution, in chunks (keyset on id, so memory stays flat)."""
    base = (
        select(Payment.id, Payment.account_id, Payment.paid_at, Payment.amount, Payment.applied_credit,
               Debtor.time_zone)
        .join(Account, Account.id == Payment.account_id)
        .join(Debtor, Debtor.id == Account.debtor_id)
        .outerjoin(PaymentAttribution, PaymentAttribution.payment_id == Payment.id)
        .where(PaymentAttribution.id.is_(None), Payment.status == PaymentStatus.posted.value)
        .order_by(Payment.id)
    )
    if payment_ids is not None:
        wanted = sorted(set(payment_ids))
        for i in range(0, len(wanted), _CHUNK):
            chunk = session.execute(base.where(Payment.id.in_(wanted[i : i + _CHUNK]))).all()
            if chunk:
                yield chunk
        return
    last_id = 0
    while chunk := session.execute(base.where(Payment.id > last_id).limit(_CHUNK)).all():
        yield chunk
        last_id = chunk[-1].id


def _case_spans(session: Session, account_ids: set[int]) -> dict[int, list[CaseSpan]]:
    spans: dict[int, list[CaseSpan]] = {}
    rows = session.execute(
        select(Case.id, Case.account_id, Case.agency_id, Case.placed_at, Case.ended_at, Case.status,
               Case.close_reason, Contract.post_recall_grace_days)
        .join(Contract, Contract.id == Case.contract_id)
        .where(Case.account_id.in_(account_ids))
    ).all()
    for row in rows:
        spans.setdefault(row.account_id, []).append(
            CaseSpan(case_id=row.id, agency_id=row.agency_id, placed_at=row.placed_at, ended_at=row.ended_at,
                     status=row.status, close_reason=row.close_reason, grace_days=row.post_recall_grace_days or 0)
        )
    return spans


def _tz(row) -> ZoneInfo:
    """The debtor's time zone (a payment's day is the debtor's local day), else the lender's."""
    try:
        return ZoneInfo(row.time_zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return lender_tz()


def _close_paid_off_cases(session: Session, paid_moments: dict[int, datetime], *, actor: str) -> list[str]:
    """Open cases whose account now owes nothing: → paid → closed (paid in full)."""
    closed = []
    account_ids = sorted(paid_moments)
    for i in range(0, len(account_ids), _CHUNK):
        rows = session.execute(
            select(Case, Account)
            .join(Account, Account.id == Case.account_id)
            .where(Case.account_id.in_(account_ids[i : i + _CHUNK]), Case.status.in_(OPEN_CASE_STATUSES))
        ).all()
        for case, account in rows:
            if account.total_outstanding != 0:
                continue
            # The case ended when the balance reached zero, not when attribution ran.
            at = max(case.placed_at, paid_moments[account.id])
            reason = "balance paid in full"
            transition_case(session=session, case=case, to=CaseStatus.paid, actor=actor, reason=reason, at=at)
            transition_case(session=session, case=case, to=CaseStatus.closed, actor=actor, reason=reason,
                            close_reason=CloseReason.paid_in_full, at=at)
            closed.append(case.case_no)
    session.flush()
    return closed


# --- reversal -----------------------------------------------------------------------------


def reverse_payment(
    *,
    session: Session,
    txn_id: str,
    reason: str,
    actor: str,
    at: datetime | None = None,
    reference: str | None = None,
) -> PaymentReversal:
    """Undo a bounced payment exactly: balances, attribution, and commission (by clawback)."""
    at = at or utcnow()
    if at.tzinfo is None:
        raise ValueError("naive datetime given where a UTC timestamp is required")
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("a reversal needs a reason"))
    payment = session.scalar(select(Payment).where(Payment.txn_id == txn_id).with_for_update())
    if payment is None:
        raise NotFound(_("no payment with transaction id {txn}").format(txn=txn_id))
    earlier = session.scalar(select(PaymentReversal).where(PaymentReversal.payment_id == payment.id))
    if earlier is not None or payment.status == PaymentStatus.reversed:
        when = _local_text(earlier.reversed_at) if earlier is not None else "?"
        raise Conflict(
            _("payment {txn} was already reversed ({when}); a payment can be reversed only once").format(
                txn=txn_id, when=when
            )
        )
    if at < payment.paid_at:
        raise RuleViolation(
            _("a reversal cannot come before the payment it reverses (paid at {paid_at})").format(
                paid_at=_local_text(payment.paid_at)
            )
        )
    account = session.get(Account, payment.account_id, with_for_update=True)
    _restore_balance(session, account=account, payment=payment, actor=actor, at=at)
    payment.status = PaymentStatus.reversed
    reversal = PaymentReversal(
        payment_id=payment.id, reversed_at=at, reason=reason, reference=reference, recorded_by=actor
    )
    session.add(reversal)
    attribution = session.scalar(select(PaymentAttribution).where(PaymentAttribution.payment_id == payment.id))
    if attribution is not None:
        attribution.reversed_at = at
        if is_commissionable(attribution.kind):
            claw_back_payment(session=session, payment_id=payment.id, case_id=attribution.case_id, at=at)
    # A case closed paid in full stays closed: operations decide whether to place the
    # account again (a new case), rather than the system silently re-opening old work.
    session.flush()
    return reversal


def _local_text(moment: datetime) -> str:
    return moment.astimezone(lender_tz()).strftime("%Y-%m-%d %H:%M:%S")


def _restore_balance(session: Session, *, account: Account, payment: Payment, actor: str, at: datetime) -> None:
    """Put back exactly what the payment took off each component, and take back its credit."""
    allocation = balances.allocation_of(payment)
    balances.store_balances(account, balances.reverse_payment(balances.balances_of(account), allocation))
    restored = allocation.total - allocation.credit
    if account.status == AccountStatus.paid_off and account.total_outstanding > 0:
        account.status = AccountStatus.open
    session.add(
        AccountBalanceChange(
            account_id=account.id,
            source=BalanceChangeSource.reversal,
            reference=payment.txn_id,
            principal_outstanding=account.principal_outstanding,
            interest_outstanding=account.interest_outstanding,
            fee_outstanding=account.fee_outstanding,
            penalty_outstanding=account.penalty_outstanding,
            due_date=account.due_date,
            delta_total=restored,
            changed_at=at,
            changed_by=actor,
        )
    )
