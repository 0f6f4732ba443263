"""The work queue: the lender's queue policy (stored in versions) and an agency's open
cases in the order it sets, each with the reasons for its place.

The facts are gathered with a handful of set-based queries whatever the number of cases
(an agency may hold 50,000 open ones): the cases, their latest attempt, their promises,
and the debtors' numbers found invalid. The order is the pure `prioritise` of
weiwai.collection.queue_policy. Which cases a principal sees is weiwai.security.scope's
rule (a collector: their own; a manager or token: the agency's open cases).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, distinct, func, select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Contract
from weiwai.collection.models import CollectionAction, Outcome, PromiseStatus, PromiseToPay
from weiwai.collection.models import QueuePolicy as StoredQueuePolicy
from weiwai.collection.outcomes import ATTEMPT_OUTCOMES
from weiwai.collection.queue_policy import DEFAULT_POLICY, CaseFacts, QueuePolicy, Ranked, prioritise
from weiwai.collection.queue_schemas import (
    AssigneeRead,
    PolicyRef,
    PromiseDueRead,
    QueueItem,
    ReasonRead,
    WorkQueue,
)
from weiwai.errors import NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements.models import OPEN_CASE_STATUSES, Case
from weiwai.portfolio.delinquency import bucket_of, days_past_due
from weiwai.portfolio.models import Account, AccountStatus, Debtor, DebtorPhone
from weiwai.security.models import Role, User
from weiwai.security.scope import case_condition, own_agency

if TYPE_CHECKING:
    from weiwai.web.deps import Principal

DEFAULT_POLICY_NAME = "default"
BUILT_IN_NAME = "built-in"
BROKEN_STATUSES = (PromiseStatus.broken.value, PromiseStatus.partly_kept.value)


# --- policies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrentPolicy:
    """The policy in force: the latest stored version, or the built-in default."""

    policy: QueuePolicy
    stored: StoredQueuePolicy | None

    @property
    def ref(self) -> PolicyRef:
        if self.stored is None:
            return PolicyRef(name=BUILT_IN_NAME, version=None, sha256=self.policy.sha256())
        return PolicyRef(name=self.stored.name, version=self.stored.version, sha256=self.stored.sha256)


def save_policy(
    *, session: Session, policy: QueuePolicy, actor: str, name: str = DEFAULT_POLICY_NAME
) -> tuple[StoredQueuePolicy, bool]:
    """Store `policy` as the next version of `name` and make it current; the current content again is a no-op."""
    name = name.strip()
    if not name:
        raise RuleViolation(_("a queue policy needs a name"), code="name_required")
    check_buckets(policy)
    digest = policy.sha256()
    current = latest_policy(session=session)
    if current is not None and current.name == name and current.sha256 == digest:
        return current, False
    latest_version = session.scalar(
        select(func.max(StoredQueuePolicy.version)).where(StoredQueuePolicy.name == name))
    row = StoredQueuePolicy(name=name, version=(latest_version or 0) + 1, rules=policy.canonical(), sha256=digest,
                            created_by=actor)
    session.add(row)
    session.flush()
    return row, True


def check_buckets(policy: QueuePolicy) -> None:
    """RuleViolation for bucket weights naming a bucket the settings do not define."""
    from weiwai.config import get_settings

    configured = {band.label.upper() for band in get_settings().buckets} | {"M0"}
    unknown = sorted(set(policy.bucket_weights) - configured)
    if unknown:
        raise RuleViolation(_("unknown bucket(s) {unknown}; configured: {configured}").format(
            unknown=", ".join(unknown), configured=", ".join(band.label for band in get_settings().buckets)))


def latest_policy(*, session: Session) -> StoredQueuePolicy | None:
    return session.scalar(select(StoredQueuePolicy).order_by(StoredQueuePolicy.id.desc()).limit(1))


def current_policy(*, session: Session) -> CurrentPolicy:
    """The policy in force: the version stored last, or the built-in default."""
    stored = latest_policy(session=session)
    if stored is None:
        return CurrentPolicy(policy=DEFAULT_POLICY, stored=None)
    return CurrentPolicy(policy=QueuePolicy.model_validate(stored.rules), stored=stored)


def get_policy(*, session: Session, version: int, name: str = DEFAULT_POLICY_NAME) -> StoredQueuePolicy:
    """A stored version of the policy `name`."""
    row = session.scalar(select(StoredQueuePolicy).where(
        StoredQueuePolicy.name == name.strip(), StoredQueuePolicy.version == version))
    if row is None:
        raise NotFound(_("no queue policy {name} version {version}").format(name=name, version=version))
    return row


def list_policies(*, session: Session) -> list[StoredQueuePolicy]:
    """Every stored version, oldest first (the last one is current)."""
    return list(session.scalars(select(StoredQueuePolicy).order_by(StoredQueuePolicy.id)))


# --- facts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueCase:
    """One open case as the queue shows it: the policy's facts and what a person needs besides."""

    facts: CaseFacts
    case_id: int
    agency_id: int
    contract_id: int
    status: str
    account_no: str
    dpd: int
    balance_placed: Decimal
    collector_user_id: int | None
    version: int
    attempts: int


