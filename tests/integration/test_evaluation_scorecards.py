"""Stored scorecards, what allocation reads from them, and the scorecards job."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from factories_reports import AS_OF, make_agency, make_batch, make_case, make_contract, make_recovery
from weiwai.placements.models import BatchStatus
from weiwai.reports.evaluation import evaluate_agencies
from weiwai.reports.models import Scorecard
from weiwai.reports.scorecards import (
    latest_performance,
    list_scorecards,
    save_scorecards,
    scorecards_job,
    store_active_scorecards,
    store_batch_scorecards,
)

D = Decimal
EASY = ("M1", "0-2k", "广东")
HARD = ("M3", "0-2k", "广东")


def _place(session, batch, agency, bucket, recoveries):
    contract = make_contract(session, agency=agency)
    for amount in recoveries:
        case = make_case(session, batch=batch, agency=agency, contract=contract, bucket=bucket)
        if amount:
            make_recovery(session, case=case, amount=amount)


def _two_agency_batch(session):
    batch = make_batch(session)
    a, b = make_agency(session, code="SC-A"), make_agency(session, code="SC-B")
    _place(session, batch, a, "M1", ["500.00", "500.00", "500.00"])
    _place(session, batch, a, "M3", ["100.00"])
    _place(session, batch, b, "M1", ["600.00"])
    _place(session, batch, b, "M3", ["200.00", "200.00", "200.00"])
    return batch, a, b


def test_scorecards_are_stored_per_agency_and_stratum_with_a_rollup(session):
    batch, a, b = _two_agency_batch(session)
    rows = store_batch_scorecards(session=session, batch_no=batch.batch_no, as_of=AS_OF)

    keys = {(r.agency_id, r.bucket, r.balance_band, r.region) for r in rows}
    assert keys == {(a.id, *EASY), (a.id, *HARD), (b.id, *EASY), (b.id, *HARD), (a.id, "*", "*", "*"),
                    (b.id, "*", "*", "*")}
    by_key = {(r.agency_id, r.bucket): r for r in rows}
    easy_a = by_key[(a.id, "M1")]
    assert easy_a.cases == 3 and easy_a.as_of == AS_OF and easy_a.batch_id == batch.id
    assert easy_a.metrics["recovery_rate_amount"] == "0.500000"
    assert easy_a.metrics["recovered"] == "1500.00"
    assert easy_a.metrics["contact_rate"] is None  # no attempts: n/a
    rollup_a = by_key[(a.id, "*")]
    assert rollup_a.cases == 4
    assert D(rollup_a.metrics["recovery_rate_amount"]) == D("0.3")  # mix-adjusted, not the naive 0.4
    assert D(rollup_a.metrics["mix_share"]) == D("1")
    for row in rows:  # every value is a decimal string or null
        for value in row.metrics.values():
            assert value is None or D(value) == D(value)


def test_restoring_the_same_day_replaces_the_rows(session):
    batch, _a, _b = _two_agency_batch(session)
    store_batch_scorecards(session=session, batch_no=batch.batch_no, as_of=AS_OF)
    store_batch_scorecards(session=session, batch_no=batch.batch_no, as_of=AS_OF)
    count = len(session.scalars(select(Scorecard).where(Scorecard.batch_id == batch.id)).all())
    assert count == 6


def test_latest_performance_reads_the_newest_scorecards(session):
    batch, a, b = _two_agency_batch(session)
    store_batch_scorecards(session=session, batch_no=batch.batch_no, as_of=date(2024, 3, 10))
    # More money comes in for A's hard case; the newer scorecard must win.
    hard_case = next(c for c in batch.cases if c.agency_id == a.id and c.bucket == "M3")
    make_recovery(session, case=hard_case, amount="300.00")
    store_batch_scorecards(session=session, batch_no=batch.batch_no, as_of=date(2024, 3, 20))

    performance = latest_performance(session=session)
    assert performance[a.id] == {EASY: D("0.5"), HARD: D("0.4")}
    assert performance[b.id] == {EASY: D("0.6"), HARD: D("0.2")}
    # As of a day before the second run, the first run is the newest.
    assert latest_performance(session=session, as_of=date(2024, 3, 15))[a.id][HARD] == D("0.1")
    assert latest_performance(session=session, as_of=date(2024, 3, 1)) == {}


def test_latest_performance_pools_batches_scored_the_same_day(session):
    agency = make_agency(session)
    first, second = make_batch(session), make_batch(session)
    _place(session, first, agency, "M1", ["100.00"])  # 10 %
    _place(session, second, agency, "M1", ["300.00", None, None])  # 10 % of 3,000
    _place(session, second, agency, "M1", ["900.00"])
    for batch in (first, second):
        store_batch_scorecards(session=session, batch_no=batch.batch_no, as_of=AS_OF)
    # (100 + 300 + 900) / (1,000 + 4,000)
    assert latest_performance(session=session)[agency.id] == {EASY: D("0.26")}


def test_the_job_scores_active_and_recently_closed_batches_as_of_the_day_before(session):
    active, _a, _b = _two_agency_batch(session)
    # Closed ten days before the as-of day: late grace payments still count, so it is scored.
    recently_closed = make_batch(session, status=BatchStatus.closed, closed_at=datetime(2024, 3, 21, tzinfo=UTC))
    _place(session, recently_closed, make_agency(session), "M1", ["100.00"])
    long_closed = make_batch(session, status=BatchStatus.closed, closed_at=datetime(2024, 2, 10, tzinfo=UTC))
    long_closed.activated_at = datetime(2024, 1, 2, tzinfo=UTC)
    _place(session, long_closed, make_agency(session), "M1", ["100.00"])
    discarded = make_batch(session, status=BatchStatus.draft)
    _place(session, discarded, make_agency(session), "M1", [None])

    result = scorecards_job(session=session, run_for=date(2024, 4, 1))
    assert result == {"batches": 2, "scorecards": 6 + 2}
    stored = set(session.scalars(select(Scorecard.batch_id).where(Scorecard.as_of == AS_OF)))
    assert stored == {active.id, recently_closed.id}
    again = store_active_scorecards(session=session, as_of=AS_OF)
    assert again == result  # re-running the day replaces, never doubles
    assert len(session.scalars(select(Scorecard)).all()) == 8


def test_the_job_is_registered_to_run_daily_after_expiry():
    from weiwai.jobs.registry import get_job

    job = get_job("scorecards")
    assert job.func is scorecards_job
    assert job.due(date(2024, 3, 17))
    assert job.order > get_job("expire_cases").order


def test_list_scorecards_defaults_to_the_newest_day_of_each_batch(session):
    batch, a, _b = _two_agency_batch(session)
    store_batch_scorecards(session=session, batch_no=batch.batch_no, as_of=date(2024, 3, 10))
    store_batch_scorecards(session=session, batch_no=batch.batch_no, as_of=date(2024, 3, 20))
    rows, total = list_scorecards(session=session, batch_no=batch.batch_no)
    assert total == 6 and {r.as_of for r in rows} == {date(2024, 3, 20)}
    rows, total = list_scorecards(session=session, batch_no=batch.batch_no, agency_id=a.id, as_of=date(2024, 3, 10))
    assert total == 3 and {r.agency_id for r in rows} == {a.id}
    rows, total = list_scorecards(session=session, batch_no=batch.batch_no, limit=2, offset=1)
    assert total == 6 and len(rows) == 2


def test_only_a_batch_evaluation_makes_scorecards(session):
    _two_agency_batch(session)
    period = evaluate_agencies(session=session, date_from=date(2024, 3, 1), date_to=AS_OF)
    with pytest.raises(ValueError):
        save_scorecards(session=session, evaluation=period)
