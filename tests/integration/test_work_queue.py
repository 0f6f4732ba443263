"""The work queue's services on SQLite and PostgreSQL: facts gathered set-wise, the order of
the lender's policy, policy versions, assignment rules and distribution."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from factories_collection import (  # noqa: F401  (english_messages: autouse)
    english_messages,
    make_account,
    make_case,
    make_world,
    make_user,
)
from weiwai.collection import assignment, queue_service
from weiwai.collection.models import CaseAssignment, PromiseStatus, PromiseToPay
from weiwai.collection.queue_policy import DEFAULT_POLICY, QueuePolicy
from weiwai.collection.schemas import ActionCreate
from weiwai.collection.service import log_action
from weiwai.errors import NotFound, RuleViolation
from weiwai.placements.models import Case, CaseStatus
from weiwai.portfolio.models import Account, DebtorPhone
from weiwai.security.models import Role
from weiwai.web.deps import Principal

# Logging actions is the setting here, not the compliance rules (tested in test_compliance_*).
pytestmark = pytest.mark.usefixtures("record_compliance")

TODAY = date(2024, 3, 20)


def principal_of(user) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=Role(user.role), agency_id=user.agency_id)


def admin() -> Principal:
    return Principal(user_id=None, username="root", role=Role.admin, agency_id=None)


def debtor_phone(session, case) -> int:
    return session.scalar(
        select(func.min(DebtorPhone.id)).join(Account, Account.debtor_id == DebtorPhone.debtor_id)
        .where(Account.id == case.account_id))


def log(session, case, *, day: date, outcome: str = "no_answer", channel: str = "phone", **extra):
    at = datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    data = ActionCreate(channel=channel, occurred_at=at, phone_id=debtor_phone(session, case), outcome=outcome,
                        **extra)
    return log_action(session=session, case_id=case.id, data=data, actor="test", at=at + timedelta(minutes=1))


@pytest.fixture
def shop(session):
    """An agency with a manager, two collectors and five open cases."""
    world = make_world(session)
    cases = [world.case] + [make_case(session, contract=world.contract) for _ in range(4)]
    return {
        "world": world, "agency": world.agency, "contract": world.contract, "cases": cases,
        "manager": make_user(session, role="agency_manager", agency=world.agency),
        "c1": make_user(session, role="collector", agency=world.agency),
        "c2": make_user(session, role="collector", agency=world.agency),
    }


def queue_of(session, principal, **filters):
    return queue_service.work_queue(session=session, principal=principal, today=TODAY, **filters)


# --- facts and order --------------------------------------------------------------------


def test_facts_come_from_a_fixed_number_of_queries(session, shop, engine):
    for case in shop["cases"][:3]:
        log(session, case, day=date(2024, 3, 10))
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        queue_of(session, principal_of(shop["manager"]))
        first = len(statements)
        for _ in range(20):
            make_case(session, contract=shop["contract"])
        statements.clear()
        queue = queue_of(session, principal_of(shop["manager"]))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(queue.entries) == 25
    assert len(statements) == first <= 8


def test_facts_of_a_case(session, shop):
    promised, broken, callback, silent = shop["cases"][:4]
    log(session, promised, day=date(2024, 3, 18), outcome="promise_to_pay", promise_amount="300.00",
        promise_due_on=date(2024, 3, 21))
    log(session, broken, day=date(2024, 3, 5), outcome="promise_to_pay", promise_amount="100.00",
        promise_due_on=date(2024, 3, 15))
    session.execute(PromiseToPay.__table__.update().where(PromiseToPay.case_id == broken.id)
                    .values(status=PromiseStatus.broken.value))
    log(session, callback, day=date(2024, 3, 1), outcome="no_answer")
    log(session, callback, day=date(2024, 3, 17), outcome="callback_requested")
    log(session, silent, day=date(2024, 3, 12), outcome="invalid_number")
    cases = {c.facts.case_no: c for c in queue_service.queue_facts(
        session=session, condition=Case.agency_id == shop["agency"].id, today=TODAY)}

    facts = cases[promised.case_no].facts
    assert facts.pending_promise_due_on == date(2024, 3, 21)
    assert facts.pending_promise_amount == Decimal("300.00")
    assert facts.last_attempt_on == date(2024, 3, 18) and facts.last_attempt_outcome == "promise_to_pay"
    assert facts.balance == Decimal("5370.00") and facts.bucket == "M3"  # due 2024-01-15: 65 days past due
    assert cases[promised.case_no].dpd == 65
    assert facts.placed_on == date(2024, 3, 1) and facts.period_ends_on == date(2024, 5, 30)
    assert cases[broken.case_no].facts.last_broken_due_on == date(2024, 3, 15)
    assert cases[callback.case_no].facts.last_attempt_outcome == "callback_requested"
    assert cases[callback.case_no].attempts == 2
    assert cases[silent.case_no].facts.reachable is False  # the debtor's only number is invalid
    untouched = cases[shop["cases"][4].case_no]
    assert untouched.facts.last_attempt_on is None and untouched.attempts == 0 and untouched.facts.reachable


def test_a_sms_is_not_an_attempt(session, shop):
    case = shop["cases"][0]
    log(session, case, day=date(2024, 3, 10), channel="sms", outcome="sms_sent")
    facts = {c.facts.case_no: c.facts for c in queue_service.queue_facts(
        session=session, condition=Case.id == case.id, today=TODAY)}
    assert facts[case.case_no].last_attempt_on is None  # coverage counts attempts only


def test_the_queue_puts_urgent_work_before_balance(session, shop):
    big = make_account(session, principal="900000.00")
    rich = make_case(session, contract=shop["contract"], account=big)
    log(session, rich, day=date(2024, 3, 19))
    untouched = shop["cases"][0]
    for case in shop["cases"][1:]:
        log(session, case, day=date(2024, 3, 19))
    order = [ranked.case_no for ranked, _case in queue_of(session, principal_of(shop["manager"])).entries]
    assert order[0] == untouched.case_no
    assert order.index(rich.case_no) == 1  # among the cases worked yesterday, the biggest first
    reasons = queue_of(session, principal_of(shop["manager"])).entries[0][0].reasons
    assert reasons[0].code == "never_attempted"


def test_a_collector_sees_only_their_own_queue(session, shop):
    c1 = shop["c1"]
    assignment.assign_cases(session=session, principal=principal_of(shop["manager"]),
                            case_nos=[c.case_no for c in shop["cases"][:2]], collector_user_id=c1.id, actor="m")
    queue = queue_of(session, principal_of(c1))
    assert {r.case_no for r, _c in queue.entries} == {c.case_no for c in shop["cases"][:2]}
    assert queue_of(session, principal_of(shop["c2"])).entries == []
    with pytest.raises(NotFound):
        queue_of(session, principal_of(c1), collector_user_id=shop["c2"].id)


def test_lender_staff_name_the_agency_and_agency_users_only_their_own(session, shop):
    ops = Principal(user_id=None, username="ops", role=Role.operations, agency_id=None)
    with pytest.raises(RuleViolation, match="agency_id"):
        queue_of(session, ops)
    assert len(queue_of(session, ops, agency_id=shop["agency"].id).entries) == 5
    other = make_world(session)
    with pytest.raises(NotFound):
        queue_of(session, principal_of(shop["manager"]), agency_id=other.agency.id)


def test_closed_cases_leave_the_queue(session, shop):
    shop["cases"][0].status = CaseStatus.recalled
    session.flush()
    assert len(queue_of(session, principal_of(shop["manager"])).entries) == 4


def test_queue_page_masks_account_numbers_unless_released(session, shop):
    manager = principal_of(shop["manager"])
    queue = queue_of(session, manager)
    page = queue_service.queue_page(session=session, principal=manager, queue=queue, offset=1, limit=2)
    assert page.total == 5 and [item.rank for item in page.items] == [2, 3]
    assert all(item.account_no is not None for item in page.items)  # the default policy releases it
    shop["contract"].handover_fields = {"case_no": "full", "mobile": "masked"}
    session.flush()
    page = queue_service.queue_page(session=session, principal=manager, queue=queue, offset=0, limit=5)
    assert all(item.account_no is None for item in page.items)
    lender = queue_service.queue_page(session=session, principal=admin(), queue=queue, offset=0, limit=5)
    assert all(item.account_no for item in lender.items)


# --- policies --------------------------------------------------------------------------------


def test_policy_versions(session):
    current = queue_service.current_policy(session=session)
    assert current.stored is None and current.policy == DEFAULT_POLICY and current.ref.version is None
    first, created = queue_service.save_policy(session=session, policy=QueuePolicy(), actor="ops")
    assert created and first.version == 1 and first.sha256 == DEFAULT_POLICY.sha256()
    again, created = queue_service.save_policy(session=session, policy=QueuePolicy(), actor="ops")
    assert not created and again.id == first.id
    changed = QueuePolicy.model_validate({"never_attempted": {"weight": 100}})
    second, created = queue_service.save_policy(session=session, policy=changed, actor="ops")
    assert created and second.version == 2
    assert queue_service.current_policy(session=session).policy == changed
    # Going back to an earlier content is a new version, which is then in force.
    third, created = queue_service.save_policy(session=session, policy=QueuePolicy(), actor="ops")
    assert created and third.version == 3 and third.sha256 == first.sha256
    assert [row.version for row in queue_service.list_policies(session=session)] == [1, 2, 3]
    assert queue_service.get_policy(session=session, version=2).rules == changed.canonical()
    with pytest.raises(NotFound):
        queue_service.get_policy(session=session, version=9)


def test_a_policy_naming_an_unknown_bucket_is_refused(session):
    with pytest.raises(RuleViolation, match="M9"):
        queue_service.save_policy(session=session, policy=QueuePolicy(bucket_weights={"M9": 3}), actor="ops")


# --- assignment -------------------------------------------------------------------------------


def test_assign_writes_history_and_is_idempotent(session, shop):
    manager, c1, c2 = principal_of(shop["manager"]), shop["c1"], shop["c2"]
    case = shop["cases"][0]
    version = case.version
    result = assignment.assign_cases(session=session, principal=manager, case_nos=[case.case_no, case.case_no],
                                     collector_user_id=c1.id, actor="user:m")
    assert result.changed == [case.case_no] and result.unchanged == []
    assert case.collector_user_id == c1.id and case.version == version + 1
    again = assignment.assign_cases(session=session, principal=manager, case_nos=[case.case_no],
                                    collector_user_id=c1.id, actor="user:m")
    assert again.changed == [] and again.unchanged == [case.case_no]
    assignment.assign_cases(session=session, principal=manager, case_nos=[case.case_no], collector_user_id=c2.id,
                            actor="user:m")
    assignment.assign_cases(session=session, principal=manager, case_nos=[case.case_no], collector_user_id=None,
                            actor="user:m")
    history = [(row.previous_user_id, row.collector_user_id, row.assigned_by)
               for row in assignment.case_assignments(session=session, case_id=case.id)]
    assert history == [(None, c1.id, "user:m"), (c1.id, c2.id, "user:m"), (c2.id, None, "user:m")]
    assert case.collector_user_id is None


def test_a_batch_with_an_invisible_case_writes_nothing(session, shop):
    other = make_world(session)
    numbers = [shop["cases"][0].case_no, other.case.case_no]
    with pytest.raises(NotFound, match=other.case.case_no):
        assignment.assign_cases(session=session, principal=principal_of(shop["manager"]), case_nos=numbers,
                                collector_user_id=shop["c1"].id, actor="m")
    assert session.scalar(select(func.count()).select_from(CaseAssignment)) == 0
    assert shop["cases"][0].collector_user_id is None
    closed = shop["cases"][1]
    closed.status = CaseStatus.closed
    session.flush()
    with pytest.raises(NotFound):
        assignment.assign_cases(session=session, principal=admin(), case_nos=[closed.case_no],
                                collector_user_id=shop["c1"].id, actor="m")


def test_only_active_collectors_of_the_agency(session, shop):
    manager = principal_of(shop["manager"])
    case_no = shop["cases"][0].case_no
    with pytest.raises(RuleViolation, match="not a collector"):
        assignment.assign_cases(session=session, principal=manager, case_nos=[case_no],
                                collector_user_id=shop["manager"].id, actor="m")
    shop["c2"].is_active = False
    session.flush()
    with pytest.raises(RuleViolation, match="deactivated"):
        assignment.assign_cases(session=session, principal=manager, case_nos=[case_no],
                                collector_user_id=shop["c2"].id, actor="m")
    stranger = make_user(session, role="collector", agency=make_world(session).agency)
    with pytest.raises(NotFound):  # another agency's people do not exist for this manager
        assignment.assign_cases(session=session, principal=manager, case_nos=[case_no],
                                collector_user_id=stranger.id, actor="m")
    with pytest.raises(RuleViolation, match="not with the agency"):  # the lender sees both: a rule, not a 404
        assignment.assign_cases(session=session, principal=admin(), case_nos=[case_no],
                                collector_user_id=stranger.id, actor="m")
    with pytest.raises(NotFound):
        assignment.assign_cases(session=session, principal=manager, case_nos=[case_no],
                                collector_user_id=987654, actor="m")


def test_a_collector_cannot_reach_cases_of_others(session, shop):
    c1 = principal_of(shop["c1"])
    with pytest.raises(NotFound):
        assignment.assign_cases(session=session, principal=c1, case_nos=[shop["cases"][0].case_no],
                                collector_user_id=shop["c1"].id, actor="c")


def test_assign_case_checks_the_version_under_the_lock(session, shop):
    from weiwai.errors import PreconditionFailed

    case = shop["cases"][0]
    seen = []
    updated = assignment.assign_case(session=session, principal=principal_of(shop["manager"]), case_no=case.case_no,
                                     collector_user_id=shop["c1"].id, actor="m", check_version=seen.append)
    assert seen == [1] and updated.version == 2

    def stale(version):
        raise PreconditionFailed("stale")

    with pytest.raises(PreconditionFailed):
        assignment.assign_case(session=session, principal=principal_of(shop["manager"]), case_no=case.case_no,
                               collector_user_id=None, actor="m", check_version=stale)
    assert updated.collector_user_id == shop["c1"].id


# --- distribution and reassignment ---------------------------------------------------------------


def test_distribute_balances_counts_in_queue_order(session, shop):
    manager = principal_of(shop["manager"])
    for _ in range(5):
        make_case(session, contract=shop["contract"])
    assignment.assign_cases(session=session, principal=manager, case_nos=[shop["cases"][0].case_no],
                            collector_user_id=shop["c1"].id, actor="m")
    result = assignment.distribute(session=session, principal=manager, actor="m", today=TODAY)
    assert result.assigned == 9
    assert result.shares == {shop["c1"].id: (4, 5), shop["c2"].id: (5, 5)}
    assert queue_of(session, manager, unassigned=True).entries == []
    # Round robin in queue order: c2 (fewer cases) got the top case, then they alternate.
    order = [(r.case_no, c.collector_user_id) for r, c in queue_of(session, manager).entries
             if r.case_no != shop["cases"][0].case_no]
    assert [user for _no, user in order][:4] == [shop["c2"].id, shop["c1"].id, shop["c2"].id, shop["c1"].id]
    assert assignment.distribute(session=session, principal=manager, actor="m", today=TODAY).assigned == 0


def test_a_deactivated_collectors_cases_need_reassignment(session, shop):
    manager = principal_of(shop["manager"])
    numbers = [c.case_no for c in shop["cases"][:3]]
    assignment.assign_cases(session=session, principal=manager, case_nos=numbers, collector_user_id=shop["c1"].id,
                            actor="m")
    assert queue_of(session, manager, needs_reassignment=True).entries == []
    shop["c1"].is_active = False
    session.flush()
    orphans = queue_of(session, manager, needs_reassignment=True)
    assert sorted(r.case_no for r, _c in orphans.entries) == sorted(numbers)
    page = queue_service.queue_page(session=session, principal=manager, queue=orphans, offset=0, limit=10)
    assert all(item.needs_reassignment and item.assignee.active is False for item in page.items)
    result = assignment.distribute(session=session, principal=manager, actor="m", today=TODAY)
    assert result.assigned == 5 and result.shares == {shop["c2"].id: (5, 5)}
    assert queue_of(session, manager, needs_reassignment=True).entries == []


def test_distribute_needs_a_collector(session):
    world = make_world(session)
    manager = principal_of(make_user(session, role="agency_manager", agency=world.agency))
    with pytest.raises(RuleViolation, match="no active collector"):
        assignment.distribute(session=session, principal=manager, actor="m", today=TODAY)


def test_distribute_to_named_collectors(session, shop):
    manager = principal_of(shop["manager"])
    result = assignment.distribute(session=session, principal=manager, collector_user_ids=[shop["c2"].id],
                                   actor="m", today=TODAY)
    assert result.shares == {shop["c2"].id: (5, 5)}
    with pytest.raises(RuleViolation, match="not a collector"):
        assignment.distribute(session=session, principal=manager, collector_user_ids=[shop["manager"].id],
                              actor="m", today=TODAY)
