"""Placement batches on SQLite and PostgreSQL: preview, draft, confirm, and the constraints
that always hold (contract, agency, capacity, cooling-off, one agency at a time)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from factories_cycle import (
    AS_OF,
    make_case,
    make_complaint,
    make_contract,
    make_placeable_account,
    make_rule_set,
    make_usable_agency,
)
from weiwai.agencies.models import AgencyStatus, ContractStatus
from weiwai.errors import Conflict, IllegalTransition, NotFound, RuleViolation
from weiwai.placements import batches
from weiwai.placements.models import BatchStatus, Case, CaseStatus, CaseStatusChange, CloseReason, PlacementBatch
from weiwai.placements.screening import ScreeningRules
from weiwai.placements.strategy import StrategySpec

EQUAL = StrategySpec(name="equal_count", seed=1)
CONFIRMED_AT = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def english():
    from weiwai.i18n import using_locale

    with using_locale("en"):
        yield


def preview(session, rules=None, strategy=EQUAL, **kwargs):
    return batches.preview_placement(session=session, rules=ScreeningRules.model_validate(rules or {}),
                                     strategy=strategy, as_of=AS_OF, **kwargs)


def place(session, rules=None, strategy=EQUAL, **kwargs) -> PlacementBatch:
    batch = batches.create_batch(session=session, rule_set=make_rule_set(session, rules=rules), strategy=strategy,
                                 as_of=AS_OF, actor="tester", **kwargs)
    return batches.confirm_batch(session=session, batch_no=batch.batch_no, actor="tester", at=CONFIRMED_AT)


def cases_of(session, batch) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.batch_id == batch.id).order_by(Case.case_no)))


def per_agency(preview_result) -> dict[str, int]:
    return {a.code: a.cases for a in preview_result.agencies}


def unallocated(preview_result) -> dict[str, int]:
    return {r.code: r.count for r in preview_result.unallocated}


def test_preview_allocates_and_writes_nothing(session):
    make_usable_agency(session, code="PA")
    make_usable_agency(session, code="PB")
    for i in range(9):
        make_placeable_account(session, dpd=40 + i)
    result = preview(session)
    assert (result.screened, result.eligible, result.allocated) == (9, 9, 9)
    assert sorted(per_agency(result).values()) == [4, 5]
    assert session.scalar(select(func.count()).select_from(PlacementBatch)) == 0
    assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_create_keeps_the_allocation_in_a_draft_and_confirm_creates_the_cases(session):
    agency_a = make_usable_agency(session, code="CA", placement_days=60)
    make_usable_agency(session, code="CB", placement_days=90)
    accounts = [make_placeable_account(session, dpd=31 + i, principal=f"{1000 + 2000 * i}.00", interest="10.50")
                for i in range(6)]
    rule_set = make_rule_set(session)
    draft = batches.create_batch(session=session, rule_set=rule_set, strategy=EQUAL, as_of=AS_OF, actor="tester")
    assert draft.status == BatchStatus.draft and draft.batch_no == "B20240301-1"
    assert sum(len(g["account_id"]) for g in draft.summary["allocation"]) == 6
    assert session.scalar(select(func.count()).select_from(Case)) == 0
    batch = batches.confirm_batch(session=session, batch_no=draft.batch_no, actor="boss", at=CONFIRMED_AT)
    assert batch.status == BatchStatus.active
    assert (batch.confirmed_by, batch.confirmed_at, batch.activated_at) == ("boss", CONFIRMED_AT, CONFIRMED_AT)
    assert "allocation" not in batch.summary and batch.summary["cases"] == 6
    cases = cases_of(session, batch)
    assert [c.case_no for c in cases] == [f"C20240301-1-{i:06d}" for i in range(1, 7)]
    by_account = {c.account_id: c for c in cases}
    for i, account in enumerate(accounts):
        case = by_account[account.id]
        assert case.status == CaseStatus.placed and case.batch_id == batch.id
        assert (case.dpd, case.bucket, case.region, case.credit_grade) == (31 + i, "M2", "广东", "B")
        assert case.balance_placed == account.total_outstanding
        assert case.principal_placed == account.principal_outstanding
        expected_band = {0: "0-2k", 1: "2k-5k", 2: "5k-10k", 3: "5k-10k", 4: "5k-10k", 5: "10k-30k"}[i]
        assert case.balance_band == expected_band
        days = 60 if case.agency_id == agency_a.id else 90
        assert case.period_ends_on == AS_OF + timedelta(days=days)
        assert case.placed_at == CONFIRMED_AT and case.arm == "equal_count" and case.version == 1
    history = session.scalars(select(CaseStatusChange).where(CaseStatusChange.case_id.in_([c.id for c in cases])))
    assert sorted((h.from_status, h.to_status, h.changed_by) for h in history) == [(None, "placed", "boss")] * 6
    read = batches.batch_read(session=session, batch=batch)
    assert (read.cases, read.open_cases, read.status) == (6, 6, "active")


def test_batch_numbers_count_per_day(session):
    make_usable_agency(session)
    make_placeable_account(session)
    first = batches.create_batch(session=session, rule_set=make_rule_set(session), strategy=EQUAL, as_of=AS_OF,
                                 actor="t")
    second = batches.create_batch(session=session, rule_set=make_rule_set(session), strategy=EQUAL, as_of=AS_OF,
                                  actor="t")
    other_day = batches.create_batch(session=session, rule_set=make_rule_set(session), strategy=EQUAL,
                                     as_of=date(2024, 3, 2), actor="t")
    assert [first.batch_no, second.batch_no, other_day.batch_no] == ["B20240301-1", "B20240301-2", "B20240302-1"]


def test_an_already_placed_account_is_never_placed_again(session):
    agency = make_usable_agency(session)
    placed = make_placeable_account(session)
    make_case(session, account=placed, agency=agency)
    free = make_placeable_account(session)
    batch = place(session)
    assert [c.account_id for c in cases_of(session, batch)] == [free.id]


def test_contract_must_be_usable(session):
    make_usable_agency(session, code="DRAFT", contract_status=ContractStatus.draft)
    make_usable_agency(session, code="OLD", starts_on=date(2023, 1, 1), ends_on=date(2024, 2, 29))
    make_usable_agency(session, code="LATER", starts_on=date(2024, 3, 2))
    unsigned = make_usable_agency(session, code="UNSIGNED", contract_status=ContractStatus.draft)
    make_contract(session, agency=unsigned, signed=False)
    make_usable_agency(session, code="GOOD")
    make_placeable_account(session)
    result = preview(session)
    assert per_agency(result) == {"GOOD": 1}
    assert {s.code for s in result.skipped_agencies} == {"DRAFT", "OLD", "LATER", "UNSIGNED"}
    with pytest.raises(RuleViolation, match="no usable contract"):
        preview(session, agencies=["GOOD", "OLD"])


def test_inactive_agencies_take_nothing(session):
    make_usable_agency(session, code="SUSP", status=AgencyStatus.suspended)
    make_usable_agency(session, code="ACTV")
    make_placeable_account(session)
    assert per_agency(preview(session)) == {"ACTV": 1}
    with pytest.raises(RuleViolation, match="not active"):
        preview(session, agencies=["SUSP"])
    with pytest.raises(NotFound):
        preview(session, agencies=["NOSUCH"])


def test_contract_must_permit_the_bucket_and_region(session):
    make_usable_agency(session, code="M2ONLY", buckets=["M2"], permitted_regions=["广东"])
    in_scope = make_placeable_account(session, dpd=45, region="广东")
    make_placeable_account(session, dpd=95, region="广东")
    make_placeable_account(session, dpd=45, region="浙江")
    result = preview(session)
    assert per_agency(result) == {"M2ONLY": 1} and unallocated(result) == {"no_contract": 2}
    assert [c.account_id for c in cases_of(session, place(session))] == [in_scope.id]


def test_capacity_counts_open_cases_and_is_never_exceeded(session):
    small = make_usable_agency(session, code="SMALL", capacity_cases=3)
    make_usable_agency(session, code="BIG", capacity_cases=4, capacity_balance="12000.00")
    earlier = make_placeable_account(session)
    make_case(session, account=earlier, agency=small)
    for _ in range(10):
        make_placeable_account(session, principal="2500.00")
    result = preview(session)
    assert per_agency(result) == {"SMALL": 2, "BIG": 4}
    assert unallocated(result) == {"capacity": 4}
    assert {a.code: a.cases_free_before for a in result.agencies} == {"SMALL": 2, "BIG": 4}
    big = next(a for a in result.agencies if a.code == "BIG")
    assert big.balance <= Decimal("12000.00")


def test_cooling_off_after_a_return_by_the_same_agency(session):
    first = make_usable_agency(session, code="RET")
    make_usable_agency(session, code="OTH")
    account = make_placeable_account(session)
    make_case(session, account=account, agency=first, status=CaseStatus.closed, close_reason=CloseReason.returned,
              ended_at=datetime(2024, 2, 20, tzinfo=UTC))
    rules = {"exclude": {"cooling_off_days": 30}}
    result = preview(session, rules=rules)
    assert per_agency(result) == {"RET": 0, "OTH": 1}
    only_returner = preview(session, rules=rules, agencies=["RET"])
    assert unallocated(only_returner) == {"cooling_off": 1}
    assert per_agency(preview(session, rules={"exclude": {"cooling_off_days": 5}}, agencies=["RET"])) == {"RET": 1}


def test_confirm_refuses_when_an_account_was_placed_meanwhile(session):
    agency = make_usable_agency(session)
    accounts = [make_placeable_account(session) for _ in range(3)]
    draft = batches.create_batch(session=session, rule_set=make_rule_set(session), strategy=EQUAL, as_of=AS_OF,
                                 actor="t")
    make_case(session, account=accounts[1], agency=agency)
    with pytest.raises(Conflict, match="already placed with an agency: 1"):
        batches.confirm_batch(session=session, batch_no=draft.batch_no, actor="t")
    assert draft.status == BatchStatus.draft
    assert session.scalar(select(func.count()).select_from(Case).where(Case.batch_id == draft.id)) == 0


def test_confirm_refuses_when_the_agency_or_account_changed(session):
    agency = make_usable_agency(session, code="CHG")
    account = make_placeable_account(session)
    draft = batches.create_batch(session=session, rule_set=make_rule_set(session), strategy=EQUAL, as_of=AS_OF,
                                 actor="t")
    make_complaint(session, account=account)
    agency.status = AgencyStatus.suspended
    session.flush()
    with pytest.raises(Conflict) as caught:
        batches.confirm_batch(session=session, batch_no=draft.batch_no, actor="t")
    assert "open complaint: 1" in caught.value.message and "CHG: agency is suspended" in caught.value.message


def test_confirm_refuses_when_capacity_was_used_meanwhile(session):
    agency = make_usable_agency(session, code="CAP", capacity_cases=2)
    accounts = [make_placeable_account(session) for _ in range(3)]
    draft = batches.create_batch(session=session, rule_set=make_rule_set(session), strategy=EQUAL, as_of=AS_OF,
                                 actor="t")
    assert draft.summary["allocated"] == 2
    spare = next(a for a in accounts if a.id not in draft.summary["allocation"][0]["account_id"])
    make_case(session, account=spare, agency=agency)
    with pytest.raises(Conflict, match="CAP: over capacity"):
        batches.confirm_batch(session=session, batch_no=draft.batch_no, actor="t")


def test_confirm_is_one_transaction(session, monkeypatch):
    make_usable_agency(session)
    for _ in range(4):
        make_placeable_account(session)
    draft = batches.create_batch(session=session, rule_set=make_rule_set(session), strategy=EQUAL, as_of=AS_OF,
                                 actor="t")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(batches.bulk_write, "insert_first_history", broken)
    savepoint = session.begin_nested()
    with pytest.raises(RuntimeError):
        batches.confirm_batch(session=session, batch_no=draft.batch_no, actor="t")
    savepoint.rollback()
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Case)) == 0
    assert session.scalar(select(PlacementBatch.status).where(PlacementBatch.id == draft.id)) == "draft"


def test_a_placement_committed_between_check_and_write_is_refused(session, monkeypatch):
    agency = make_usable_agency(session)
    accounts = [make_placeable_account(session) for _ in range(2)]
    draft = batches.create_batch(session=session, rule_set=make_rule_set(session), strategy=EQUAL, as_of=AS_OF,
                                 actor="t")
    make_case(session, account=accounts[0], agency=agency)
    # As if the other placement committed after the checks ran.
    monkeypatch.setattr(batches, "_problems", lambda *args, **kwargs: [])
    savepoint = session.begin_nested()
    with pytest.raises(Conflict, match="placed by someone else"):
        batches.confirm_batch(session=session, batch_no=draft.batch_no, actor="t")
    savepoint.rollback()
    assert session.scalar(select(func.count()).select_from(Case).where(Case.batch_id == draft.id)) == 0


def test_confirming_twice_or_discarding_a_confirmed_batch_is_refused(session):
    make_usable_agency(session)
    make_placeable_account(session)
    batch = place(session)
    with pytest.raises(Conflict, match="not a draft"):
        batches.confirm_batch(session=session, batch_no=batch.batch_no, actor="t")
    with pytest.raises(Conflict):
        batches.discard_batch(session=session, batch_no=batch.batch_no, actor="t")


def test_discard_closes_a_draft_without_cases(session):
    make_usable_agency(session)
    make_placeable_account(session)
    draft = batches.create_batch(session=session, rule_set=make_rule_set(session), strategy=EQUAL, as_of=AS_OF,
                                 actor="t")
    batches.discard_batch(session=session, batch_no=draft.batch_no, actor="t")
    assert draft.status == BatchStatus.closed and "allocation" not in draft.summary
    assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_champion_challenger_arms_are_recorded_on_cases(session):
    make_usable_agency(session, code="X1")
    make_usable_agency(session, code="X2")
    for _ in range(10):
        make_placeable_account(session)
    strategy = StrategySpec(name="champion_challenger", seed=3, params={
        "champion": {"name": "equal_count"}, "challenger": {"name": "balanced_amount"}, "challenger_share": "0.3"})
    arms = sorted(c.arm for c in cases_of(session, place(session, strategy=strategy)))
    assert arms == ["challenger"] * 3 + ["champion"] * 7


def test_performance_weighting_reads_the_latest_scorecards(session):
    from factories_cycle import make_scorecard

    strong = make_usable_agency(session, code="STRONG")
    weak = make_usable_agency(session, code="WEAK")
    make_scorecard(session, agency=strong, rate="0.05", as_of=date(2024, 1, 1))
    make_scorecard(session, agency=strong, rate="0.30", as_of=date(2024, 2, 1))
    make_scorecard(session, agency=weak, rate="0.10", as_of=date(2024, 2, 1))
    for _ in range(8):
        make_placeable_account(session)
    result = preview(session, strategy=StrategySpec(name="performance_weighted"))
    assert per_agency(result) == {"STRONG": 6, "WEAK": 2}


def test_nothing_to_allocate_is_refused(session):
    make_usable_agency(session)
    with pytest.raises(RuleViolation, match="nothing to place"):
        batches.create_batch(session=session, rule_set=make_rule_set(session), strategy=EQUAL, as_of=AS_OF,
                             actor="t")
    assert session.scalar(select(func.count()).select_from(PlacementBatch)) == 0


def test_transitions_use_the_lifecycle_table(session):
    make_usable_agency(session)
    make_placeable_account(session)
    batch = place(session)
    from weiwai.placements.lifecycle import transition_batch

    with pytest.raises(IllegalTransition):
        transition_batch(batch=batch, to=BatchStatus.confirmed, actor="t")
