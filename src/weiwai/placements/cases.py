"""Cases after placement: recall (撤案), extension (留案), expiry at period end, return by
the agency (退案), reassignment to another agency, and closing finished batches.

Every status change goes through `lifecycle.transition_case` (which records it). Ending a
case is two steps in one transaction: to the ending state (recalled, returned, expired),
then closed with the matching close reason, both at the same moment.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency, Contract
from weiwai.config import get_settings
from weiwai.db import utcnow
from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements.agencies_view import agency_view
from weiwai.placements.batches import case_no_prefix, get_batch, lock_agencies, next_batch_no
from weiwai.placements.common import fen_of, local_day_of, local_today, money_of, start_of_local_day
from weiwai.placements.eligibility import contract_for
from weiwai.placements.lifecycle import DEFAULT_CLOSE_REASON, is_open, transition_batch, transition_case
from weiwai.placements.models import (
    OPEN_CASE_STATUSES,
    BatchStatus,
    Case,
    CaseStatus,
    CaseStatusChange,
    CloseReason,
    PlacementBatch,
    ScreeningRuleSet,
)
from weiwai.placements.schemas import CaseChangeRead, CaseOutcome, CaseRead
from weiwai.placements.screening import EXCLUSION_CODES, evaluate, reason_label
from weiwai.placements.screening_service import rules_of
from weiwai.placements.screening_sql import fetch_candidate, returned_within
from weiwai.portfolio.models import Account
from weiwai.security import audit

CHUNK = 500
# A reassigned case continues one that ended with the agency before its natural end or at it.
REASSIGNABLE = (CloseReason.returned, CloseReason.recalled, CloseReason.expired)
# Screening results that stop a reassignment: the account must still be placeable at all.
BLOCKING_FOR_REASSIGNMENT = ("not_open", "not_past_due", *EXCLUSION_CODES)


def get_case(*, session: Session, case_no: str) -> Case:
    case = session.scalar(select(Case).where(Case.case_no == case_no.strip()))
    if case is None:
        raise NotFound(_("no case {case_no}").format(case_no=case_no))
    return case


def case_read(*, session: Session, case: Case, lender: bool = True) -> CaseRead:
    """A case with its history, named by numbers and codes rather than ids.

    `lender=False` (an agency reads its own case): the lender-only fields are null (batch,
    strategy arm, credit grade, end note, the case it continues) and the history shows
    the moves only, without the lender's reasons and staff names.
    """
    previous = session.get(Case, case.previous_case_id) if lender and case.previous_case_id else None
    return CaseRead(
        case_no=case.case_no,
        batch_no=case.batch.batch_no if lender else None,
        account_no=session.get(Account, case.account_id).account_no,
        agency_code=session.get(Agency, case.agency_id).code,
        contract_no=session.get(Contract, case.contract_id).contract_no,
        status=str(case.status),
        bucket=case.bucket,
        dpd=case.dpd,
        balance_band=case.balance_band,
        region=case.region,
        credit_grade=case.credit_grade if lender else None,
        balance_placed=case.balance_placed,
        principal_placed=case.principal_placed,
        arm=case.arm if lender else None,
        placed_at=case.placed_at,
        period_ends_on=case.period_ends_on,
        extended_count=case.extended_count,
        collector_user_id=case.collector_user_id,
        ended_at=case.ended_at,
        close_reason=None if case.close_reason is None else str(case.close_reason),
        end_note=case.end_note if lender else None,
        previous_case_no=previous.case_no if previous else None,
        version=case.version,
        history=case_history(session=session, case=case, lender=lender),
    )


def case_history(*, session: Session, case: Case, lender: bool = True) -> list[CaseChangeRead]:
    """The case's status changes, oldest first (for an agency: without reasons and names)."""
    changes = session.scalars(
        select(CaseStatusChange).where(CaseStatusChange.case_id == case.id).order_by(CaseStatusChange.id)
    )
    return [
        CaseChangeRead(from_status=h.from_status, to_status=h.to_status, reason=h.reason if lender else None,
                       changed_by=h.changed_by if lender else None, changed_at=h.changed_at)
        for h in changes
    ]


# --- ending cases ------------------------------------------------------------------------


def end_case(
    *, session: Session, case: Case, via: CaseStatus, reason: str | None, actor: str, at: datetime
) -> None:
    """Open case -> `via` (recalled, returned, expired) -> closed with the matching reason."""
    if not is_open(case.status):
        raise Conflict(_("case {case_no} is {status}: only open cases can be ended this way").format(
            case_no=case.case_no, status=case.status), code="case_not_open")
    transition_case(session=session, case=case, to=via, actor=actor, reason=reason, at=at)
    transition_case(session=session, case=case, to=CaseStatus.closed, actor=actor, reason=reason,
                    close_reason=DEFAULT_CLOSE_REASON[via], at=at)


