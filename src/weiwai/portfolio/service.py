"""Reading the portfolio: debtors (masked unless revealed, and every reveal audited),
accounts as of a date, filtered pages of accounts, and an account's history.

Days past due follow one rule on both paths: only an open account with something
outstanding is past due. `account_days_past_due` is the rule for one account in Python;
`account_dpd_sql` is the same rule in SQL, used to filter and group the whole book.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from weiwai.clock import today_local
from weiwai.config import get_settings
from weiwai.errors import NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.money import FEN, ZERO, to_fen
from weiwai.portfolio import identity, personal_data
from weiwai.portfolio.delinquency import CURRENT, bucket_of, bucket_sql, days_past_due, dpd_sql
from weiwai.portfolio.models import (
    Account,
    AccountBalanceChange,
    AccountStatus,
    Debtor,
    DebtorContact,
    DebtorPhone,
    Payment,
)
from weiwai.portfolio.schemas import (
    AccountFilters,
    AccountHistory,
    AccountPage,
    AccountRead,
    BalanceChangeRead,
    ContactRead,
    DebtorRead,
    PaymentRead,
    PhoneRead,
)
from weiwai.security import audit
from weiwai.security.rate_limits import check_reveal_rate

MAX_PAGE_SIZE = 200
DEBTOR_FLAGS = ("deceased", "bankrupt", "in_litigation", "disputed", "cease_contact", "vulnerable")


def today() -> date:
    """Today's date in the lender's time zone (the default `as_of`)."""
    return today_local()


def bucket_labels() -> list[str]:
    """Every bucket label, current (M0) first, in the configured order."""
    return [CURRENT, *(band.label for band in get_settings().buckets)]


# --- the delinquency rule, in Python and in SQL -------------------------------------


def account_days_past_due(account: Account, as_of: date) -> int:
    """Days past due of one account as of a date (0 unless open with a balance)."""
    outstanding = account.total_outstanding if account.status == AccountStatus.open else ZERO
    return days_past_due(due_date=account.due_date, as_of=as_of, outstanding=outstanding)


def _fen(column, dialect_name: str) -> ColumnElement[int]:
    if dialect_name == "sqlite":
        return cast(func.round(column * 100), BigInteger)
    return column * 100


def outstanding_fen_sql(dialect_name: str) -> ColumnElement[int]:
    """An account's total outstanding in whole fen, exact on every backend.

    PostgreSQL's NUMERIC adds exactly. SQLite keeps NUMERIC values with a fraction as
    binary floating point, so adding and summing them drifts: there each component is
    rounded to integer fen first.
    """
    if dialect_name != "sqlite":
        total = (
            Account.principal_outstanding
            + Account.interest_outstanding
            + Account.fee_outstanding
            + Account.penalty_outstanding
        )
        return total * 100
    return (
        _fen(Account.principal_outstanding, dialect_name)
        + _fen(Account.interest_outstanding, dialect_name)
        + _fen(Account.fee_outstanding, dialect_name)
        + _fen(Account.penalty_outstanding, dialect_name)
    )


def principal_fen_sql(dialect_name: str) -> ColumnElement[int]:
    """An account's outstanding principal in whole fen."""
    return _fen(Account.principal_outstanding, dialect_name)


def fen_to_money(fen: int | Decimal | None) -> Decimal:
    """Whole fen (as summed by the database) back to a Decimal amount."""
    return to_fen(Decimal(fen or 0) * FEN)


def owes_sql() -> ColumnElement[bool]:
    """Something is outstanding. Components are never negative, so any one above zero will do.

    Plain comparisons rather than a sum: cheap on a large book, and exact on SQLite's
    floating-point NUMERIC.
    """
    return or_(
        Account.principal_outstanding > 0,
        Account.interest_outstanding > 0,
        Account.fee_outstanding > 0,
        Account.penalty_outstanding > 0,
    )


def delinquent_sql(status, owes) -> ColumnElement[bool]:
    """Open with something outstanding: the only accounts that can be past due."""
    return and_(status == AccountStatus.open.value, owes)


