"""The vectorised screening (polars) gives, row for row, what the pure evaluator gives."""

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weiwai.config import DEFAULT_BUCKETS, BucketBand
from weiwai.placements.screening import Candidate, ScreeningRules, evaluate
from weiwai.placements.screening_frame import CANDIDATE_SCHEMA, evaluate_frame, failures_of_rows

AS_OF = date(2024, 3, 1)
GRADES = ["A", "B", "C", "D"]
PRODUCTS = ["cash_loan", "card", "auto"]
REGIONS = ["广东", "浙江", "北京"]
FLAGS = ("deceased", "bankrupt", "in_litigation", "disputed", "cease_contact", "vulnerable",
         "open_complaint", "held", "placed")
# Edges matter: DPD around bucket borders, balances around 2k/5k… bands, zero.
DPD_EDGES = [0, 1, 29, 30, 31, 60, 61, 90, 180, 181, 400]
FEN_EDGES = [0, 1, 199_999, 200_000, 499_999, 500_000, 1_000_000, 9_999_999, 10_000_000]


@st.composite
def candidates(draw):
    due = draw(st.one_of(
        st.none(),
        st.sampled_from(DPD_EDGES).map(lambda d: AS_OF - timedelta(days=d)),
        st.integers(-30, 800).map(lambda d: AS_OF - timedelta(days=d)),
    ))
    fen = draw(st.one_of(st.sampled_from(FEN_EDGES), st.integers(0, 50_000_000)))
    return Candidate(
        account_no=f"A{draw(st.integers(0, 10**6))}",
        status=draw(st.sampled_from(["open", "open", "open", "paid_off", "closed"])),
        product=draw(st.sampled_from(PRODUCTS)),
        due_date=due,
        outstanding=Decimal(fen) / 100,
        region=draw(st.sampled_from(REGIONS)),
        credit_grade=draw(st.sampled_from(GRADES)),
        # Each flag set one time in four, so that combinations of flags occur.
        **{flag: draw(st.sampled_from([False, False, False, True])) for flag in FLAGS},
    )


def optional(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def rules(draw):
    def bounds(values, key=lambda value: value):
        low, high = draw(optional(values)), draw(optional(values))
        if low is None and high is None:
            return None
        if low is not None and high is not None and key(low) > key(high):
            low, high = high, low
        return {"min": low, "max": high}

    data = {
        "dpd": bounds(st.sampled_from(DPD_EDGES) | st.integers(0, 500)),
        "balance": bounds(st.sampled_from(FEN_EDGES).map(lambda f: str(Decimal(f) / 100)), key=Decimal),
        "buckets": draw(optional(st.lists(st.sampled_from([b.label for b in DEFAULT_BUCKETS]), min_size=1))),
        "credit_grades": draw(optional(st.lists(st.sampled_from(GRADES), min_size=1))),
        "products": draw(optional(st.lists(st.sampled_from(PRODUCTS), min_size=1))),
        "regions": draw(optional(st.lists(st.sampled_from(REGIONS), min_size=1))),
        "exclude": {name: draw(st.booleans()) for name in (
            "deceased", "bankrupt", "litigation", "disputed", "cease_contact", "vulnerable", "open_complaint",
            "in_house_hold")},
    }
    return ScreeningRules.model_validate({key: value for key, value in data.items() if value is not None})


def frame_of(rows: list[Candidate]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "account_id": i, "status": c.status, "product": c.product,
                "due_date": c.due_date, "outstanding_fen": int(c.outstanding * 100),
                "principal_fen": int(c.outstanding * 100), "region": c.region, "credit_grade": c.credit_grade,
                **{flag: getattr(c, flag) for flag in FLAGS},
            }
            for i, c in enumerate(rows)
        ],
        schema=CANDIDATE_SCHEMA,
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules(), st.lists(candidates(), min_size=1, max_size=30))
def test_vectorised_screening_agrees_with_the_pure_evaluator(screening_rules, rows):
    evaluated = evaluate_frame(screening_rules, frame_of(rows), as_of=AS_OF, buckets=DEFAULT_BUCKETS)
    expected = [evaluate(screening_rules, c, as_of=AS_OF, buckets=DEFAULT_BUCKETS) for c in rows]
    assert failures_of_rows(evaluated) == [verdict.failures for verdict in expected]
    assert evaluated["eligible"].to_list() == [verdict.eligible for verdict in expected]
    assert evaluated["dpd"].to_list() == [verdict.dpd for verdict in expected]
    assert evaluated["bucket"].to_list() == [verdict.bucket for verdict in expected]
    assert evaluated["band"].to_list() == [verdict.band for verdict in expected]


def test_agreement_holds_for_other_bucket_configurations():
    bands = [BucketBand(label="early", min_dpd=1, max_dpd=59), BucketBand(label="late", min_dpd=60)]
    screening_rules = ScreeningRules()
    rows = [Candidate(account_no=str(d), status="open", product="p", due_date=AS_OF - timedelta(days=d),
                      outstanding=Decimal("10.00"), region="r", credit_grade="A") for d in (0, 1, 59, 60, 999)]
    evaluated = evaluate_frame(screening_rules, frame_of(rows), as_of=AS_OF, buckets=bands)
    assert evaluated["bucket"].to_list() == [evaluate(screening_rules, c, as_of=AS_OF, buckets=bands).bucket
                                             for c in rows] == ["M0", "early", "early", "late", "late"]