def recall_cases(
    *,
    session: Session,
    reason: str,
    actor: str,
    case_nos: Sequence[str] | None = None,
    agency: str | None = None,
    batch: str | None = None,
    at: datetime | None = None,
) -> CaseOutcome:
    """Recall named cases, or every open case of an agency or of a batch, with a reason."""
    reason = _required_reason(reason)
    if sum(scope is not None for scope in (case_nos, agency, batch)) != 1:
        raise RuleViolation(_("give exactly one of case_nos, agency or batch"), code="recall_scope")
    at = at or utcnow()
    if case_nos is not None:
        cases = [get_case(session=session, case_no=no) for no in case_nos]
        for case in cases:
            end_case(session=session, case=case, via=CaseStatus.recalled, reason=reason, actor=actor, at=at)
        touched = [case.case_no for case in cases]
        batch_ids = {case.batch_id for case in cases}
    else:
        scope = _agency_scope(session, agency) if agency is not None else _batch_scope(session, batch)
        touched, batch_ids = [], set()
        for case in _open_cases(session, scope):
            end_case(session=session, case=case, via=CaseStatus.recalled, reason=reason, actor=actor, at=at)
            touched.append(case.case_no)
            batch_ids.add(case.batch_id)
    closed = close_finished_batches(session=session, batch_ids=batch_ids, actor=actor)
    audit.record(session=session, actor=actor, action="placement.recall", entity="batch" if batch else "agency"
                 if agency else "case", entity_id=batch or agency or (touched[0] if len(touched) == 1 else None),
                 details={"reason": reason, "cases": len(touched), "case_nos": touched[:100]})
    return CaseOutcome(cases=touched, closed_batches=closed)


def return_case(*, session: Session, case_no: str, reason: str, actor: str, at: datetime | None = None) -> CaseOutcome:
    """The agency gives an open case back: returned, then closed (returned)."""
    reason = _required_reason(reason)
    at = at or utcnow()
    case = get_case(session=session, case_no=case_no)
    end_case(session=session, case=case, via=CaseStatus.returned, reason=reason, actor=actor, at=at)
    closed = close_finished_batches(session=session, batch_ids={case.batch_id}, actor=actor)
    return CaseOutcome(cases=[case.case_no], closed_batches=closed)


def expire_due_cases(*, session: Session, run_for: date, actor: str = "job:expire_cases") -> dict:
    """Expire every open case whose period ended before `run_for`, and close finished batches.

    A case is with its agency through the last day of its period, so it ends when the next
    local day begins, whenever the job runs: payments are attributed by that moment.
    Running again for the same or an earlier day finds nothing more to do.
    """
    cutoff = Case.period_ends_on < run_for
    expired = 0
    for case in _open_cases(session, cutoff):
        ends = start_of_local_day(case.period_ends_on + timedelta(days=1))
        end_case(session=session, case=case, via=CaseStatus.expired,
                 reason=_("placement period ended on {day}").format(day=case.period_ends_on.isoformat()),
                 actor=actor, at=ends)
        expired += 1
    closed = close_finished_batches(session=session, batch_ids=None, actor=actor)
    return {"expired": expired, "closed_batches": closed}


def close_finished_batches(*, session: Session, batch_ids: set[int] | None, actor: str) -> list[str]:
    """Close active batches none of whose cases is open any more (all active ones if None).
    A batch closes at the moment its last case ended."""
    session.flush()
    open_case = exists().where(Case.batch_id == PlacementBatch.id, Case.status.in_(_open_values()))
    query = select(PlacementBatch).where(PlacementBatch.status == BatchStatus.active.value, ~open_case)
    if batch_ids is not None:
        if not batch_ids:
            return []
        query = query.where(PlacementBatch.id.in_(batch_ids))
    closed = []
    for batch in session.scalars(query.order_by(PlacementBatch.id)):
        last_end = session.scalar(select(func.max(Case.ended_at)).where(Case.batch_id == batch.id))
        transition_batch(batch=batch, to=BatchStatus.closed, actor=actor, at=last_end or utcnow())
        closed.append(batch.batch_no)
    session.flush()
    return closed


# --- extension ---------------------------------------------------------------------------


