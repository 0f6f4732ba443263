"""Evaluation of a batch and of a period on SQLite and PostgreSQL, against hand-computed figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from factories_reports import (
    AS_OF,
    PLACED_AT,
    make_action,
    make_agency,
    make_batch,
    make_case,
    make_commission,
    make_complaint,
    make_contract,
    make_promise,
    make_recovery,
)
from weiwai.collection.models import Outcome, Party, PromiseStatus
from weiwai.errors import NotFound, RuleViolation
from weiwai.payments.models import AttributionKind
from weiwai.placements.models import CaseStatus
from weiwai.reports.evaluation import evaluate_agencies, evaluate_batch
from weiwai.settlement.models import EntryKind

D = Decimal
EASY = ("M1", "0-2k", "广东")
HARD = ("M3", "0-2k", "广东")


def _overall(evaluation, agency):
    return next(o for o in evaluation.overall if o.agency_id == agency.id)


def _in_stratum(evaluation, stratum, agency):
    found = next(s for s in evaluation.strata if (s.bucket, s.balance_band, s.region) == stratum)
    return next(r for r in found.agencies if r.agency_id == agency.id)


def _hours(value):
    return value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def _place(session, batch, agency, bucket, count, recovered_each=None):
    contract = make_contract(session, agency=agency)
    cases = []
    for _ in range(count):
        case = make_case(session, batch=batch, agency=agency, contract=contract, bucket=bucket)
        if recovered_each:
            make_recovery(session, case=case, amount=recovered_each)
        cases.append(case)
    return cases


def test_mix_adjusted_overall_differs_from_the_naive_one_when_mixes_differ(session):
    # A got mostly easy M1 cases, B mostly hard M3 cases; B does better in BOTH strata.
    # Every case owes 1,000.00. Batch mix: 4 easy + 4 hard = weights 1/2, 1/2.
    #   A: easy 3 × 500 (50 %), hard 1 × 100 (10 %)  naive 1,600 / 4,000 = 40 %, adjusted 30 %
    #   B: easy 1 × 600 (60 %), hard 3 × 200 (20 %)  naive 1,200 / 4,000 = 30 %, adjusted 40 %
    batch = make_batch(session)
    a, b = make_agency(session, code="A-AGENCY"), make_agency(session, code="B-AGENCY")
    _place(session, batch, a, "M1", 3, "500.00")
    _place(session, batch, a, "M3", 1, "100.00")
    _place(session, batch, b, "M1", 1, "600.00")
    _place(session, batch, b, "M3", 3, "200.00")

    evaluation = evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF)

    assert _in_stratum(evaluation, EASY, a).kpis.recovery_rate_amount == D("0.5")
    assert _in_stratum(evaluation, HARD, a).kpis.recovery_rate_amount == D("0.1")
    assert _in_stratum(evaluation, EASY, b).kpis.recovery_rate_amount == D("0.6")
    assert _in_stratum(evaluation, HARD, b).kpis.recovery_rate_amount == D("0.2")
    assert _overall(evaluation, a).as_placed.recovery_rate_amount == D("0.4")
    assert _overall(evaluation, b).as_placed.recovery_rate_amount == D("0.3")
    assert _overall(evaluation, a).mix_adjusted.recovery_rate_amount == D("0.3")
    assert _overall(evaluation, b).mix_adjusted.recovery_rate_amount == D("0.4")
    # Count-based KPIs are reweighted by case share: every case recovered something.
    assert _overall(evaluation, a).mix_adjusted.recovery_rate_count == D("1")
    assert _overall(evaluation, a).mix_share == D("1")
    assert evaluation.totals.cases == 8
    assert evaluation.totals.recovered == D("2800.00")


def test_agencies_are_side_by_side_only_within_a_stratum(session):
    batch = make_batch(session)
    a, b = make_agency(session, code="A-SIDE"), make_agency(session, code="B-SIDE")
    _place(session, batch, a, "M1", 2, "100.00")
    _place(session, batch, b, "M1", 1, "300.00")
    _place(session, batch, a, "M3", 2, "50.00")  # only A holds hard cases

    evaluation = evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF)

    strata = {(s.bucket, s.balance_band, s.region): s for s in evaluation.strata}
    assert set(strata) == {EASY, HARD}
    assert [r.agency_code for r in strata[EASY].agencies] == ["A-SIDE", "B-SIDE"]
    assert [r.agency_code for r in strata[HARD].agencies] == ["A-SIDE"]
    # Each agency's row holds only its cases of that stratum.
    assert _in_stratum(evaluation, EASY, a).facts.cases == 2
    assert _in_stratum(evaluation, EASY, a).facts.recovered == D("200.00")
    assert _in_stratum(evaluation, HARD, a).facts.recovered == D("100.00")
    assert strata[EASY].cases == 3 and strata[EASY].balance_placed == D("3000.00")
    assert strata[EASY].case_weight == D("0.6") and strata[HARD].case_weight == D("0.4")
    # B held 3/5 of the mix; its adjusted figure rests on its one stratum.
    assert _overall(evaluation, b).mix_share == D("0.6")
    assert _overall(evaluation, b).mix_adjusted.recovery_rate_amount == D("0.3")


def test_reversed_payments_are_not_recovered_and_direct_ones_count_for_nobody(session):
    batch = make_batch(session)
    agency = make_agency(session)
    case, other = _place(session, batch, agency, "M1", 2)
    make_recovery(session, case=case, amount="200.00")
    make_recovery(session, case=case, amount="300.00", reversed_at=datetime(2024, 3, 10, tzinfo=UTC))
    make_recovery(session, case=other, amount="400.00", kind=AttributionKind.direct)
    # A grace payment (after the case ended) is the agency's work and counts.
    make_recovery(session, case=other, amount="50.00", kind=AttributionKind.grace,
                  paid_at=datetime(2024, 3, 20, tzinfo=UTC))

    evaluation = evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF)
    facts = _overall(evaluation, agency).facts
    assert facts.recovered == D("250.00")
    assert facts.cases_recovered == 2
    # As of a day before the reversal, the reversed payment still counted.
    earlier = evaluate_batch(session=session, batch_no=batch.batch_no, as_of=date(2024, 3, 9))
    assert _overall(earlier, agency).facts.recovered == D("500.00")
    assert _overall(earlier, agency).facts.cases_recovered == 1


def test_a_case_whose_only_payment_was_reversed_is_not_a_recovered_case(session):
    batch = make_batch(session)
    agency = make_agency(session)
    (case,) = _place(session, batch, agency, "M1", 1)
    make_recovery(session, case=case, amount="300.00", reversed_at=datetime(2024, 3, 10, tzinfo=UTC))
    kpis = _overall(evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF), agency).as_placed
    assert kpis.recovery_rate_count == D("0")
    assert kpis.recovery_rate_amount == D("0")
    assert kpis.cost_to_collect is None  # nothing recovered: n/a, not a division by zero


def test_cost_to_collect_and_net_back_include_fees_and_clawbacks(session):
    batch = make_batch(session)
    agency = make_agency(session)
    first, second = _place(session, batch, agency, "M1", 2)  # 2,000.00 placed
    make_recovery(session, case=first, amount="800.00")
    make_recovery(session, case=second, amount="200.00", reversed_at=datetime(2024, 3, 25, tzinfo=UTC))
    make_commission(session, case=first, amount="80.00", base_amount="800.00")
    make_commission(session, case=second, amount="20.00", base_amount="200.00")
    make_commission(session, case=second, amount="-20.00", kind=EntryKind.clawback, base_amount="-200.00")
    make_commission(session, case=first, amount="15.00", kind=EntryKind.fixed_fee)
    make_commission(session, case=first, amount="99.00", period="2024-04")  # after as_of's month

    kpis = _overall(evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF), agency).as_placed
    # recovered 800; commission and fees 80 + 20 − 20 + 15 = 95
    assert kpis.cost_to_collect == D("0.11875")
    assert kpis.net_back == D("0.3525")  # (800 − 95) / 2,000
    assert kpis.recovery_rate_amount == D("0.4")


def test_contact_rpc_coverage_and_penetration_follow_the_outcome_sets(session):
    batch = make_batch(session)
    agency = make_agency(session)
    worked, reached, silent = _place(session, batch, agency, "M1", 3)
    make_action(session, case=worked, outcome=Outcome.no_answer)
    make_action(session, case=worked, outcome=Outcome.busy)
    make_action(session, case=worked, outcome=Outcome.wrong_party, party=Party.third_party)
    make_action(session, case=reached, outcome=Outcome.right_party_contact)
    make_action(session, case=reached, outcome=Outcome.third_party_contact, party=Party.contact)
    make_action(session, case=silent, outcome=Outcome.sms_sent, channel="sms")  # a notice, not an attempt
    make_action(session, case=silent, outcome=Outcome.right_party_contact,
                occurred_at=datetime(2024, 4, 2, tzinfo=UTC))  # after as_of

    evaluation = evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF)
    facts, kpis = _overall(evaluation, agency).facts, _overall(evaluation, agency).as_placed
    assert (facts.attempts, facts.connected, facts.rpc, facts.cases_attempted) == (5, 3, 1, 2)
    assert kpis.contact_rate == D("0.6")
    assert kpis.rpc_rate == D("0.2")
    assert kpis.coverage == D("0.666667")
    assert kpis.penetration == D("1.666667")


def test_time_to_first_contact_is_the_median_of_first_attempts(session):
    batch = make_batch(session)
    agency = make_agency(session)
    cases = _place(session, batch, agency, "M1", 5)
    for case, hours in zip(cases[:4], (2, 4, 10, 30), strict=True):
        make_action(session, case=case, outcome=Outcome.no_answer, occurred_at=PLACED_AT + timedelta(hours=hours))
        make_action(session, case=case, outcome=Outcome.no_answer, occurred_at=PLACED_AT + timedelta(hours=hours + 1))
    # Only a notice on the fifth case: it has had no attempt yet.
    make_action(session, case=cases[4], outcome=Outcome.sms_sent, occurred_at=PLACED_AT + timedelta(minutes=5))
    other = make_agency(session)
    (late,) = _place(session, batch, other, "M3", 1)
    make_action(session, case=late, outcome=Outcome.no_answer, occurred_at=PLACED_AT + timedelta(hours=48, minutes=30))

    evaluation = evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF)
    assert _overall(evaluation, agency).as_placed.time_to_first_contact_hours == D("7.00")  # (4 + 10) / 2
    assert _in_stratum(evaluation, EASY, agency).kpis.time_to_first_contact_hours == D("7.00")
    assert _overall(evaluation, other).as_placed.time_to_first_contact_hours == D("48.50")


def test_promise_rates_count_partly_kept_apart_and_skip_pending_and_cancelled(session):
    batch = make_batch(session)
    agency = make_agency(session)
    (case,) = _place(session, batch, agency, "M1", 1)
    make_action(session, case=case, outcome=Outcome.right_party_contact)
    make_promise(session, case=case, status=PromiseStatus.kept, paid_amount="100.00")
    make_promise(session, case=case, status=PromiseStatus.partly_kept, paid_amount="50.00")
    make_promise(session, case=case, status=PromiseStatus.broken)
    make_promise(session, case=case, status=PromiseStatus.broken)
    make_promise(session, case=case, status=PromiseStatus.pending, due_on=date(2024, 4, 5))
    make_promise(session, case=case, status=PromiseStatus.cancelled)

    facts = _overall(evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF), agency)
    # 6 promises, each logged as a promise_to_pay action by the debtor: 7 RPCs in all.
    assert (facts.facts.promises, facts.facts.rpc, facts.facts.promises_due) == (6, 7, 4)
    assert facts.as_placed.ptp_rate == D("0.857143")
    assert facts.as_placed.ptp_kept_rate == D("0.25")
    assert facts.as_placed.ptp_partly_kept_rate == D("0.25")


def test_complaints_per_thousand_placed(session):
    batch = make_batch(session)
    agency = make_agency(session)
    cases = _place(session, batch, agency, "M1", 4)
    make_complaint(session, case=cases[0])
    make_complaint(session, case=cases[1], received_at=datetime(2024, 4, 3, tzinfo=UTC))  # after as_of
    kpis = _overall(evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF), agency).as_placed
    assert kpis.complaints_per_1000 == D("250")


def test_an_agency_with_nothing_done_has_na_rates_not_zero_divisions(session):
    batch = make_batch(session)
    agency = make_agency(session)
    _place(session, batch, agency, "M1", 2)
    kpis = _overall(evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF), agency).as_placed
    assert kpis.recovery_rate_amount == D("0")
    assert kpis.coverage == D("0")
    assert kpis.contact_rate is None
    assert kpis.rpc_rate is None
    assert kpis.ptp_rate is None
    assert kpis.ptp_kept_rate is None
    assert kpis.cost_to_collect is None
    assert kpis.time_to_first_contact_hours is None


def test_an_empty_batch_evaluates_to_nothing(session):
    batch = make_batch(session)
    evaluation = evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF)
    assert evaluation.strata == [] and evaluation.overall == []
    assert evaluation.totals.cases == 0


def test_cases_placed_after_as_of_are_not_in_the_cohort(session):
    batch = make_batch(session)
    agency = make_agency(session)
    _place(session, batch, agency, "M1", 1)
    make_case(session, batch=batch, agency=agency, placed_at=datetime(2024, 4, 1, 1, tzinfo=UTC))
    evaluation = evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF)
    assert evaluation.totals.cases == 1


def test_as_of_is_a_local_day(session):
    # 2024-03-31 16:30 UTC is already 1 April in Shanghai: not part of "as of 31 March".
    batch = make_batch(session)
    agency = make_agency(session)
    (case,) = _place(session, batch, agency, "M1", 1)
    make_recovery(session, case=case, amount="100.00", paid_at=datetime(2024, 3, 31, 15, 59, tzinfo=UTC))
    make_recovery(session, case=case, amount="200.00", paid_at=datetime(2024, 3, 31, 16, 30, tzinfo=UTC))
    evaluation = evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF)
    assert evaluation.totals.recovered == D("100.00")


def test_period_evaluation_holds_cases_open_in_the_period_and_counts_its_events(session):
    batch = make_batch(session)
    agency = make_agency(session)
    contract = make_contract(session, agency=agency)
    ended_before = make_case(session, batch=batch, agency=agency, contract=contract, status=CaseStatus.closed,
                             ended_at=datetime(2024, 3, 5, tzinfo=UTC))
    held = make_case(session, batch=batch, agency=agency, contract=contract)
    make_case(session, batch=batch, agency=agency, contract=contract, placed_at=datetime(2024, 4, 20, tzinfo=UTC))
    make_recovery(session, case=ended_before, amount="500.00", paid_at=datetime(2024, 3, 3, tzinfo=UTC))
    make_recovery(session, case=held, amount="100.00", paid_at=datetime(2024, 3, 5, tzinfo=UTC))  # before
    make_recovery(session, case=held, amount="250.00", paid_at=datetime(2024, 3, 15, tzinfo=UTC))
    make_action(session, case=held, outcome=Outcome.no_answer, occurred_at=datetime(2024, 3, 12, tzinfo=UTC))
    make_action(session, case=held, outcome=Outcome.no_answer, occurred_at=datetime(2024, 3, 2, tzinfo=UTC))

    evaluation = evaluate_agencies(session=session, date_from=date(2024, 3, 10), date_to=date(2024, 3, 31))
    assert evaluation.kind == "period"
    facts = _overall(evaluation, agency).facts
    assert facts.cases == 1
    assert facts.recovered == D("250.00")
    assert facts.attempts == 1
    # The first attempt was before the period: no time to first contact in it.
    assert _overall(evaluation, agency).as_placed.time_to_first_contact_hours is None


def test_unknown_batch_and_reversed_period_are_refused(session):
    with pytest.raises(NotFound):
        evaluate_batch(session=session, batch_no="NO-SUCH-BATCH", as_of=AS_OF)
    with pytest.raises(RuleViolation):
        evaluate_agencies(session=session, date_from=date(2024, 3, 2), date_to=date(2024, 3, 1))


def test_the_agency_median_spans_strata(session):
    # Easy: first attempts after 1 h and 9 h; hard: 3 h and 20 h. Over all four the middle
    # values are 3 (hard) and 9 (easy): median 6. Stratum medians 5 and 11.5.
    batch = make_batch(session)
    agency = make_agency(session)
    for bucket, hours in (("M1", 1), ("M1", 9), ("M3", 3), ("M3", 20)):
        (case,) = _place(session, batch, agency, bucket, 1)
        make_action(session, case=case, outcome=Outcome.busy, occurred_at=PLACED_AT + timedelta(hours=hours))
    evaluation = evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF)
    assert _in_stratum(evaluation, EASY, agency).kpis.time_to_first_contact_hours == D("5.00")
    assert _in_stratum(evaluation, HARD, agency).kpis.time_to_first_contact_hours == D("11.50")
    assert _overall(evaluation, agency).as_placed.time_to_first_contact_hours == D("6.00")
    assert _overall(evaluation, agency).mix_adjusted.time_to_first_contact_hours == D("8.25")


@pytest.mark.parametrize("seed", [20240331, 7, 1234])
def test_the_queries_agree_with_a_plain_count_of_random_data(session, seed):
    import random
    import statistics

    from weiwai.collection.outcomes import ATTEMPT_OUTCOMES, CONNECTED_OUTCOMES, RIGHT_PARTY_OUTCOMES

    rng = random.Random(seed)
    batch = make_batch(session)
    agencies = [make_agency(session) for _ in range(3)]
    contracts = {agency.id: make_contract(session, agency=agency) for agency in agencies}
    expected: dict[tuple, dict] = {}
    first_hours: dict[int, list] = {agency.id: [] for agency in agencies}
    for _ in range(40):
        agency = rng.choice(agencies)
        bucket, balance = rng.choice(["M1", "M2", "M3"]), rng.choice(["800.00", "3000.00"])
        case = make_case(session, batch=batch, agency=agency, contract=contracts[agency.id], bucket=bucket,
                         balance=balance, region=rng.choice(["广东", "北京"]))
        group = expected.setdefault((agency.id, case.bucket, case.balance_band, case.region), {
            "cases": 0, "attempts": 0, "connected": 0, "rpc": 0, "attempted": 0, "recovered": D(0),
            "cases_recovered": 0, "hours": []})
        group["cases"] += 1
        outcomes = [rng.choice(list(Outcome)) for _ in range(rng.randint(0, 4))]
        times = sorted(rng.randint(1, 400) for _ in outcomes)
        for outcome, minutes in zip(outcomes, times, strict=True):
            make_action(session, case=case, outcome=outcome, occurred_at=PLACED_AT + timedelta(minutes=minutes))
        attempts = [m for o, m in zip(outcomes, times, strict=True) if o in ATTEMPT_OUTCOMES]
        group["attempts"] += len(attempts)
        group["connected"] += sum(o in CONNECTED_OUTCOMES for o in outcomes)
        group["rpc"] += sum(o in RIGHT_PARTY_OUTCOMES for o in outcomes)
        if attempts:
            group["attempted"] += 1
            group["hours"].append(D(attempts[0]) / 60)
            first_hours[agency.id].append(D(attempts[0]) / 60)
        paid = D(0)
        for _ in range(rng.randint(0, 2)):
            amount, reversed_ = D(rng.randint(1, 300)), rng.random() < 0.3
            make_recovery(session, case=case, amount=amount,
                          reversed_at=datetime(2024, 3, 9, tzinfo=UTC) if reversed_ else None)
            paid += 0 if reversed_ else amount
        group["recovered"] += paid
        group["cases_recovered"] += paid > 0

    evaluation = evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF)
    got = {(r.agency_id, s.bucket, s.balance_band, s.region): r for s in evaluation.strata for r in s.agencies}
    assert set(got) == set(expected)
    for key, want in expected.items():
        facts, kpis = got[key].facts, got[key].kpis
        assert (facts.cases, facts.attempts, facts.connected, facts.rpc, facts.cases_attempted) == (
            want["cases"], want["attempts"], want["connected"], want["rpc"], want["attempted"]), key
        assert (facts.recovered, facts.cases_recovered) == (want["recovered"], want["cases_recovered"]), key
        median = statistics.median(want["hours"]) if want["hours"] else None
        assert kpis.time_to_first_contact_hours == (None if median is None else _hours(median)), key
    for overall in evaluation.overall:
        hours = first_hours[overall.agency_id]
        median = _hours(statistics.median(hours)) if hours else None
        assert overall.as_placed.time_to_first_contact_hours == median
