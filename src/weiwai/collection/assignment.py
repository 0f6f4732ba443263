"""Who in the agency works which case: managers assign cases to their collectors.

A case is given to one active collector of the agency holding it, or taken back
(unassigned). Every change is kept (`CaseAssignment`: from whom, to whom, by whom, when)
and the current assignee is on the case (`Case.collector_user_id`), which is what a
collector's view of the cases filters on (weiwai.security.scope).

The cases must be visible to whoever assigns them: a case of another agency, a closed
case or an unknown number fails the whole batch (404), and nothing is written.
`distribute` shares an agency's unassigned open cases — and those whose collector can no
longer work them — among its collectors in queue order, always to the one holding the
fewest, so that counts and mixes stay even.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from weiwai.collection.models import CaseAssignment
from weiwai.collection.queue_service import (
    CurrentPolicy,
    open_case_counts,
    orphaned,
    queue_agency,
    queue_condition,
    queue_facts,
)
from weiwai.db import utcnow
from weiwai.errors import NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.placements.models import OPEN_CASE_STATUSES, Case
from weiwai.security.models import Role, User
from weiwai.security.scope import visible_case, visible_cases

if TYPE_CHECKING:
    from weiwai.web.deps import Principal

CHUNK = 500  # ids per UPDATE … WHERE id IN (…)
SHOWN_REFS = 20


@dataclass
class Assigned:
    """What an assignment changed."""

    collector_user_id: int | None
    changed: list[str] = field(default_factory=list)  # case numbers whose assignee changed
    unchanged: list[str] = field(default_factory=list)  # already had this assignee


@dataclass
class Distribution:
    agency_id: int
    assigned: int
    # user id -> (cases given now, open cases held afterwards), in the order collectors were served
    shares: dict[int, tuple[int, int]]
    users: dict[int, User]


def assign_cases(
    *,
    session: Session,
    principal: Principal,
    case_nos: Sequence[str],
    collector_user_id: int | None,
    actor: str,
    at: datetime | None = None,
) -> Assigned:
    """Give the cases to a collector of their agency (None: unassign them); all or nothing."""
    numbers = list(dict.fromkeys(no.strip() for no in case_nos))
    if not numbers:
        raise RuleViolation(_("name at least one case"), code="no_cases")
    cases = session.scalars(
        visible_cases(principal).where(Case.case_no.in_(numbers), Case.status.in_(OPEN_CASE_STATUSES))
        .order_by(Case.id).with_for_update(of=Case).execution_options(populate_existing=True)
    ).all()
    missing = sorted(set(numbers) - {case.case_no for case in cases})
    if missing:
        raise NotFound(_("no open case {ref}").format(ref=_refs(missing)))
    if collector_user_id is not None:
        collector = assignable_collector(session=session, principal=principal, user_id=collector_user_id)
        elsewhere = sorted(case.case_no for case in cases if case.agency_id != collector.agency_id)
        if elsewhere:
            raise RuleViolation(_("case(s) {refs} are not with the agency of collector {username}").format(
                refs=_refs(elsewhere), username=collector.username), code="other_agency")
    result = Assigned(collector_user_id=collector_user_id)
    changes = []
    for case in cases:
        if case.collector_user_id == collector_user_id:
            result.unchanged.append(case.case_no)
        else:
            changes.append((case.id, case.collector_user_id, collector_user_id))
            result.changed.append(case.case_no)
    write_assignments(session=session, changes=changes, actor=actor, at=at)
    return result


def assign_case(
    *,
    session: Session,
    principal: Principal,
    case_no: str,
    collector_user_id: int | None,
    actor: str,
    check_version: Callable[[int], None] | None = None,
    at: datetime | None = None,
) -> Case:
    """Assign one case; `check_version` (the If-Match check) sees its version first, under the row lock."""
    case = visible_case(session=session, principal=principal, case_no=case_no, lock=True)
    if check_version is not None:
        check_version(case.version)
    assign_cases(session=session, principal=principal, case_nos=[case.case_no], collector_user_id=collector_user_id,
                 actor=actor, at=at)
    session.refresh(case)
    return case


def assignable_collector(*, session: Session, principal: Principal, user_id: int) -> User:
    """The user, if cases may be given to them: an active collector (of the principal's agency)."""
    user = session.get(User, user_id)
    if user is None or (not principal.is_lender and user.agency_id != principal.agency_id):
        raise NotFound(_("no collector {ref}").format(ref=user_id))
    if user.role != Role.collector.value:
        raise RuleViolation(_("user {username} is not a collector").format(username=user.username),
                            code="not_a_collector")
    if not user.is_active:
        raise RuleViolation(_("user {username} is deactivated").format(username=user.username),
                            code="collector_inactive")
    return user


def write_assignments(
    *, session: Session, changes: Iterable[tuple[int, int | None, int | None]], actor: str, at: datetime | None = None
) -> int:
    """Apply (case id, previous, new assignee) changes: set-based updates and one history row each."""
    changes = list(changes)
    if not changes:
        return 0
    at = at or utcnow()
    by_new: dict[int | None, list[int]] = {}
    for case_id, _previous, new in changes:
        by_new.setdefault(new, []).append(case_id)
    for new, ids in by_new.items():
        for start in range(0, len(ids), CHUNK):
            session.execute(
                update(Case).where(Case.id.in_(ids[start:start + CHUNK]))
                .values(collector_user_id=new, version=Case.version + 1)
                .execution_options(synchronize_session=False)
            )
    session.execute(insert(CaseAssignment), [
        {"case_id": case_id, "collector_user_id": new, "previous_user_id": previous, "assigned_by": actor,
         "assigned_at": at}
        for case_id, previous, new in changes
    ])
    # Cases this session holds are now stale (assignee and version): reload them when next read.
    changed = {case_id for case_id, _p, _n in changes}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Case) and obj.id in changed:
            session.expire(obj)
    session.flush()
    return len(changes)