def extend_case(
    *, session: Session, case_no: str, days: int, reason: str, actor: str, at: datetime | None = None
) -> Case:
    """Keep an open case with its agency `days` longer (留案); recorded in the audit log."""
    reason = _required_reason(reason)
    if days < 1:
        raise RuleViolation(_("an extension is at least one day"), code="extension_days")
    at = at or utcnow()
    case = get_case(session=session, case_no=case_no)
    if not is_open(case.status):
        raise Conflict(_("case {case_no} is {status}: only open cases can be extended").format(
            case_no=case.case_no, status=case.status), code="case_not_open")
    contract = session.get(Contract, case.contract_id)
    new_end = case.period_ends_on + timedelta(days=days)
    if not contract.is_usable(local_day_of(at)):
        raise RuleViolation(_("contract {contract_no} is not usable: the case cannot be extended").format(
            contract_no=contract.contract_no), code="contract_not_usable")
    if new_end > contract.ends_on:
        raise RuleViolation(_("the extended period would end on {day}, after contract {contract_no} ends "
                              "({ends})").format(day=new_end.isoformat(), contract_no=contract.contract_no,
                                                 ends=contract.ends_on.isoformat()), code="beyond_contract")
    previous = case.period_ends_on
    case.period_ends_on = new_end
    case.extended_count += 1
    audit.record(
        session=session, actor=actor, action="case.extended", entity="case", entity_id=case.id,
        details={"case_no": case.case_no, "days": days, "from": previous.isoformat(), "to": new_end.isoformat(),
                 "reason": reason},
    )
    session.flush()
    return case


# --- reassignment ------------------------------------------------------------------------


def reassign_cases(
    *,
    session: Session,
    case_nos: Sequence[str],
    agency: str,
    reason: str,
    actor: str,
    as_of: date | None = None,
    at: datetime | None = None,
) -> CaseOutcome:
    """Place returned, recalled or expired cases again with another agency, as new cases
    (previous_case_id set) in a new active batch. The same constraints as a placement hold:
    the account is still placeable under its rule set's exclusions and not placed, the
    agency is active with a usable contract permitting bucket and region, no cooling-off,
    and capacity. All or nothing."""
    reason = _required_reason(reason)
    if not case_nos:
        raise RuleViolation(_("name at least one case"), code="no_cases")
    as_of = as_of or local_today()
    at = at or utcnow()
    target = session.scalar(select(Agency.id).where(Agency.code == agency.strip().upper()))
    if target is not None:
        # Before reading its capacity: a placement running now must finish first.
        lock_agencies(session, [target])
    view = agency_view(session=session, as_of=as_of, codes=[agency])
    if not view.slots:  # a blank code names no agency
        raise NotFound(_("no agency {ref}").format(ref=agency))
    slot = view.slots[0]
    buckets = get_settings().buckets
    problems: list[str] = []
    planned = []
    olds = [get_case(session=session, case_no=no) for no in dict.fromkeys(no.strip() for no in case_nos)]
    # One look-up for all: previous_case_id has no index, so each would scan the cases.
    continued = set(session.scalars(
        select(Case.previous_case_id).where(Case.previous_case_id.in_([old.id for old in olds]))
    ))
    accounts_seen: set[int] = set()
    for old in olds:
        case_no = old.case_no
        problem = _not_reassignable(old, slot.agency_id, continued)
        if problem is None and old.account_id in accounts_seen:
            problem = _("another of the cases named is for the same account")
        accounts_seen.add(old.account_id)
        if problem:
            problems.append(f"{case_no}: {problem}")
            continue
        rules = rules_of(session.get(ScreeningRuleSet, old.batch.rule_set_id))
        account = session.get(Account, old.account_id)
        _account_id, candidate = fetch_candidate(session=session, account_no=account.account_no, as_of=as_of)
        verdict = evaluate(rules, candidate, as_of=as_of, buckets=buckets)
        blocking = [code for code in verdict.failures if code in BLOCKING_FOR_REASSIGNMENT]
        contract_id = contract_for(slot.agency_id, view.terms, verdict.bucket, candidate.region)
        cooled = returned_within(session=session, as_of=as_of, days=rules.exclude.cooling_off_days,
                                 account_ids=[old.account_id])
        if blocking:
            problems.append(f"{case_no}: " + ", ".join(reason_label(code) for code in blocking))
        elif contract_id is None:
            problems.append(f"{case_no}: " + _("no usable contract of {code} permits {bucket} in {region}").format(
                code=slot.code, bucket=verdict.bucket, region=candidate.region))
        elif slot.agency_id in cooled["agency_id"].to_list():
            problems.append(f"{case_no}: " + _("returned by the agency within the cooling-off days"))
        else:
            planned.append((old, account, candidate, verdict, contract_id))
    balance = sum(fen_of(candidate.outstanding) for _old, _account, candidate, *_rest in planned)
    if not problems and (len(planned) > slot.cases_left or balance > slot.balance_left_fen):
        problems.append(_("{code}: over capacity ({cases} cases, {balance}; free {free_cases} cases, "
                          "{free_balance})").format(code=slot.code, cases=len(planned), balance=money_of(balance),
                                                    free_cases=slot.cases_left,
                                                    free_balance=money_of(slot.balance_left_fen)))
    if problems:
        raise RuleViolation(_("nothing was reassigned: {problems}").format(problems="; ".join(problems)),
                            code="not_reassignable")
    batch = PlacementBatch(
        batch_no=next_batch_no(session, as_of),
        status=BatchStatus.draft,
        rule_set_id=planned[0][0].batch.rule_set_id,
        strategy={"name": "reassignment", "params": {"agency": slot.code}, "seed": 0},
        as_of=as_of,
        summary={"reassigned": [], "reason": reason},
        created_by=actor,
    )
    session.add(batch)
    session.flush()
    prefix = case_no_prefix(batch.batch_no)
    moves = []
    for seq, (old, account, candidate, verdict, contract_id) in enumerate(planned, start=1):
        contract = view.contracts[contract_id]
        new = Case(
            case_no=f"{prefix}{seq:06d}", batch_id=batch.id, account_id=old.account_id, agency_id=slot.agency_id,
            contract_id=contract_id, status=CaseStatus.placed, bucket=verdict.bucket, dpd=verdict.dpd,
            balance_band=verdict.band, region=candidate.region, credit_grade=candidate.credit_grade,
            balance_placed=candidate.outstanding, principal_placed=account.principal_outstanding,
            arm="reassignment", placed_at=at, period_ends_on=as_of + timedelta(days=contract.placement_days),
            previous_case_id=old.id,
        )
        session.add(new)
        session.flush()
        session.add(CaseStatusChange(case_id=new.id, from_status=None, to_status=CaseStatus.placed.value,
                                     reason=reason, changed_by=actor, changed_at=at))
        moves.append({"from": old.case_no, "to": new.case_no})
    transition_batch(batch=batch, to=BatchStatus.confirmed, actor=actor, at=at)
    transition_batch(batch=batch, to=BatchStatus.active, actor=actor, at=at)
    batch.summary = {"reassigned": moves, "reason": reason, "cases": len(moves), "agency": slot.code}
    session.flush()
    return CaseOutcome(cases=[move["to"] for move in moves], new_batch=batch.batch_no)


