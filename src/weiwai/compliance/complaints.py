"""Complaints from debtors, the lender and regulators: intake, deadlines, lifecycle.

A complaint names a case (which links agency, collector, account and debtor), or an
account (and through it the open case, if any), or only an agency. It must be answered
by `respond_by`: the day it was received (lender's time zone) plus
`settings.complaint_response_days[source]` (regulator 5, lender 10, debtor 15). Open and
investigating complaints past that day are overdue.

Lifecycle (an explicit table; anything else is IllegalTransition, every step a
ComplaintEvent):

    open ──► investigating ──► resolved
      │            │    └────► rejected
      ├────────────┼─────────► resolved / rejected
    resolved / rejected ──► open (reopened; a note is required)

Resolving or rejecting needs an `outcome`. While a complaint holds contact
(`holds_contact`, set at intake or when investigation starts) the debtor carries a
ContactHold of kind `complaint`; resolving or rejecting lifts it, reopening puts it back.
Recording a complaint about an agency evaluates the agency's thresholds
(weiwai.compliance.thresholds).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency
from weiwai.clock import local_day, today_local
from weiwai.compliance.complaint_schemas import (
    ComplaintCreate,
    ComplaintEventRead,
    ComplaintRead,
    ComplaintTransition,
)
from weiwai.compliance.models import (
    OPEN_COMPLAINT_STATUSES,
    Complaint,
    ComplaintEvent,
    ComplaintSource,
    ComplaintStatus,
    ContactHold,
    HoldKind,
)
from weiwai.config import get_settings
from weiwai.db import utcnow
from weiwai.errors import Conflict, IllegalTransition, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements.models import OPEN_CASE_STATUSES, Case
from weiwai.portfolio.models import Account

S = ComplaintStatus
TRANSITIONS: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    S.open: frozenset({S.investigating, S.resolved, S.rejected}),
    S.investigating: frozenset({S.resolved, S.rejected}),
    S.resolved: frozenset({S.open}),
    S.rejected: frozenset({S.open}),
}
CLOSED = frozenset({S.resolved, S.rejected})


def check_transition(current: ComplaintStatus, to: ComplaintStatus) -> None:
    allowed = TRANSITIONS[ComplaintStatus(current)]
    if ComplaintStatus(to) not in allowed:
        message = _("a complaint cannot go from {from_status} to {to_status} (allowed: {allowed})")
        raise IllegalTransition(message.format(from_status=current, to_status=to,
                                               allowed=", ".join(sorted(allowed)) or "-"))


def response_days(source: ComplaintSource | str) -> int:
    days = get_settings().complaint_response_days
    return int(days.get(str(source), days.get("debtor", 15)))


def respond_by(source: ComplaintSource | str, received_at: datetime) -> date:
    """The last day to answer a complaint received at `received_at`."""
    return local_day(received_at) + timedelta(days=response_days(source))


def _next_complaint_no(session: Session, day: date) -> str:
    prefix = f"CP{day:%Y%m%d}-"
    last = session.scalar(select(func.max(Complaint.complaint_no)).where(Complaint.complaint_no.like(prefix + "%")))
    number = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{number:04d}"


def record_complaint(*, session: Session, data: ComplaintCreate, actor: str, today: date | None = None) -> Complaint:
    """Record a complaint, linked through its case or account; hold contact if asked; evaluate
    the agency's thresholds."""
    from weiwai.compliance.thresholds import evaluate_thresholds

    today = today or today_local()
    if local_day(data.received_at) > today:
        raise RuleViolation(_("a complaint cannot be received in the future"), code="complaint_in_future")
    case = account = None
    agency_id = data.agency_id
    if data.case_no:
        case = session.scalar(select(Case).where(Case.case_no == data.case_no))
        if case is None:
            raise NotFound(_("no case {ref}").format(ref=data.case_no))
        account = session.get(Account, case.account_id)
        if data.account_no and account.account_no != data.account_no:
            raise RuleViolation(_("case {case_no} is not of account {account_no}").format(
                case_no=case.case_no, account_no=data.account_no), code="case_account_mismatch")
    elif data.account_no:
        account = session.scalar(select(Account).where(Account.account_no == data.account_no))
        if account is None:
            raise NotFound(_("no account {ref}").format(ref=data.account_no))
        if agency_id is None:
            case = session.scalars(select(Case).where(
                Case.account_id == account.id, Case.status.in_([s.value for s in OPEN_CASE_STATUSES])
            ).order_by(Case.id.desc())).first()
    if case is not None:
        agency_id = case.agency_id
    if agency_id is not None and session.get(Agency, agency_id) is None:
        raise NotFound(_("no agency {ref}").format(ref=agency_id))
    if data.holds_contact and account is None:
        raise RuleViolation(_("holding contact needs a case or an account (whose debtor to hold)"),
                            code="hold_needs_debtor")
    complaint = Complaint(
        complaint_no=_next_complaint_no(session, local_day(utcnow())),
        source=data.source.value, account_id=account.id if account else None,
        debtor_id=account.debtor_id if account else None, agency_id=agency_id,
        case_id=case.id if case else None, collector_user_id=case.collector_user_id if case else None,
        category=data.category, summary=data.summary, received_at=data.received_at,
        respond_by=respond_by(data.source, data.received_at), status=S.open.value, severity=data.severity.value,
        holds_contact=data.holds_contact, recorded_by=actor,
    )
    session.add(complaint)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(_("another complaint took number {ref} at the same moment; try again").format(
            ref=complaint.complaint_no), code="complaint_no_taken") from None
    session.add(ComplaintEvent(complaint_id=complaint.id, from_status=None, to_status=S.open.value,
                               note=_("received from {source}").format(source=data.source.value), changed_by=actor))
    if data.holds_contact:
        _hold(session, complaint, actor)
    session.flush()
    if agency_id is not None:
        evaluate_thresholds(session=session, agency_id=agency_id, as_of=today, actor=actor)
    return complaint


