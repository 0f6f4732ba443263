"""Closing cases (结案) with a reason, one at a time or in bulk.

Every status change goes through weiwai.placements.lifecycle.transition_case, so it is
checked against the transition table and recorded. An open case is first moved to the
ending state its reason implies (paid, settled, returned, recalled, expired) and then
closed, so its history shows how it ended; plan completed, written off and referred to
litigation have no ending state of their own and close an open or ended case directly.
A case that has already ended can only be closed with a reason consistent with how it
ended (a recalled case was not paid in full with the agency), or with one of those three.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.db import utcnow
from weiwai.errors import IllegalTransition, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements.lifecycle import DEFAULT_CLOSE_REASON, is_open, transition_case
from weiwai.placements.models import Case, CaseStatus, CloseReason
from weiwai.portfolio.models import Account, AccountStatus

# The state an open case passes through before it is closed for this reason.
ENDING_STATE: dict[CloseReason, CaseStatus] = {
    CloseReason.paid_in_full: CaseStatus.paid,
    CloseReason.settled: CaseStatus.settled,
    CloseReason.returned: CaseStatus.returned,
    CloseReason.recalled: CaseStatus.recalled,
    CloseReason.expired: CaseStatus.expired,
}
ENDED_STATES = frozenset(DEFAULT_CLOSE_REASON)


def get_case(*, session: Session, case_no: str) -> Case:
    """The case with this number, or NotFound."""
    case = session.scalar(select(Case).where(Case.case_no == case_no))
    if case is None:
        raise NotFound(_("no case {case_no}").format(case_no=case_no))
    return case


def check_closable(*, case: Case, account: Account, reason: CloseReason) -> None:
    """Raise IllegalTransition or RuleViolation if `case` may not be closed for `reason`."""
    status = CaseStatus(case.status)
    if status == CaseStatus.closed:
        raise IllegalTransition(
            _("case {case_no} is already closed ({reason})").format(case_no=case.case_no, reason=case.close_reason)
        )
    ending = ENDING_STATE.get(reason)
    if not is_open(status) and ending is not None and status != ending:
        raise IllegalTransition(
            _("case {case_no} is {status}: it cannot be closed as {reason}").format(
                case_no=case.case_no, status=status, reason=reason
            )
        )
    if reason == CloseReason.paid_in_full and account.total_outstanding > 0:
        raise RuleViolation(
            _("case {case_no}: account {account_no} still owes {amount}, it is not paid in full").format(
                case_no=case.case_no, account_no=account.account_no, amount=account.total_outstanding
            )
        )
    if reason == CloseReason.written_off and account.status not in (AccountStatus.open, AccountStatus.written_off):
        raise RuleViolation(
            _("case {case_no}: account {account_no} is {status}, there is nothing to write off").format(
                case_no=case.case_no, account_no=account.account_no, status=account.status
            )
        )


def close_case(
    *,
    session: Session,
    case_id: int,
    reason: CloseReason,
    actor: str,
    note: str | None = None,
    at: datetime | None = None,
) -> Case:
    """Close a case for `reason` (through its ending state if still open); written off also writes off the account."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(_("no case with id {case_id}").format(case_id=case_id))
    reason = CloseReason(reason)
    account = session.get(Account, case.account_id)
    check_closable(case=case, account=account, reason=reason)
    _close(session=session, case=case, account=account, reason=reason, actor=actor, note=note, at=at or utcnow())
    return case


def close_cases(
    *,
    session: Session,
    case_ids: Sequence[int],
    reason: CloseReason,
    actor: str,
    note: str | None = None,
    at: datetime | None = None,
) -> list[Case]:
    """Close many cases for one reason: all of them, or none when any may not be closed."""
    reason = CloseReason(reason)
    cases = session.scalars(select(Case).where(Case.id.in_(list(case_ids))).order_by(Case.id)).all()
    missing = sorted(set(case_ids) - {case.id for case in cases})
    if missing:
        raise NotFound(_("no case with id {case_id}").format(case_id=", ".join(map(str, missing))))
    accounts = {
        account.id: account
        for account in session.scalars(select(Account).where(Account.id.in_({case.account_id for case in cases})))
    }
    problems = []
    for case in cases:
        try:
            check_closable(case=case, account=accounts[case.account_id], reason=reason)
        except (IllegalTransition, RuleViolation) as exc:
            problems.append(exc.message)
    if problems:
        raise IllegalTransition(
            _("{count} case(s) cannot be closed; none was: {problems}").format(
                count=len(problems), problems="; ".join(problems)
            )
        )
    at = at or utcnow()
    for case in cases:
        _close(session=session, case=case, account=accounts[case.account_id], reason=reason, actor=actor,
               note=note, at=at)
    return list(cases)


def close_ended_cases(
    *, session: Session, actor: str, batch_id: int | None = None, at: datetime | None = None
) -> int:
    """Close every ended case (paid, settled, returned, recalled, expired) with the reason its state implies."""
    query = select(Case).where(Case.status.in_([str(status) for status in ENDED_STATES])).order_by(Case.id)
    if batch_id is not None:
        query = query.where(Case.batch_id == batch_id)
    at = at or utcnow()
    cases = session.scalars(query).all()
    for case in cases:
        transition_case(
            session=session, case=case, to=CaseStatus.closed, actor=actor,
            close_reason=DEFAULT_CLOSE_REASON[CaseStatus(case.status)], at=at,
        )
    return len(cases)


def _close(
    *, session: Session, case: Case, account: Account, reason: CloseReason, actor: str, note: str | None,
    at: datetime,
) -> None:
    ending = ENDING_STATE.get(reason)
    if is_open(case.status) and ending is not None:
        transition_case(session=session, case=case, to=ending, actor=actor, reason=note, at=at)
    transition_case(session=session, case=case, to=CaseStatus.closed, actor=actor, reason=note,
                    close_reason=reason, at=at)
    if reason == CloseReason.written_off:
        account.status = AccountStatus.written_off