def _not_reassignable(old: Case, agency_id: int, continued: set[int]) -> str | None:
    if is_open(old.status):
        return _("the case is still open")
    if old.status == CaseStatus.closed:
        ended_by = old.close_reason
    else:
        ended_by = DEFAULT_CLOSE_REASON.get(CaseStatus(old.status))
    if ended_by not in REASSIGNABLE:
        return _("only returned, recalled or expired cases can be reassigned")
    if old.id in continued:
        return _("the case was already reassigned")
    if old.agency_id == agency_id:
        return _("reassign to another agency")
    return None


# --- helpers -----------------------------------------------------------------------------


def _required_reason(reason: str | None) -> str:
    cleaned = (reason or "").strip()
    if not cleaned:
        raise RuleViolation(_("a reason is required"), code="reason_required")
    return cleaned


def _open_values() -> list[str]:
    return [status.value for status in OPEN_CASE_STATUSES]


def _agency_scope(session: Session, code: str):
    agency = session.scalar(select(Agency).where(Agency.code == code.strip().upper()))
    if agency is None:
        raise NotFound(_("no agency {ref}").format(ref=code))
    return Case.agency_id == agency.id


def _batch_scope(session: Session, batch_no: str | None):
    return Case.batch_id == get_batch(session=session, batch_no=batch_no or "").id


def _open_cases(session: Session, condition) -> Iterator[Case]:
    """Open cases matching `condition`, loaded a chunk at a time so a whole agency's or
    batch's cases never sit in memory at once."""
    ids = list(session.scalars(
        select(Case.id).where(condition, Case.status.in_(_open_values())).order_by(Case.id)
    ))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        yield from session.scalars(select(Case).where(Case.id.in_(chunk)).order_by(Case.id))
        session.flush()