def transition_complaint(*, session: Session, complaint: Complaint, data: ComplaintTransition, actor: str) -> Complaint:
    """Move a complaint along its lifecycle (see the module's table), with an event."""
    current = ComplaintStatus(complaint.status)
    check_transition(current, data.to)
    if data.to in CLOSED and not data.outcome:
        raise RuleViolation(_("resolving or rejecting a complaint needs an outcome"), code="outcome_required")
    if data.to == S.open and not data.note:
        raise RuleViolation(_("reopening a complaint needs a note saying why"), code="note_required")
    if data.hold_contact is not None and data.to != S.investigating:
        raise RuleViolation(_("contact can be held only when investigation starts"), code="hold_not_here")
    if data.hold_contact and complaint.debtor_id is None:
        raise RuleViolation(_("holding contact needs a case or an account (whose debtor to hold)"),
                            code="hold_needs_debtor")
    now = utcnow()
    complaint.status = data.to.value
    if data.to in CLOSED:
        complaint.outcome = data.outcome
        complaint.closed_at = now
        _lift_holds(session, complaint, actor, now)
    else:
        if current in CLOSED:
            complaint.closed_at = None
        if data.hold_contact is not None:
            complaint.holds_contact = data.hold_contact
        if complaint.holds_contact:
            _hold(session, complaint, actor)
        else:
            _lift_holds(session, complaint, actor, now)
    note = data.note
    if data.to in CLOSED:
        note = f"{data.note}\n{data.outcome}" if data.note else data.outcome
    session.add(ComplaintEvent(complaint_id=complaint.id, from_status=current.value, to_status=data.to.value,
                               note=note, changed_by=actor, changed_at=now))
    session.flush()
    return complaint


def _hold(session: Session, complaint: Complaint, actor: str) -> ContactHold:
    """The complaint's live contact hold on the debtor, set if there is none."""
    live = _live_holds(session, complaint)
    if live:
        return live[0]
    hold = ContactHold(debtor_id=complaint.debtor_id, account_id=None, kind=HoldKind.complaint.value, channels=[],
                       reason=_("complaint {ref} under investigation").format(ref=complaint.complaint_no),
                       complaint_id=complaint.id, set_by=actor)
    session.add(hold)
    session.flush()
    return hold


def _live_holds(session: Session, complaint: Complaint) -> list[ContactHold]:
    return list(session.scalars(select(ContactHold).where(
        ContactHold.complaint_id == complaint.id, ContactHold.lifted_at.is_(None))))


def _lift_holds(session: Session, complaint: Complaint, actor: str, at: datetime) -> None:
    for hold in _live_holds(session, complaint):
        hold.lifted_at, hold.lifted_by = at, actor
        hold.lift_reason = _("complaint {ref} {status}").format(ref=complaint.complaint_no, status=complaint.status)


# --- reading ------------------------------------------------------------------------------------