def dpd_when(delinquent, due_date, as_of: date, dialect_name: str) -> ColumnElement[int]:
    """Days past due from a delinquency condition and a due-date column (of any query)."""
    return case((delinquent, dpd_sql(due_date, as_of, dialect_name)), else_=0)


def bucket_when(delinquent, due_date, as_of: date, dialect_name: str) -> ColumnElement[str]:
    """The bucket label from a delinquency condition and a due-date column (of any query)."""
    bands = get_settings().buckets
    # Not bucket_sql(dpd_when(...)): the bands would repeat the delinquency test once per
    # band edge. Deciding it once outside leaves only the cheap date difference inside.
    return case((delinquent, bucket_sql(dpd_sql(due_date, as_of, dialect_name), bands)), else_=bucket_of(0, bands))


def account_dpd_sql(as_of: date, dialect_name: str) -> ColumnElement[int]:
    """Days past due of each account in SQL, with the same rule as `account_days_past_due`."""
    return dpd_when(delinquent_sql(Account.status, owes_sql()), Account.due_date, as_of, dialect_name)


def account_bucket_sql(as_of: date, dialect_name: str) -> ColumnElement[str]:
    """The bucket of each account in SQL, with the same rule as `bucket_of(account_days_past_due(...))`."""
    return bucket_when(delinquent_sql(Account.status, owes_sql()), Account.due_date, as_of, dialect_name)


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


# --- debtors ------------------------------------------------------------------------


def get_debtor(
    *, session: Session, debtor_id: int, reveal: bool = False, actor: str, reason: str | None = None
) -> DebtorRead:
    """A debtor with personal data masked; reveal=True needs a reason and is audited."""
    reason = (reason or "").strip()
    if reveal and not reason:
        raise RuleViolation(_("a reason is required to reveal personal data"), code="reason_required")
    debtor = session.get(Debtor, debtor_id, options=[selectinload(Debtor.phones), selectinload(Debtor.contacts)])
    if debtor is None:
        raise NotFound(_("debtor {id} not found").format(id=debtor_id))
    if reveal:
        # Per-person limit on reveals (settings.reveal_limit_per_window): RateLimited, audited.
        check_reveal_rate(session=session, actor=actor, action="reveal", entity="debtor", entity_id=debtor.id)
    read = _debtor_read(session, debtor, reveal=reveal)
    if reveal:
        audit.record(
            session=session,
            actor=actor,
            action="reveal",
            entity="debtor",
            entity_id=debtor.id,
            details={"fields": _revealed_fields(debtor), "reason": reason},
        )
        # Written now, so that a failure to record stops the reveal instead of following it.
        session.flush()
    return read


def find_debtor_by_national_id(*, session: Session, national_id: str) -> DebtorRead | None:
    """The debtor with exactly this national ID (masked), found by its blind index."""
    try:
        normalised = identity.normalise_national_id(national_id)
    except ValueError as exc:
        raise RuleViolation(_(str(exc)), code="invalid_national_id") from None
    index = personal_data.national_id_index(normalised)
    debtor = session.scalar(select(Debtor).where(Debtor.national_id_bidx == index))
    return None if debtor is None else _debtor_read(session, debtor, reveal=False)


def find_debtors_by_phone(*, session: Session, phone: str) -> list[DebtorRead]:
    """Debtors (masked) who have this number as their own phone or a contact's, by blind index."""
    try:
        normalised = identity.normalise_mobile(phone)
    except ValueError as exc:
        raise RuleViolation(_(str(exc)), code="invalid_phone") from None
    index = personal_data.phone_index(normalised)
    own = select(DebtorPhone.debtor_id).where(DebtorPhone.phone_bidx == index)
    as_contact = select(DebtorContact.debtor_id).where(DebtorContact.phone_bidx == index)
    debtors = session.scalars(
        select(Debtor).where(Debtor.id.in_(own.union(as_contact))).order_by(Debtor.id)
    ).all()
    return [_debtor_read(session, debtor, reveal=False) for debtor in debtors]


