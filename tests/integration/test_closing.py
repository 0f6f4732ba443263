"""Closing cases for every reason, from open and ended states, and refusing what is not allowed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from factories_reports import make_account, make_agency, make_batch, make_case
from weiwai.errors import IllegalTransition, NotFound, RuleViolation
from weiwai.i18n import using_locale
from weiwai.placements.models import Case, CaseStatus, CaseStatusChange, CloseReason
from weiwai.portfolio.models import Account, AccountStatus
from weiwai.reports.closing import ENDING_STATE, close_case, close_cases, close_ended_cases

AT = datetime(2024, 3, 20, 6, 0, tzinfo=UTC)
OPEN = (CaseStatus.placed, CaseStatus.working, CaseStatus.promised)
ENDED = (CaseStatus.paid, CaseStatus.settled, CaseStatus.returned, CaseStatus.recalled, CaseStatus.expired)


@pytest.fixture(autouse=True)
def english():
    # Messages are matched in English; the default locale is Chinese.
    with using_locale("en"):
        yield


@pytest.fixture
def new_case(session):
    batch = make_batch(session)
    agency = make_agency(session)

    def factory(status: CaseStatus, *, owing: str = "0.00") -> Case:
        account = make_account(session, balance=owing)
        ended_at = None if status in OPEN else datetime(2024, 3, 15, tzinfo=UTC)
        return make_case(session, batch=batch, agency=agency, account=account, status=status, ended_at=ended_at)

    return factory


def _history(session, case):
    changes = session.scalars(
        select(CaseStatusChange).where(CaseStatusChange.case_id == case.id).order_by(CaseStatusChange.id)
    ).all()
    return [(c.from_status, c.to_status) for c in changes]


@pytest.mark.parametrize("status,reason", list(itertools.product(OPEN, CloseReason)))
def test_every_reason_closes_an_open_case(session, new_case, status, reason):
    case = new_case(status)
    closed = close_case(session=session, case_id=case.id, reason=reason, actor="test", note="done", at=AT)
    assert closed.status == CaseStatus.closed
    assert closed.close_reason == reason
    assert closed.ended_at == AT
    assert closed.end_note == "done"
    ending = ENDING_STATE.get(reason)
    expected = [(status, ending), (ending, "closed")] if ending else [(status, "closed")]
    assert _history(session, case) == expected


@pytest.mark.parametrize("status,reason", list(itertools.product(ENDED, CloseReason)))
def test_an_ended_case_closes_only_with_a_consistent_reason(session, new_case, status, reason):
    case = new_case(status)
    ending = ENDING_STATE.get(reason)
    if ending is not None and ending != status:
        with pytest.raises(IllegalTransition):
            close_case(session=session, case_id=case.id, reason=reason, actor="test", at=AT)
        assert case.status == status
        assert _history(session, case) == []
        return
    closed = close_case(session=session, case_id=case.id, reason=reason, actor="test", at=AT)
    assert (closed.status, closed.close_reason) == (CaseStatus.closed, reason)
    assert closed.ended_at == datetime(2024, 3, 15, tzinfo=UTC)  # ended when it ended, not when closed
    assert _history(session, case) == [(status, "closed")]


@pytest.mark.parametrize("reason", list(CloseReason))
def test_a_closed_case_cannot_be_closed_again(session, new_case, reason):
    case = new_case(CaseStatus.working)
    close_case(session=session, case_id=case.id, reason=CloseReason.recalled, actor="test", at=AT)
    with pytest.raises(IllegalTransition, match="already closed"):
        close_case(session=session, case_id=case.id, reason=reason, actor="test", at=AT)
    assert case.close_reason == CloseReason.recalled


def test_writing_off_closes_the_case_and_writes_off_the_account(session, new_case):
    case = new_case(CaseStatus.expired, owing="3200.00")
    close_case(session=session, case_id=case.id, reason=CloseReason.written_off, actor="test", at=AT)
    session.flush()
    account = session.get(Account, case.account_id)
    assert account.status == AccountStatus.written_off
    assert case.close_reason == CloseReason.written_off


def test_a_case_still_owing_is_not_paid_in_full(session, new_case):
    case = new_case(CaseStatus.working, owing="10.00")
    with pytest.raises(RuleViolation, match="not paid in full"):
        close_case(session=session, case_id=case.id, reason=CloseReason.paid_in_full, actor="test", at=AT)
    assert case.status == CaseStatus.working


def test_a_paid_off_account_cannot_be_written_off(session):
    batch, agency = make_batch(session), make_agency(session)
    account = make_account(session, balance="0.00", status=AccountStatus.paid_off)
    case = make_case(session, batch=batch, agency=agency, account=account, status=CaseStatus.working)
    with pytest.raises(RuleViolation, match="nothing to write off"):
        close_case(session=session, case_id=case.id, reason=CloseReason.written_off, actor="test", at=AT)


def test_closing_an_unknown_case_is_not_found(session):
    with pytest.raises(NotFound):
        close_case(session=session, case_id=987654321, reason=CloseReason.expired, actor="test")


def test_bulk_closing_is_all_or_nothing(session, new_case):
    good, closed_already = new_case(CaseStatus.working), new_case(CaseStatus.placed)
    close_case(session=session, case_id=closed_already.id, reason=CloseReason.recalled, actor="test", at=AT)
    with pytest.raises(IllegalTransition, match="1 case"):
        close_cases(session=session, case_ids=[good.id, closed_already.id], reason=CloseReason.returned,
                    actor="test", at=AT)
    assert good.status == CaseStatus.working

    others = [new_case(CaseStatus.placed), new_case(CaseStatus.promised)]
    closed = close_cases(session=session, case_ids=[c.id for c in [good, *others]],
                         reason=CloseReason.referred_to_litigation, actor="test", at=AT)
    assert {c.id for c in closed} == {good.id, *(c.id for c in others)}
    assert {(c.status, c.close_reason) for c in closed} == {(CaseStatus.closed, CloseReason.referred_to_litigation)}


def test_bulk_closing_refuses_unknown_ids(session, new_case):
    case = new_case(CaseStatus.working)
    with pytest.raises(NotFound):
        close_cases(session=session, case_ids=[case.id, 987654321], reason=CloseReason.expired, actor="test")
    assert case.status == CaseStatus.working


def test_close_ended_cases_closes_each_with_the_reason_of_its_state(session, new_case):
    cases = {status: new_case(status) for status in (*ENDED, CaseStatus.working)}
    assert close_ended_cases(session=session, actor="job", batch_id=cases[CaseStatus.paid].batch_id, at=AT) == 5
    assert cases[CaseStatus.working].status == CaseStatus.working
    for status in ENDED:
        assert cases[status].status == CaseStatus.closed
    assert cases[CaseStatus.recalled].close_reason == CloseReason.recalled
    assert cases[CaseStatus.expired].close_reason == CloseReason.expired
    assert cases[CaseStatus.paid].close_reason == CloseReason.paid_in_full
