"""The attribution rules as pure functions: case, grace or direct, at the edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from weiwai.payments.attribution import CaseSpan, attribute, is_commissionable, last_grace_day, recovered_amount
from weiwai.payments.models import AttributionKind
from weiwai.placements.models import CaseStatus, CloseReason

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int, tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)


def span(case_id=1, agency_id=10, placed=local(2024, 3, 1, 9), ended=None, status=CaseStatus.working,
         close_reason=None, grace_days=0) -> CaseSpan:
    return CaseSpan(case_id=case_id, agency_id=agency_id, placed_at=placed, ended_at=ended, status=status,
                    close_reason=close_reason, grace_days=grace_days)


RECALL = local(2024, 3, 10, 14, 0)
RECALLED = span(ended=RECALL, status=CaseStatus.closed, close_reason=CloseReason.recalled, grace_days=5)


def kind_of(paid_at: datetime, *cases: CaseSpan, tz: ZoneInfo = SHANGHAI) -> AttributionKind:
    return attribute(paid_at=paid_at, cases=cases, tz=tz).kind


def test_payment_while_the_case_is_open_is_the_agencys():
    decision = attribute(paid_at=local(2024, 3, 5, 12), cases=[span()], tz=SHANGHAI)
    assert (decision.kind, decision.case_id, decision.agency_id) == (AttributionKind.case, 1, 10)


def test_placement_moment_itself_is_open_and_just_before_is_not():
    assert kind_of(local(2024, 3, 1, 9), span()) == AttributionKind.case
    assert kind_of(local(2024, 3, 1, 9) - timedelta(microseconds=1), span()) == AttributionKind.direct


def test_recall_day_before_the_recall_moment_is_case():
    assert kind_of(RECALL - timedelta(seconds=1), RECALLED) == AttributionKind.case


def test_recall_day_at_and_after_the_recall_moment_is_grace():
    assert kind_of(RECALL, RECALLED) == AttributionKind.grace
    assert kind_of(local(2024, 3, 10, 23, 59), RECALLED) == AttributionKind.grace


def test_zero_grace_days_still_cover_the_rest_of_the_recall_day():
    no_grace = span(ended=RECALL, status=CaseStatus.recalled, grace_days=0)
    assert kind_of(local(2024, 3, 10, 23, 59, 59), no_grace) == AttributionKind.grace
    assert kind_of(local(2024, 3, 11, 0, 0), no_grace) == AttributionKind.direct


def test_last_grace_day_is_inclusive_and_the_day_after_is_direct():
    assert last_grace_day(RECALLED, SHANGHAI).isoformat() == "2024-03-15"
    assert kind_of(local(2024, 3, 15, 23, 59, 59), RECALLED) == AttributionKind.grace
    assert kind_of(local(2024, 3, 16, 0, 0), RECALLED) == AttributionKind.direct


def test_grace_days_are_counted_in_the_debtors_local_days():
    urumqi = ZoneInfo("Asia/Urumqi")  # UTC+6, two hours behind Beijing
    case = span(ended=local(2024, 3, 10, 12, tz=urumqi), status=CaseStatus.recalled, grace_days=1)
    # 2024-03-12 01:00 in Beijing is still 2024-03-11 23:00 in Urumqi: the last grace day there.
    moment = local(2024, 3, 12, 1, 0)
    assert kind_of(moment, case, tz=urumqi) == AttributionKind.grace
    assert kind_of(moment, case, tz=SHANGHAI) == AttributionKind.direct


def test_no_case_ever_is_direct():
    assert attribute(paid_at=local(2024, 3, 5), cases=[], tz=SHANGHAI) == attribute(
        paid_at=local(2024, 3, 5), cases=(), tz=SHANGHAI
    )
    assert kind_of(local(2024, 3, 5)) == AttributionKind.direct


def test_payment_before_the_first_placement_is_direct():
    assert kind_of(local(2024, 2, 28), span()) == AttributionKind.direct


@pytest.mark.parametrize("status", [CaseStatus.expired, CaseStatus.returned, CaseStatus.recalled])
def test_grace_after_expiry_return_or_recall_whether_closed_yet_or_not(status):
    ended = local(2024, 3, 31, 23, 0)
    open_ended = span(ended=ended, status=status, grace_days=3)
    closed = span(ended=ended, status=CaseStatus.closed, close_reason=CloseReason(str(status)), grace_days=3)
    for case in (open_ended, closed):
        assert kind_of(local(2024, 4, 3, 10), case) == AttributionKind.grace
        assert kind_of(local(2024, 4, 4, 0), case) == AttributionKind.direct


@pytest.mark.parametrize("reason", [CloseReason.paid_in_full, CloseReason.settled, CloseReason.written_off,
                                    CloseReason.referred_to_litigation])
def test_no_grace_after_other_endings(reason):
    case = span(ended=RECALL, status=CaseStatus.closed, close_reason=reason, grace_days=30)
    assert kind_of(local(2024, 3, 11), case) == AttributionKind.direct


def test_two_successive_cases_with_different_agencies():
    first = span(case_id=1, agency_id=10, ended=RECALL, status=CaseStatus.closed,
                 close_reason=CloseReason.recalled, grace_days=5)
    second = span(case_id=2, agency_id=20, placed=local(2024, 3, 12, 9))
    between = attribute(paid_at=local(2024, 3, 11), cases=[first, second], tz=SHANGHAI)
    assert (between.kind, between.agency_id) == (AttributionKind.grace, 10)
    # Still inside the first agency's grace days, but the new case is open: it wins.
    during = attribute(paid_at=local(2024, 3, 13), cases=[first, second], tz=SHANGHAI)
    assert (during.kind, during.agency_id) == (AttributionKind.case, 20)


def test_grace_belongs_to_the_last_case_that_ended():
    older = span(case_id=1, agency_id=10, placed=local(2024, 1, 1), ended=local(2024, 2, 1),
                 status=CaseStatus.recalled, grace_days=60)
    newer = span(case_id=2, agency_id=20, placed=local(2024, 2, 2), ended=local(2024, 3, 1),
                 status=CaseStatus.closed, close_reason=CloseReason.paid_in_full)
    # The older case's grace would still run, but the account's last case ended paid: direct.
    assert kind_of(local(2024, 3, 2), older, newer) == AttributionKind.direct


def test_overlapping_history_prefers_the_newer_case():
    old = span(case_id=1, agency_id=10, placed=local(2024, 1, 1))
    new = span(case_id=2, agency_id=20, placed=local(2024, 2, 1))
    assert attribute(paid_at=local(2024, 2, 2), cases=[old, new], tz=SHANGHAI).agency_id == 20


def test_recovered_amount_leaves_out_credit():
    assert recovered_amount(amount=Decimal("1200.00"), applied_credit=Decimal("200.00")) == Decimal("1000.00")
    assert recovered_amount(amount=Decimal("50.00"), applied_credit=Decimal("50.00")) == Decimal("0.00")


def test_only_case_and_grace_are_commissionable():
    assert is_commissionable("case") and is_commissionable(AttributionKind.grace)
    assert not is_commissionable(AttributionKind.direct)