def queue_condition(
    *, principal: Principal, agency_id: int, collector_user_id: int | None = None, unassigned: bool = False,
    needs_reassignment: bool = False,
) -> ColumnElement[bool]:
    """The agency's open cases `principal` may see, narrowed by the queue's filters."""
    condition = case_condition(principal) & (Case.agency_id == agency_id) & Case.status.in_(OPEN_CASE_STATUSES)
    if collector_user_id is not None:
        condition = condition & (Case.collector_user_id == collector_user_id)
    if unassigned:
        condition = condition & Case.collector_user_id.is_(None)
    if needs_reassignment:
        condition = condition & orphaned(agency_id)
    return condition


def orphaned(agency_id: int) -> ColumnElement[bool]:
    """Cases whose assignee can no longer work them: inactive, not a collector, or of another agency."""
    able = select(User.id).where(User.is_active.is_(True), User.role == Role.collector.value,
                                 User.agency_id == agency_id)
    return Case.collector_user_id.is_not(None) & Case.collector_user_id.not_in(able)


def queue_facts(*, session: Session, condition: ColumnElement[bool], today: date) -> list[QueueCase]:
    """The facts of every case matching `condition`, in six set-based queries."""
    from weiwai.collection.days import local_day
    from weiwai.config import get_settings

    case_ids = select(Case.id).where(condition)
    rows = session.execute(
        select(Case.id, Case.case_no, Case.agency_id, Case.contract_id, Case.status, Case.balance_placed,
               Case.placed_at, Case.period_ends_on, Case.collector_user_id, Case.version, Account.account_no,
               Account.status, Account.due_date, Account.principal_outstanding, Account.interest_outstanding,
               Account.fee_outstanding, Account.penalty_outstanding, Debtor.id, Debtor.time_zone)
        .join(Account, Account.id == Case.account_id)
        .join(Debtor, Debtor.id == Account.debtor_id)
        .where(condition)
    ).all()
    if not rows:
        return []
    attempts = _latest_attempts(session, case_ids)
    pending = _pending_promises(session, case_ids)
    broken = dict(session.execute(
        select(PromiseToPay.case_id, func.max(PromiseToPay.due_on))
        .where(PromiseToPay.case_id.in_(case_ids), PromiseToPay.status.in_(BROKEN_STATUSES))
        .group_by(PromiseToPay.case_id)
    ).all())
    phones = dict(session.execute(
        select(DebtorPhone.debtor_id, func.count())
        .where(DebtorPhone.debtor_id.in_(
            select(Account.debtor_id).join(Case, Case.account_id == Account.id).where(condition)))
        .group_by(DebtorPhone.debtor_id)
    ).all())
    invalid = dict(session.execute(
        select(CollectionAction.case_id, func.count(distinct(CollectionAction.phone_bidx)))
        .join(Account, Account.id == CollectionAction.account_id)
        .join(DebtorPhone, and_(DebtorPhone.debtor_id == Account.debtor_id,
                                DebtorPhone.phone_bidx == CollectionAction.phone_bidx))
        .where(CollectionAction.case_id.in_(case_ids), CollectionAction.outcome == Outcome.invalid_number.value)
        .group_by(CollectionAction.case_id)
    ).all())
    buckets = get_settings().buckets
    cases = []
    for (case_id, case_no, agency_id, contract_id, status, balance_placed, placed_at, period_ends_on, collector,
         version, account_no, account_status, due_date, principal, interest, fee, penalty, debtor_id,
         time_zone) in rows:
        outstanding = principal + interest + fee + penalty
        dpd = days_past_due(due_date=due_date, as_of=today,
                            outstanding=outstanding if account_status == AccountStatus.open else Decimal(0))
        last_at, last_outcome, count = attempts.get(case_id, (None, None, 0))
        promise = pending.get(case_id)
        facts = CaseFacts(
            case_no=case_no, balance=outstanding, bucket=bucket_of(dpd, buckets),
            placed_on=local_day(placed_at, time_zone), period_ends_on=period_ends_on,
            last_attempt_on=local_day(last_at, time_zone) if last_at is not None else None,
            last_attempt_outcome=last_outcome,
            pending_promise_due_on=promise[0] if promise else None,
            pending_promise_amount=promise[1] if promise else None,
            last_broken_due_on=broken.get(case_id),
            reachable=phones.get(debtor_id, 0) > invalid.get(case_id, 0),
            case_id=case_id,
        )
        cases.append(QueueCase(
            facts=facts, case_id=case_id, agency_id=agency_id, contract_id=contract_id, status=str(status),
            account_no=account_no, dpd=dpd, balance_placed=balance_placed, collector_user_id=collector,
            version=version, attempts=count,
        ))
    return cases


