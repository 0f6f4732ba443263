"""The lender's own retention: erase the personal data of debtors whose relationship ended long ago.

The period is data in the compliance pack (`data_retention_years`: CN 5 years, CN-09).
A debtor is purged when, as of the cutoff (`run_for` minus the period):

- they have at least one account, and every account is closed, paid off or written off
  with nothing outstanding;
- no case of theirs is open, and none was placed or ended after the cutoff;
- no payment, balance change, account change or collection action is newer than the cutoff;
- they were not purged before (national ID blind index `purged:<id>`).

Purging erases the sealed values (national ID, address, own phones, contacts' phones)
and the contacts' names, and replaces the debtor's name by a pseudonym; amounts,
accounts, payments and case history stay for the books. Everything is set-based
(UPDATE … WHERE id IN (SELECT …)), idempotent, and recorded (retention_purges + audit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import String, cast, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session

from weiwai.clock import default_zone
from weiwai.collection.models import CollectionAction
from weiwai.compliance.pack_schema import load_pack
from weiwai.config import get_settings
from weiwai.errors import RuleViolation
from weiwai.i18n import _
from weiwai.placements.models import OPEN_CASE_STATUSES, Case
from weiwai.portfolio import personal_data
from weiwai.portfolio.models import (
    Account,
    AccountBalanceChange,
    AccountStatus,
    Debtor,
    DebtorContact,
    DebtorPhone,
    Payment,
)
from weiwai.privacy.models import RetentionPurge
from weiwai.security import audit

PURGED_PREFIX = "purged:"
PSEUDONYM_PREFIX = "已清除#"
ENDED_ACCOUNT_STATUSES = (AccountStatus.closed, AccountStatus.paid_off, AccountStatus.written_off)


@dataclass(frozen=True)
class PurgeResult:
    run_for: date
    retention_years: int
    cutoff: date
    eligible: int
    purged: int
    dry_run: bool


def retention_years() -> int:
    """The configured pack's retention period; RuleViolation if the pack sets none."""
    pack = load_pack(get_settings().compliance_pack)
    if pack.data_retention_years is None:
        raise RuleViolation(_("compliance pack {pack} sets no data_retention_years").format(pack=pack.label))
    return pack.data_retention_years


def cutoff_of(run_for: date, years: int) -> date:
    try:
        return run_for.replace(year=run_for.year - years)
    except ValueError:  # 29 February
        return run_for.replace(year=run_for.year - years, day=28)


def eligible_debtor_ids(cutoff: date):
    """SELECT of the ids of debtors to purge as of `cutoff` (see the module docstring)."""
    since = datetime.combine(cutoff, time(0), tzinfo=default_zone()).astimezone(UTC)
    accounts_of = Account.debtor_id == Debtor.id
    outstanding = (Account.principal_outstanding + Account.interest_outstanding + Account.fee_outstanding
                   + Account.penalty_outstanding)
    live_account = exists().where(accounts_of, or_(
        Account.status.not_in([s.value for s in ENDED_ACCOUNT_STATUSES]), outstanding > 0,
        Account.updated_at >= since, Account.last_payment_date >= cutoff))
    recent_case = exists().where(Case.account_id == Account.id, accounts_of, or_(
        Case.status.in_([str(s) for s in OPEN_CASE_STATUSES]), Case.placed_at >= since,
        Case.ended_at.is_(None), Case.ended_at >= since))
    recent_payment = exists().where(Payment.account_id == Account.id, accounts_of, Payment.paid_at >= since)
    recent_balance = exists().where(AccountBalanceChange.account_id == Account.id, accounts_of,
                                    AccountBalanceChange.changed_at >= since)
    recent_action = exists().where(CollectionAction.account_id == Account.id, accounts_of,
                                   CollectionAction.occurred_at >= since)
    return select(Debtor.id).where(
        exists().where(accounts_of),
        Debtor.created_at < since,
        ~Debtor.national_id_bidx.startswith(PURGED_PREFIX, autoescape=True),
        ~live_account, ~recent_case, ~recent_payment, ~recent_balance, ~recent_action,
    )


def purge(*, session: Session, run_for: date, actor: str, dry_run: bool = False) -> PurgeResult:
    """Erase the personal data of every eligible debtor (or only count them, dry run)."""
    years = retention_years()
    cutoff = cutoff_of(run_for, years)
    eligible = eligible_debtor_ids(cutoff)
    count = session.scalar(select(func.count()).select_from(eligible.subquery())) or 0
    if dry_run or count == 0:
        if not dry_run:
            _record(session, run_for, years, cutoff, 0, actor)
        return PurgeResult(run_for, years, cutoff, count, 0, dry_run)
    # The same erased envelope for every row: it decrypts to "" (masked "", nothing to reveal).
    erased_phone = personal_data.seal("", personal_data.DEBTOR_PHONE)
    erased_contact_phone = personal_data.seal("", personal_data.CONTACT_PHONE)
    erased_national_id = personal_data.seal("", personal_data.NATIONAL_ID)
    ids = eligible.scalar_subquery()
    # Phones and contacts first: the debtors' own update below is what marks them purged.
    session.execute(update(DebtorPhone).where(DebtorPhone.debtor_id.in_(ids))
                    .values(phone_enc=erased_phone,
                            phone_bidx=literal(PURGED_PREFIX).concat(cast(DebtorPhone.id, String)))
                    .execution_options(synchronize_session=False))
    session.execute(update(DebtorContact).where(DebtorContact.debtor_id.in_(ids))
                    .values(phone_enc=erased_contact_phone, name=literal("-"),
                            phone_bidx=literal(PURGED_PREFIX).concat(cast(DebtorContact.id, String)))
                    .execution_options(synchronize_session=False))
    result = session.execute(
        update(Debtor).where(Debtor.id.in_(ids))
        .values(national_id_enc=erased_national_id, address_enc=None,
                national_id_bidx=literal(PURGED_PREFIX).concat(cast(Debtor.id, String)),
                name=literal(PSEUDONYM_PREFIX).concat(cast(Debtor.id, String)))
        .execution_options(synchronize_session=False))
    purged = max(result.rowcount or 0, 0)
    _record(session, run_for, years, cutoff, purged, actor)
    return PurgeResult(run_for, years, cutoff, count, purged, False)


def _record(session: Session, run_for: date, years: int, cutoff: date, purged: int, actor: str) -> None:
    run = RetentionPurge(run_for=run_for, retention_years=years, cutoff=cutoff, debtors_purged=purged, run_by=actor)
    session.add(run)
    session.flush()
    audit.record(session=session, actor=actor, action="retention.purged", entity="retention_purge", entity_id=run.id,
                 details={"run_for": run_for.isoformat(), "retention_years": years, "cutoff": cutoff.isoformat(),
                          "debtors_purged": purged})


def is_purged(debtor: Debtor) -> bool:
    return debtor.national_id_bidx.startswith(PURGED_PREFIX)