def _debtor_read(session: Session, debtor: Debtor, *, reveal: bool) -> DebtorRead:
    def opened(envelope: bytes, context: str) -> str:
        return personal_data.open_value(envelope, context, reveal=reveal)

    account_nos = session.scalars(
        select(Account.account_no).where(Account.debtor_id == debtor.id).order_by(Account.account_no)
    ).all()
    return DebtorRead(
        id=debtor.id,
        name=debtor.name,
        national_id=opened(debtor.national_id_enc, personal_data.NATIONAL_ID),
        address=opened(debtor.address_enc, personal_data.ADDRESS) if debtor.address_enc else None,
        region=debtor.region,
        time_zone=debtor.time_zone,
        credit_grade=debtor.credit_grade,
        flags=[flag for flag in DEBTOR_FLAGS if getattr(debtor, flag)],
        phones=[
            PhoneRead(number=opened(p.phone_enc, personal_data.DEBTOR_PHONE), is_primary=p.is_primary)
            for p in debtor.phones
        ],
        contacts=[
            ContactRead(name=c.name, relation=c.relation, phone=opened(c.phone_enc, personal_data.CONTACT_PHONE))
            for c in debtor.contacts
        ],
        account_nos=list(account_nos),
        revealed=reveal,
    )


def _revealed_fields(debtor: Debtor) -> list[str]:
    fields = ["national_id"]
    if debtor.address_enc:
        fields.append("address")
    if debtor.phones:
        fields.append("phones")
    if debtor.contacts:
        fields.append("contact_phones")
    return fields


# --- accounts -----------------------------------------------------------------------


def get_account(*, session: Session, account_no: str, as_of: date) -> AccountRead:
    """One account with days past due, bucket and total outstanding as of a date."""
    row = session.execute(
        select(Account, Debtor).join(Debtor, Account.debtor_id == Debtor.id).where(Account.account_no == account_no)
    ).first()
    if row is None:
        raise NotFound(_("account {account_no} not found").format(account_no=account_no))
    return account_read(row.Account, row.Debtor, as_of)


def list_accounts(
    *, session: Session, as_of: date, filters: AccountFilters | None = None, offset: int = 0, limit: int = 50
) -> AccountPage:
    """A page of accounts matching the filters (most days past due first) and the total count."""
    filters = filters or AccountFilters()
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise RuleViolation(_("limit must be between 1 and {max}").format(max=MAX_PAGE_SIZE), code="invalid_limit")
    if offset < 0:
        raise RuleViolation(_("offset must not be negative"), code="invalid_offset")
    dialect = dialect_of(session)
    conditions, needs_debtor = _account_conditions(filters, as_of, dialect)

    def matching(query):
        if needs_debtor:
            query = query.join(Debtor, Account.debtor_id == Debtor.id)
        return query.where(*conditions)

    total = session.scalar(matching(select(func.count()).select_from(Account))) or 0
    # The page is chosen on the accounts table alone, and only its rows are then joined to
    # their debtors: sorting a million joined rows to keep fifty costs several times more.
    page_ids = session.scalars(
        matching(select(Account.id))
        .order_by(account_dpd_sql(as_of, dialect).desc(), Account.account_no)
        .offset(offset)
        .limit(limit)
    ).all()
    rows = session.execute(
        select(Account, Debtor).join(Debtor, Account.debtor_id == Debtor.id).where(Account.id.in_(page_ids))
    ).all()
    position = {account_id: index for index, account_id in enumerate(page_ids)}
    rows = sorted(rows, key=lambda row: position[row.Account.id])
    items = [account_read(row.Account, row.Debtor, as_of) for row in rows]
    return AccountPage(items=items, total=total, offset=offset, limit=limit)