def _latest_attempts(session: Session, case_ids) -> dict[int, tuple]:
    """case id -> (time of the latest attempt, its outcome, number of attempts)."""
    action = CollectionAction
    ranked = (
        select(
            action.case_id, action.occurred_at, action.outcome,
            func.row_number().over(partition_by=action.case_id,
                                   order_by=(action.occurred_at.desc(), action.id.desc())).label("rn"),
            func.count().over(partition_by=action.case_id).label("n"),
        )
        .where(action.case_id.in_(case_ids), action.outcome.in_([o.value for o in ATTEMPT_OUTCOMES]))
        .subquery()
    )
    return {
        case_id: (occurred_at, outcome, n)
        for case_id, occurred_at, outcome, n in session.execute(
            select(ranked.c.case_id, ranked.c.occurred_at, ranked.c.outcome, ranked.c.n).where(ranked.c.rn == 1))
    }


def _pending_promises(session: Session, case_ids) -> dict[int, tuple[date, Decimal]]:
    """case id -> (due day, amount) of its earliest pending promise."""
    found: dict[int, tuple[date, Decimal]] = {}
    for case_id, due_on, amount in session.execute(
        select(PromiseToPay.case_id, PromiseToPay.due_on, PromiseToPay.amount)
        .where(PromiseToPay.case_id.in_(case_ids), PromiseToPay.status == PromiseStatus.pending.value)
        .order_by(PromiseToPay.case_id, PromiseToPay.due_on, PromiseToPay.id)
    ):
        found.setdefault(case_id, (due_on, amount))
    return found


# --- the queue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    agency_id: int
    as_of: date
    policy: CurrentPolicy
    entries: list[tuple[Ranked, QueueCase]]


def queue_agency(principal: Principal, agency_id: int | None) -> int:
    """The agency whose queue is asked for: the principal's own, or (lender staff) the one named."""
    chosen = own_agency(principal, agency_id)
    if chosen is None:  # lender staff who named no agency: every agency has a queue of its own
        raise RuleViolation(_("name the agency whose queue you want (agency_id)"), code="agency_required")
    return chosen


def work_queue(
    *,
    session: Session,
    principal: Principal,
    agency_id: int | None = None,
    collector_user_id: int | None = None,
    unassigned: bool = False,
    needs_reassignment: bool = False,
    today: date | None = None,
    policy: CurrentPolicy | None = None,
) -> Queue:
    """The open cases `principal` may see in the agency's queue, in the order of the lender's policy."""
    from weiwai.clock import today_local

    agency = queue_agency(principal, agency_id)
    if principal.role == Role.collector and collector_user_id not in (None, principal.user_id):
        raise NotFound(_("no collector {ref}").format(ref=collector_user_id))
    today = today or today_local()
    policy = policy or current_policy(session=session)
    condition = queue_condition(principal=principal, agency_id=agency, collector_user_id=collector_user_id,
                                unassigned=unassigned, needs_reassignment=needs_reassignment)
    cases = queue_facts(session=session, condition=condition, today=today)
    by_id = {case.case_id: case for case in cases}
    ranked = prioritise([case.facts for case in cases], policy.policy, today)
    return Queue(agency_id=agency, as_of=today, policy=policy,
                 entries=[(entry, by_id[entry.facts.case_id]) for entry in ranked])


