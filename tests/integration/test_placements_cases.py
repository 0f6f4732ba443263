"""After placement, on SQLite and PostgreSQL: recall, extension, expiry, return,
reassignment, and batches closing when their cases have all ended."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from factories_cycle import AS_OF, make_complaint, make_placeable_account, make_rule_set, make_usable_agency
from weiwai.agencies.models import AgencyStatus
from weiwai.errors import Conflict, RuleViolation
from weiwai.placements import batches, cases
from weiwai.placements.common import start_of_local_day
from weiwai.placements.models import BatchStatus, Case, CaseStatus, CaseStatusChange, CloseReason
from weiwai.placements.strategy import StrategySpec
from weiwai.security.models import AuditEvent

AT = datetime(2024, 3, 10, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def english():
    from weiwai.i18n import using_locale

    with using_locale("en"):
        yield


def placed_batch(session, *, accounts=4, agency_codes=("AG1",), placement_days=30, rules=None):
    for code in agency_codes:
        make_usable_agency(session, code=code, placement_days=placement_days)
    for _ in range(accounts):
        make_placeable_account(session)
    draft = batches.create_batch(session=session, rule_set=make_rule_set(session, rules=rules),
                                 strategy=StrategySpec(name="equal_count"), as_of=AS_OF, actor="t")
    return batches.confirm_batch(session=session, batch_no=draft.batch_no, actor="t",
                                 at=datetime(2024, 3, 1, 2, tzinfo=UTC))


def batch_cases(session, batch) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.batch_id == batch.id).order_by(Case.case_no)))


def statuses(session, case) -> list[tuple]:
    return [(h.from_status, h.to_status) for h in session.scalars(
        select(CaseStatusChange).where(CaseStatusChange.case_id == case.id).order_by(CaseStatusChange.id))]


def test_recall_one_case_with_a_reason(session):
    batch = placed_batch(session)
    first, *_ = batch_cases(session, batch)
    outcome = cases.recall_cases(session=session, reason="debtor complaint", actor="ops", case_nos=[first.case_no],
                                 at=AT)
    assert outcome.cases == [first.case_no] and outcome.closed_batches == []
    assert (first.status, first.close_reason, first.ended_at, first.end_note) == (
        CaseStatus.closed, CloseReason.recalled, AT, "debtor complaint")
    assert statuses(session, first) == [(None, "placed"), ("placed", "recalled"), ("recalled", "closed")]
    with pytest.raises(Conflict, match="only open cases"):
        cases.recall_cases(session=session, reason="again", actor="ops", case_nos=[first.case_no])
    with pytest.raises(RuleViolation, match="reason is required"):
        cases.recall_cases(session=session, reason="  ", actor="ops", case_nos=[first.case_no])


def test_recall_all_open_cases_of_an_agency(session):
    batch = placed_batch(session, accounts=6, agency_codes=("R1", "R2"))
    outcome = cases.recall_cases(session=session, reason="contract suspended", actor="ops", agency="R1", at=AT)
    recalled = {c.case_no for c in batch_cases(session, batch) if c.close_reason == CloseReason.recalled}
    assert set(outcome.cases) == recalled and len(recalled) == 3
    assert batch.status == BatchStatus.active


def test_recall_a_whole_batch_closes_it(session):
    batch = placed_batch(session, accounts=3)
    outcome = cases.recall_cases(session=session, reason="strategy change", actor="ops", batch=batch.batch_no, at=AT)
    assert len(outcome.cases) == 3 and outcome.closed_batches == [batch.batch_no]
    assert batch.status == BatchStatus.closed and batch.closed_at == AT


def test_extension_moves_the_period_end_and_is_recorded(session):
    batch = placed_batch(session, placement_days=30)
    case = batch_cases(session, batch)[0]
    cases.extend_case(session=session, case_no=case.case_no, days=15, reason="promise pending", actor="ops", at=AT)
    cases.extend_case(session=session, case_no=case.case_no, days=5, reason="again", actor="ops", at=AT)
    assert case.period_ends_on == AS_OF + timedelta(days=50) and case.extended_count == 2
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.extended",
                                                      AuditEvent.entity_id == str(case.id))).all()
    assert [e.details["days"] for e in events] == [15, 5]
    assert events[0].details["from"] == "2024-03-31" and events[0].details["to"] == "2024-04-15"


def test_extension_only_for_open_cases_and_within_the_contract(session):
    batch = placed_batch(session)
    open_case, closed_case, *_ = batch_cases(session, batch)
    cases.return_case(session=session, case_no=closed_case.case_no, reason="unreachable", actor="agency")
    with pytest.raises(Conflict, match="only open cases can be extended"):
        cases.extend_case(session=session, case_no=closed_case.case_no, days=10, reason="x", actor="ops", at=AT)
    with pytest.raises(RuleViolation, match="after contract"):
        cases.extend_case(session=session, case_no=open_case.case_no, days=365 * 2, reason="x", actor="ops", at=AT)
    with pytest.raises(RuleViolation, match="not usable"):
        cases.extend_case(session=session, case_no=open_case.case_no, days=5, reason="x", actor="ops",
                          at=datetime(2026, 1, 5, tzinfo=UTC))
    assert open_case.extended_count == 0


def test_expiry_job_ends_cases_after_their_period_and_is_idempotent(session):
    batch = placed_batch(session, accounts=3, placement_days=30)
    early, late, recalled = batch_cases(session, batch)
    cases.extend_case(session=session, case_no=late.case_no, days=10, reason="x", actor="ops", at=AT)
    cases.recall_cases(session=session, reason="x", actor="ops", case_nos=[recalled.case_no], at=AT)
    assert cases.expire_due_cases(session=session, run_for=date(2024, 3, 31)) == {"expired": 0, "closed_batches": []}
    result = cases.expire_due_cases(session=session, run_for=date(2024, 4, 1))
    assert result == {"expired": 1, "closed_batches": []}
    assert (early.status, early.close_reason) == (CaseStatus.closed, CloseReason.expired)
    # With its agency through the last day: it ended when 1 April began in Shanghai.
    assert early.ended_at == start_of_local_day(date(2024, 4, 1)) == datetime(2024, 3, 31, 16, tzinfo=UTC)
    assert statuses(session, early)[-2:] == [("placed", "expired"), ("expired", "closed")]
    assert cases.expire_due_cases(session=session, run_for=date(2024, 4, 1)) == {"expired": 0, "closed_batches": []}
    # Running late still ends the extended case at its own period end, and closes the batch.
    result = cases.expire_due_cases(session=session, run_for=date(2024, 4, 20))
    assert result == {"expired": 1, "closed_batches": [batch.batch_no]}
    assert late.ended_at == start_of_local_day(date(2024, 4, 11))
    assert batch.status == BatchStatus.closed and batch.closed_at == late.ended_at


def test_agency_returns_a_case(session):
    batch = placed_batch(session, accounts=1)
    case = batch_cases(session, batch)[0]
    outcome = cases.return_case(session=session, case_no=case.case_no, reason="debtor abroad", actor="agency:AG1",
                                at=AT)
    assert (case.status, case.close_reason, case.ended_at) == (CaseStatus.closed, CloseReason.returned, AT)
    assert statuses(session, case)[-2:] == [("placed", "returned"), ("returned", "closed")]
    assert outcome.closed_batches == [batch.batch_no]


def test_reassign_a_returned_case_to_another_agency(session):
    batch = placed_batch(session, accounts=2, agency_codes=("FIRST",))
    make_usable_agency(session, code="SECOND", placement_days=45)
    returned, still_open = batch_cases(session, batch)
    cases.return_case(session=session, case_no=returned.case_no, reason="unreachable", actor="agency", at=AT)
    outcome = cases.reassign_cases(session=session, case_nos=[returned.case_no], agency="SECOND",
                                   reason="second placement", actor="ops", as_of=date(2024, 3, 11), at=AT)
    assert outcome.new_batch == "B20240311-1" and outcome.cases == ["C20240311-1-000001"]
    new = cases.get_case(session=session, case_no=outcome.cases[0])
    assert new.previous_case_id == returned.id and new.account_id == returned.account_id
    assert new.status == CaseStatus.placed and new.arm == "reassignment"
    assert new.period_ends_on == date(2024, 3, 11) + timedelta(days=45) and new.dpd == 55
    assert new.batch.status == BatchStatus.active
    assert statuses(session, new) == [(None, "placed")]
    read = cases.case_read(session=session, case=new)
    assert read.previous_case_no == returned.case_no and read.agency_code == "SECOND"
    with pytest.raises(RuleViolation, match="already reassigned"):
        cases.reassign_cases(session=session, case_nos=[returned.case_no], agency="SECOND", reason="x", actor="ops",
                             as_of=date(2024, 3, 11))
    with pytest.raises(RuleViolation, match="still open"):
        cases.reassign_cases(session=session, case_nos=[still_open.case_no], agency="SECOND", reason="x",
                             actor="ops", as_of=date(2024, 3, 11))


def test_reassignment_respects_cooling_off_and_the_same_constraints(session):
    batch = placed_batch(session, accounts=3, agency_codes=("FIRST",))
    make_usable_agency(session, code="NARROW", buckets=["M4"])
    make_usable_agency(session, code="FULL", capacity_cases=0)
    make_usable_agency(session, code="SUSP", status=AgencyStatus.suspended)
    a, b, c = batch_cases(session, batch)
    for case in (a, b, c):
        cases.return_case(session=session, case_no=case.case_no, reason="x", actor="agency", at=AT)
    day = date(2024, 3, 11)
    with pytest.raises(RuleViolation, match="reassign to another agency"):
        cases.reassign_cases(session=session, case_nos=[a.case_no], agency="FIRST", reason="x", actor="ops",
                             as_of=day)
    with pytest.raises(RuleViolation, match="no usable contract of NARROW"):
        cases.reassign_cases(session=session, case_nos=[a.case_no], agency="NARROW", reason="x", actor="ops",
                             as_of=day)
    with pytest.raises(RuleViolation, match="over capacity"):
        cases.reassign_cases(session=session, case_nos=[a.case_no], agency="FULL", reason="x", actor="ops", as_of=day)
    with pytest.raises(RuleViolation, match="not active"):
        cases.reassign_cases(session=session, case_nos=[a.case_no], agency="SUSP", reason="x", actor="ops", as_of=day)
    make_complaint(session, account=_account(session, b))
    with pytest.raises(RuleViolation, match="open complaint"):
        cases.reassign_cases(session=session, case_nos=[a.case_no, b.case_no], agency="NARROW", reason="x",
                             actor="ops", as_of=day)
    assert session.scalar(select(Case).where(Case.previous_case_id.is_not(None))) is None


def test_cooling_off_also_blocks_reassignment_back(session):
    batch = placed_batch(session, accounts=1, agency_codes=("ONE",))
    make_usable_agency(session, code="TWO")
    first = batch_cases(session, batch)[0]
    cases.return_case(session=session, case_no=first.case_no, reason="x", actor="agency", at=AT)
    second = cases.reassign_cases(session=session, case_nos=[first.case_no], agency="TWO", reason="x", actor="ops",
                                  as_of=date(2024, 3, 11), at=AT + timedelta(days=1))
    second_case = cases.get_case(session=session, case_no=second.cases[0])
    cases.recall_cases(session=session, reason="x", actor="ops", case_nos=[second_case.case_no],
                       at=AT + timedelta(days=2))
    with pytest.raises(RuleViolation, match="cooling-off"):
        cases.reassign_cases(session=session, case_nos=[second_case.case_no], agency="ONE", reason="x",
                             actor="ops", as_of=date(2024, 3, 13))
    third = cases.reassign_cases(session=session, case_nos=[second_case.case_no], agency="ONE", reason="x",
                                 actor="ops", as_of=date(2024, 4, 20))
    assert cases.get_case(session=session, case_no=third.cases[0]).previous_case_id == second_case.id


def test_two_cases_of_one_account_cannot_both_be_reassigned(session):
    batch = placed_batch(session, accounts=1, agency_codes=("ONE",))
    make_usable_agency(session, code="TWO")
    first = batch_cases(session, batch)[0]
    cases.recall_cases(session=session, reason="x", actor="ops", case_nos=[first.case_no], at=AT)
    # The account was placed again by a later batch, and that case was recalled too.
    later = placed_again(session, first.account_id, agency_code="ONE")
    cases.recall_cases(session=session, reason="x", actor="ops", case_nos=[later.case_no], at=AT)
    with pytest.raises(RuleViolation, match="same account"):
        cases.reassign_cases(session=session, case_nos=[first.case_no, later.case_no], agency="TWO", reason="x",
                             actor="ops", as_of=date(2024, 3, 11))


def placed_again(session, account_id, *, agency_code):
    from factories_cycle import make_case
    from weiwai.agencies.models import Agency
    from weiwai.portfolio.models import Account

    agency = session.scalar(select(Agency).where(Agency.code == agency_code))
    return make_case(session, account=session.get(Account, account_id), agency=agency)


def _account(session, case):
    from weiwai.portfolio.models import Account

    return session.get(Account, case.account_id)
