"""Reading screening candidates from the database in one query.

On PostgreSQL the query is streamed with COPY … TO STDOUT (CSV) straight into polars, so
a million accounts never become a million Python objects; on SQLite (small books, tests)
the same query runs through SQLAlchemy. Money comes back as whole fen, each component
rounded first, so sums are exact on both backends.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import polars as pl
from sqlalchemy import ARRAY, BigInteger, Integer, Select, and_, any_, case, cast, func, literal, or_, select, union
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from weiwai.compliance.models import OPEN_COMPLAINT_STATUSES, Complaint
from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.placements.common import money_of, start_of_local_day
from weiwai.placements.models import OPEN_CASE_STATUSES, Case, CaseStatus, CloseReason, InHouseHold
from weiwai.placements.screening import Candidate
from weiwai.placements.screening_frame import CANDIDATE_SCHEMA, empty_candidates
from weiwai.portfolio.models import Account, AccountStatus, Debtor

FLAG_COLUMNS = ("deceased", "bankrupt", "in_litigation", "disputed", "cease_contact", "vulnerable")
FACT_COLUMNS = ("open_complaint", "held", "placed")


def _fen(column):
    return cast(func.round(column * 100), BigInteger)


def _as_int(condition):
    return case((condition, 1), else_=0)


def candidate_select(as_of: date) -> Select:
    """Every column screening needs, one row per account (no filter, no order).

    Facts about cases, complaints and holds come from outer joins on de-duplicated
    subqueries rather than IN (subquery) in the select list: PostgreSQL hashes the latter
    only while it fits in work_mem, and otherwise probes it once per account.
    """
    open_statuses = [status.value for status in OPEN_CASE_STATUSES]
    complaint_open = Complaint.status.in_([status.value for status in OPEN_COMPLAINT_STATUSES])
    placed = select(Case.account_id).where(Case.status.in_(open_statuses)).distinct().subquery("placed")
    complained_accounts = union(
        select(Complaint.account_id.label("account_id")).where(complaint_open, Complaint.account_id.is_not(None)),
        select(Case.account_id.label("account_id")).join(Complaint, Complaint.case_id == Case.id).where(complaint_open),
    ).subquery("complained_accounts")
    complained_debtors = (
        select(Complaint.debtor_id).where(complaint_open, Complaint.debtor_id.is_not(None)).distinct()
        .subquery("complained_debtors")
    )
    held = (
        select(InHouseHold.account_id)
        .where(InHouseHold.lifted_at.is_(None), or_(InHouseHold.until.is_(None), InHouseHold.until >= as_of))
        .distinct().subquery("held")
    )
    outstanding = (
        _fen(Account.principal_outstanding) + _fen(Account.interest_outstanding)
        + _fen(Account.fee_outstanding) + _fen(Account.penalty_outstanding)
    )
    return (
        select(
            Account.id.label("account_id"),
            Account.status,
            Account.product,
            Account.due_date,
            outstanding.label("outstanding_fen"),
            _fen(Account.principal_outstanding).label("principal_fen"),
            Debtor.region,
            Debtor.credit_grade,
            *(cast(getattr(Debtor, flag), Integer).label(flag) for flag in FLAG_COLUMNS),
            _as_int(or_(complained_accounts.c.account_id.is_not(None), complained_debtors.c.debtor_id.is_not(None)))
            .label("open_complaint"),
            _as_int(held.c.account_id.is_not(None)).label("held"),
            _as_int(placed.c.account_id.is_not(None)).label("placed"),
        )
        .select_from(Account)
        .join(Debtor, Debtor.id == Account.debtor_id)
        .outerjoin(placed, placed.c.account_id == Account.id)
        .outerjoin(complained_accounts, complained_accounts.c.account_id == Account.id)
        .outerjoin(complained_debtors, complained_debtors.c.debtor_id == Account.debtor_id)
        .outerjoin(held, held.c.account_id == Account.id)
    )


def fetch_candidates(*, session: Session, as_of: date, account_ids: pl.Series | None = None) -> pl.DataFrame:
    """Every open account (or only those of `account_ids`) as a candidate frame, by account id."""
    query = candidate_select(as_of).where(Account.status == AccountStatus.open.value)
    if session.get_bind().dialect.name == "postgresql":
        if account_ids is not None:
            # One array constant, not a bound list: PostgreSQL hashes it, whatever its length.
            ids = "{" + ",".join(str(i) for i in account_ids.to_list()) + "}"
            query = query.where(Account.id == any_(cast(literal(ids), ARRAY(Integer))))
        frame = _copy_out(session, query)
    else:
        rows = session.execute(query).all()
        frame = pl.DataFrame([tuple(row) for row in rows], schema=_raw_schema(), orient="row") if rows else None
        if frame is not None and account_ids is not None:
            frame = frame.filter(pl.col("account_id").is_in(account_ids.implode()))
    if frame is None or frame.height == 0:
        return empty_candidates()
    return _typed(frame).sort("account_id")


def fetch_candidate(*, session: Session, account_no: str, as_of: date) -> tuple[int, Candidate]:
    """One account (open or not) as a candidate, with its id."""
    row = session.execute(
        candidate_select(as_of).add_columns(Account.account_no).where(Account.account_no == account_no.strip())
    ).mappings().first()
    if row is None:
        raise NotFound(_("no account {account_no}").format(account_no=account_no))
    candidate = Candidate(
        account_no=row["account_no"],
        status=str(row["status"]),
        product=row["product"],
        due_date=row["due_date"],
        outstanding=money_of(row["outstanding_fen"]),
        region=row["region"],
        credit_grade=row["credit_grade"],
        **{flag: bool(row[flag]) for flag in FLAG_COLUMNS + FACT_COLUMNS},
    )
    return row["account_id"], candidate


def returned_within(*, session: Session, as_of: date, days: int, account_ids: list[int] | None = None) -> pl.DataFrame:
    """(account_id, agency_id, ended_at) of returns in the cooling-off window before as_of.

    The return day counts as day 1: with 30 days, an account returned on 1 March is kept
    from that agency up to and including 30 March.
    """
    schema = {"account_id": pl.Int64(), "agency_id": pl.Int64()}
    if days <= 0:
        return pl.DataFrame(schema=schema)
    since = start_of_local_day(as_of - timedelta(days=days - 1))
    returned = or_(
        Case.status == CaseStatus.returned.value,
        and_(Case.status == CaseStatus.closed.value, Case.close_reason == CloseReason.returned.value),
    )
    query = select(Case.account_id, Case.agency_id).where(returned, Case.ended_at >= since).distinct()
    if account_ids is not None:
        query = query.where(Case.account_id.in_(account_ids))
    rows = session.execute(query).all()
    return pl.DataFrame([tuple(row) for row in rows], schema=schema, orient="row")



def _raw_schema() -> dict[str, pl.DataType]:
    """The query's columns as they arrive: flags as 0/1 integers."""
    return {
        name: pl.Int8() if dtype == pl.Boolean() else dtype
        for name, dtype in CANDIDATE_SCHEMA.items()
    }


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    flags = [name for name, dtype in CANDIDATE_SCHEMA.items() if dtype == pl.Boolean()]
    return frame.with_columns(pl.col(flags).cast(pl.Boolean)).select(list(CANDIDATE_SCHEMA))


def _copy_out(session: Session, query: Select) -> pl.DataFrame:
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    buffer = io.BytesIO()
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
        for chunk in copy:
            buffer.write(chunk)
    if buffer.tell() == 0:
        return pl.DataFrame(schema=_raw_schema())
    buffer.seek(0)
    return pl.read_csv(buffer, has_header=False, schema=_raw_schema())