def queue_page(*, session: Session, principal: Principal, queue: Queue, offset: int, limit: int) -> WorkQueue:
    """One page of `queue` as the API shows it (assignees named, account numbers as released)."""
    window = queue.entries[offset:offset + limit]
    return WorkQueue(
        items=queue_items(session=session, principal=principal, entries=window, first_rank=offset + 1),
        total=len(queue.entries), offset=offset, limit=limit, agency_id=queue.agency_id, as_of=queue.as_of,
        policy=queue.policy.ref,
    )


def queue_items(
    *, session: Session, principal: Principal, entries: Sequence[tuple[Ranked, QueueCase]], first_rank: int = 1
) -> list[QueueItem]:
    """The entries as the API shows them: assignee named, account number only where released."""
    users = users_by_id(session=session, user_ids={case.collector_user_id for _r, case in entries})
    released = _account_no_released(session, principal, {case.contract_id for _r, case in entries})
    items = []
    for rank, (ranked, case) in enumerate(entries, start=first_rank):
        facts = ranked.facts
        user = users.get(case.collector_user_id) if case.collector_user_id is not None else None
        items.append(QueueItem(
            rank=rank, case_no=facts.case_no,
            account_no=case.account_no if released.get(case.contract_id, False) else None,
            status=case.status, dpd=case.dpd, bucket=facts.bucket, balance=facts.balance,
            balance_placed=case.balance_placed, placed_on=facts.placed_on, period_ends_on=facts.period_ends_on,
            last_attempt_on=facts.last_attempt_on, attempts=case.attempts,
            pending_promise=PromiseDueRead(due_on=facts.pending_promise_due_on, amount=facts.pending_promise_amount)
            if facts.pending_promise_due_on is not None and facts.pending_promise_amount is not None else None,
            assignee=assignee_read(user) if user is not None else None,
            needs_reassignment=case.collector_user_id is not None and not can_work(user, case.agency_id),
            version=case.version, score=float(ranked.score),
            reasons=[ReasonRead(code=r.code, points=float(r.points), text=r.text()) for r in ranked.reasons],
        ))
    return items


def users_by_id(*, session: Session, user_ids: set[int | None]) -> dict[int, User]:
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    return {user.id: user for user in session.scalars(select(User).where(User.id.in_(ids)))}


def assignee_read(user: User) -> AssigneeRead:
    return AssigneeRead(user_id=user.id, username=user.username, display_name=user.display_name,
                        active=user.is_active)


def can_work(user: User | None, agency_id: int) -> bool:
    """Whether `user` may be given (and keep) cases of the agency: an active collector of it."""
    return user is not None and user.is_active and user.role == Role.collector.value and user.agency_id == agency_id


def _account_no_released(session: Session, principal: Principal, contract_ids: set[int]) -> dict[int, bool]:
    """contract id -> whether the account number may be shown: always to the lender; to an
    agency when the contract's handover policy releases it."""
    from weiwai.handover.policy import effective_policy

    if principal.is_lender:
        return dict.fromkeys(contract_ids, True)
    if not contract_ids:
        return {}
    return {
        contract_id: "account_no" in effective_policy(fields)
        for contract_id, fields in session.execute(
            select(Contract.id, Contract.handover_fields).where(Contract.id.in_(contract_ids)))
    }


def open_case_counts(*, session: Session, agency_id: int) -> dict[int, int]:
    """collector user id -> open cases of the agency assigned to them."""
    return dict(session.execute(
        select(Case.collector_user_id, func.count())
        .where(Case.agency_id == agency_id, Case.status.in_(OPEN_CASE_STATUSES), Case.collector_user_id.is_not(None))
        .group_by(Case.collector_user_id)
    ).all())