def get_complaint(*, session: Session, complaint_no: str, condition: ColumnElement[bool] | None = None,
                  lock: bool = False) -> Complaint:
    """The complaint by number, if `condition` (the caller's scope) admits it; NotFound alike."""
    query = select(Complaint).where(Complaint.complaint_no == complaint_no.strip(),
                                    condition if condition is not None else true())
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    complaint = session.scalars(query).first()
    if complaint is None:
        raise NotFound(_("no complaint {ref}").format(ref=complaint_no))
    return complaint


def search_complaints(
    *,
    session: Session,
    condition: ColumnElement[bool] | None = None,
    status: list[ComplaintStatus] | None = None,
    source: ComplaintSource | None = None,
    agency_id: int | None = None,
    case_no: str | None = None,
    overdue: bool | None = None,
    today: date | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Complaint], int]:
    """Complaints, newest received first."""
    query = select(Complaint).where(condition if condition is not None else true())
    if status:
        query = query.where(Complaint.status.in_([s.value for s in status]))
    if source is not None:
        query = query.where(Complaint.source == source.value)
    if agency_id is not None:
        query = query.where(Complaint.agency_id == agency_id)
    if case_no:
        query = query.where(Complaint.case_id.in_(select(Case.id).where(Case.case_no == case_no.strip())))
    if overdue is not None:
        late = Complaint.status.in_([s.value for s in OPEN_COMPLAINT_STATUSES]) & (
            Complaint.respond_by < (today or today_local()))
        query = query.where(late if overdue else ~late)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Complaint.received_at.desc(), Complaint.id.desc())
                           .offset(offset).limit(limit))
    return list(rows), total


def overdue_complaints(*, session: Session, today: date | None = None) -> list[Complaint]:
    """Open or investigating complaints past their respond_by day, oldest deadline first."""
    rows, _total = search_complaints(session=session, overdue=True, today=today, limit=100_000)
    return sorted(rows, key=lambda c: (c.respond_by or date.max, c.complaint_no))


def complaint_reads(*, session: Session, complaints: list[Complaint], staff_names: bool, events: bool = False,
                    today: date | None = None) -> list[ComplaintRead]:
    """Answers for these complaints (a few look-ups for all of them)."""
    if not complaints:
        return []
    today = today or today_local()
    case_ids = {c.case_id for c in complaints if c.case_id}
    account_ids = {c.account_id for c in complaints if c.account_id}
    agency_ids = {c.agency_id for c in complaints if c.agency_id}
    case_nos = dict(session.execute(select(Case.id, Case.case_no).where(Case.id.in_(case_ids))).all()) \
        if case_ids else {}
    account_nos = dict(session.execute(select(Account.id, Account.account_no).where(Account.id.in_(account_ids)))
                       .all()) if account_ids else {}
    codes = dict(session.execute(select(Agency.id, Agency.code).where(Agency.id.in_(agency_ids))).all()) \
        if agency_ids else {}
    ids = [c.id for c in complaints]
    held = set(session.scalars(select(ContactHold.complaint_id).where(
        ContactHold.complaint_id.in_(ids), ContactHold.lifted_at.is_(None))))
    history: dict[int, list[ComplaintEvent]] = {}
    if events:
        for event in session.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id.in_(ids))
                                     .order_by(ComplaintEvent.changed_at, ComplaintEvent.id)):
            history.setdefault(event.complaint_id, []).append(event)
    answers = []
    for c in complaints:
        is_open = ComplaintStatus(c.status) in OPEN_COMPLAINT_STATUSES
        answers.append(ComplaintRead(
            complaint_no=c.complaint_no, source=c.source, status=c.status, severity=c.severity, category=c.category,
            summary=c.summary, case_no=case_nos.get(c.case_id), account_no=account_nos.get(c.account_id),
            agency_id=c.agency_id, agency_code=codes.get(c.agency_id), collector_user_id=c.collector_user_id,
            received_at=c.received_at, respond_by=c.respond_by,
            overdue=bool(is_open and c.respond_by is not None and c.respond_by < today),
            holds_contact=c.holds_contact, contact_hold_live=c.id in held, outcome=c.outcome,
            recorded_by=c.recorded_by if staff_names else None, created_at=c.created_at, closed_at=c.closed_at,
            version=c.version,
            events=[ComplaintEventRead(from_status=e.from_status, to_status=e.to_status, note=e.note,
                                       changed_by=e.changed_by if staff_names else None, changed_at=e.changed_at)
                    for e in history.get(c.id, [])] if events else None,
        ))
    return answers