def distribute(
    *,
    session: Session,
    principal: Principal,
    agency_id: int | None = None,
    collector_user_ids: Sequence[int] | None = None,
    actor: str,
    today: date | None = None,
    policy: CurrentPolicy | None = None,
    at: datetime | None = None,
) -> Distribution:
    """Share the agency's unassigned open cases (and those needing reassignment) among its collectors, in queue order."""
    from weiwai.clock import today_local
    from weiwai.collection.queue_policy import prioritise
    from weiwai.collection.queue_service import current_policy

    agency = queue_agency(principal, agency_id)
    collectors = _collectors(session, principal, agency, collector_user_ids)
    today = today or today_local()
    policy = policy or current_policy(session=session)
    condition = queue_condition(principal=principal, agency_id=agency) & (
        Case.collector_user_id.is_(None) | orphaned(agency))
    session.execute(select(Case.id).where(condition).with_for_update(of=Case)).all()
    cases = {case.case_id: case for case in queue_facts(session=session, condition=condition, today=today)}
    ranked = prioritise([case.facts for case in cases.values()], policy.policy, today)
    held = open_case_counts(session=session, agency_id=agency)
    # Fewest open cases first; equal loads in the order given (round robin in queue order).
    heap = [(held.get(user.id, 0), position, user.id) for position, user in enumerate(collectors)]
    heapq.heapify(heap)
    given = dict.fromkeys((user.id for user in collectors), 0)
    changes = []
    for entry in ranked:
        load, position, user_id = heapq.heappop(heap)
        case = cases[entry.facts.case_id]
        changes.append((case.case_id, case.collector_user_id, user_id))
        given[user_id] += 1
        heapq.heappush(heap, (load + 1, position, user_id))
    write_assignments(session=session, changes=changes, actor=actor, at=at)
    return Distribution(
        agency_id=agency, assigned=len(changes),
        shares={user.id: (given[user.id], held.get(user.id, 0) + given[user.id]) for user in collectors},
        users={user.id: user for user in collectors},
    )


def _collectors(session: Session, principal: Principal, agency_id: int, user_ids: Sequence[int] | None) -> list[User]:
    if user_ids is None:
        users = list(session.scalars(select(User).where(
            User.agency_id == agency_id, User.role == Role.collector.value, User.is_active.is_(True)
        ).order_by(User.id)))
        if not users:
            raise RuleViolation(_("the agency has no active collector to give cases to"), code="no_collectors")
        return users
    if not user_ids:
        raise RuleViolation(_("name at least one collector"), code="no_collectors")
    users = [assignable_collector(session=session, principal=principal, user_id=user_id)
             for user_id in dict.fromkeys(user_ids)]
    elsewhere = [user.username for user in users if user.agency_id != agency_id]
    if elsewhere:
        raise RuleViolation(_("collector(s) {names} do not work for this agency").format(names=", ".join(elsewhere)),
                            code="other_agency")
    return users


def case_assignments(*, session: Session, case_id: int) -> list[CaseAssignment]:
    """A case's assignment history, oldest first."""
    return list(session.scalars(
        select(CaseAssignment).where(CaseAssignment.case_id == case_id)
        .order_by(CaseAssignment.assigned_at, CaseAssignment.id)
    ))


def _refs(refs: Sequence[str]) -> str:
    shown = ", ".join(refs[:SHOWN_REFS])
    if len(refs) > SHOWN_REFS:
        shown += " " + _("… and {count} more").format(count=len(refs) - SHOWN_REFS)
    return shown



def distribute_everywhere(
    *, session: Session, actor: str, today: date | None = None, at: datetime | None = None
) -> dict[int, int]:
    """Distribute in every agency that has an active collector (as the lender's administrator); agency id -> cases."""
    from weiwai.web.deps import Principal

    lender = Principal(user_id=None, username=actor, role=Role.admin, agency_id=None)
    agency_ids = session.scalars(select(User.agency_id).where(
        User.role == Role.collector.value, User.is_active.is_(True), User.agency_id.is_not(None)
    ).distinct().order_by(User.agency_id)).all()
    return {
        agency_id: distribute(session=session, principal=lender, agency_id=agency_id, actor=actor, today=today,
                              at=at).assigned
        for agency_id in agency_ids
    }