def _account_conditions(filters: AccountFilters, as_of: date, dialect: str) -> tuple[list, bool]:
    """SQL conditions for the filters, and whether they need the debtors table."""
    conditions: list = []
    if filters.bucket is not None:
        if filters.bucket not in bucket_labels():
            raise RuleViolation(
                _("unknown bucket {bucket}; use one of {buckets}").format(
                    bucket=filters.bucket, buckets=", ".join(bucket_labels())
                ),
                code="unknown_bucket",
            )
        conditions.append(account_bucket_sql(as_of, dialect) == filters.bucket)
    if filters.min_dpd is not None or filters.max_dpd is not None:
        dpd = account_dpd_sql(as_of, dialect)
        if filters.min_dpd is not None:
            conditions.append(dpd >= filters.min_dpd)
        if filters.max_dpd is not None:
            conditions.append(dpd <= filters.max_dpd)
    if filters.min_balance is not None:
        conditions.append(outstanding_fen_sql(dialect) >= int(to_fen(filters.min_balance) * 100))
    if filters.max_balance is not None:
        conditions.append(outstanding_fen_sql(dialect) <= int(to_fen(filters.max_balance) * 100))
    if filters.status is not None:
        conditions.append(Account.status == filters.status.value)
    if filters.product is not None:
        conditions.append(Account.product == filters.product)
    needs_debtor = False
    if filters.credit_grade is not None:
        conditions.append(Debtor.credit_grade == filters.credit_grade)
        needs_debtor = True
    if filters.region is not None:
        conditions.append(Debtor.region == filters.region)
        needs_debtor = True
    return conditions, needs_debtor


def account_read(account: Account, debtor: Debtor, as_of: date) -> AccountRead:
    """The read model of an account as of a date."""
    dpd = account_days_past_due(account, as_of)
    return AccountRead(
        account_no=account.account_no,
        debtor_id=debtor.id,
        debtor_name=debtor.name,
        region=debtor.region,
        credit_grade=debtor.credit_grade,
        product=account.product,
        currency=account.currency,
        status=AccountStatus(account.status),
        original_amount=account.original_amount,
        principal_outstanding=account.principal_outstanding,
        interest_outstanding=account.interest_outstanding,
        fee_outstanding=account.fee_outstanding,
        penalty_outstanding=account.penalty_outstanding,
        total_outstanding=to_fen(account.total_outstanding),
        credit_balance=account.credit_balance,
        due_date=account.due_date,
        last_payment_date=account.last_payment_date,
        overdue_reason=account.overdue_reason,
        as_of=as_of,
        days_past_due=dpd,
        bucket=bucket_of(dpd, get_settings().buckets),
    )


def account_history(*, session: Session, account_no: str) -> AccountHistory:
    """Balance changes and payments of an account, newest first."""
    account_id = session.scalar(select(Account.id).where(Account.account_no == account_no))
    if account_id is None:
        raise NotFound(_("account {account_no} not found").format(account_no=account_no))
    changes = session.scalars(
        select(AccountBalanceChange)
        .where(AccountBalanceChange.account_id == account_id)
        .order_by(AccountBalanceChange.changed_at.desc(), AccountBalanceChange.id.desc())
    ).all()
    payments = session.scalars(
        select(Payment).where(Payment.account_id == account_id).order_by(Payment.paid_at.desc(), Payment.id.desc())
    ).all()
    return AccountHistory(
        account_no=account_no,
        changes=[_balance_change_read(change) for change in changes],
        payments=[PaymentRead.model_validate(payment) for payment in payments],
    )


def _balance_change_read(change: AccountBalanceChange) -> BalanceChangeRead:
    total = (
        change.principal_outstanding + change.interest_outstanding + change.fee_outstanding + change.penalty_outstanding
    )
    return BalanceChangeRead(
        source=change.source,
        reference=change.reference,
        principal_outstanding=change.principal_outstanding,
        interest_outstanding=change.interest_outstanding,
        fee_outstanding=change.fee_outstanding,
        penalty_outstanding=change.penalty_outstanding,
        total_outstanding=to_fen(total),
        delta_total=change.delta_total,
        due_date=change.due_date,
        changed_at=change.changed_at,
        changed_by=change.changed_by,
    )
