"""Screening against the database (SQLite and PostgreSQL): the facts read for each account,
the preview, explanations and versioned rule sets."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from factories_cycle import (
    AS_OF,
    make_case,
    make_complaint,
    make_hold,
    make_placeable_account,
    make_usable_agency,
)
from weiwai.compliance.models import ComplaintStatus
from weiwai.config import get_settings
from weiwai.placements import screening_service
from weiwai.placements.models import CaseStatus, CloseReason, ScreeningRuleSet
from weiwai.placements.screening import ScreeningRules, evaluate
from weiwai.placements.screening_frame import failures_of_rows
from weiwai.placements.screening_sql import fetch_candidate, returned_within


@pytest.fixture(autouse=True)
def english():
    from weiwai.i18n import using_locale

    with using_locale("en"):
        yield


def test_facts_are_read_from_the_database(session):
    agency = make_usable_agency(session)
    plain = make_placeable_account(session)
    placed = make_placeable_account(session)
    make_case(session, account=placed, agency=agency)
    closed_case = make_placeable_account(session)
    make_case(session, account=closed_case, agency=agency, status=CaseStatus.closed,
              close_reason=CloseReason.recalled, ended_at=datetime(2024, 2, 1, tzinfo=UTC))
    complained = make_placeable_account(session)
    make_complaint(session, account=complained)
    debtor_complained = make_placeable_account(session)
    make_complaint(session, debtor_id=debtor_complained.debtor_id, status=ComplaintStatus.investigating)
    resolved = make_placeable_account(session)
    make_complaint(session, account=resolved, status=ComplaintStatus.resolved)
    held = make_placeable_account(session)
    make_hold(session, account=held, until=AS_OF)
    hold_over = make_placeable_account(session)
    make_hold(session, account=hold_over, until=AS_OF - timedelta(days=1))
    hold_lifted = make_placeable_account(session)
    make_hold(session, account=hold_lifted, lifted=True)
    deceased = make_placeable_account(session, deceased=True, in_litigation=True)

    def facts(account):
        return fetch_candidate(session=session, account_no=account.account_no, as_of=AS_OF)[1]

    assert not any((facts(plain).placed, facts(plain).open_complaint, facts(plain).held))
    assert facts(placed).placed and not facts(closed_case).placed
    assert facts(complained).open_complaint and facts(debtor_complained).open_complaint
    assert not facts(resolved).open_complaint
    assert facts(held).held and not facts(hold_over).held and not facts(hold_lifted).held
    assert facts(deceased).deceased and facts(deceased).in_litigation and not facts(deceased).bankrupt
    assert facts(plain).outstanding == plain.total_outstanding


def test_the_book_path_agrees_with_the_pure_evaluator(session):
    agency = make_usable_agency(session)
    accounts = [
        make_placeable_account(session, dpd=dpd, principal=principal, credit_grade=grade, region=region, **flags)
        for dpd, principal, grade, region, flags in [
            (10, "300.00", "A", "广东", {}),
            (45, "5000.00", "B", "浙江", {"disputed": True}),
            (95, "12000.50", "C", "北京", {}),
            (200, "150000.00", "D", "广东", {"bankrupt": True, "cease_contact": True}),
            (0, "800.00", "B", "广东", {}),
        ]
    ]
    make_case(session, account=accounts[2], agency=agency)
    rules = ScreeningRules.model_validate({"dpd": {"min": 1, "max": 180}, "balance": {"min": "500"},
                                           "regions": ["广东", "浙江", "北京"]})
    evaluated = screening_service.screen_book(session=session, rules=rules, as_of=AS_OF)
    number_of = {account.id: account.account_no for account in accounts}
    expected = [
        evaluate(rules, fetch_candidate(session=session, account_no=number_of[account_id], as_of=AS_OF)[1],
                 as_of=AS_OF, buckets=get_settings().buckets).failures
        for account_id in evaluated["account_id"].to_list()
    ]
    assert failures_of_rows(evaluated) == expected
    assert evaluated.height == 5 and evaluated.filter("eligible").height == 0
    assert expected[1] == ("disputed",) and expected[2] == ("already_placed",)


def test_preview_counts_and_balances_by_bucket_grade_region_and_reason(session):
    make_placeable_account(session, dpd=20, principal="1000.00", credit_grade="A", region="广东")
    make_placeable_account(session, dpd=40, principal="2000.00", credit_grade="B", region="广东")
    make_placeable_account(session, dpd=45, principal="3000.00", credit_grade="B", region="浙江")
    make_placeable_account(session, dpd=50, principal="4000.00", credit_grade="B", region="浙江", deceased=True)
    make_placeable_account(session, dpd=100, principal="5000.00", credit_grade="C", region="浙江", disputed=True)
    rules = ScreeningRules.model_validate({"buckets": ["M2", "M3", "M4"]})
    preview = screening_service.preview_screening(session=session, rules=rules, as_of=AS_OF)
    assert (preview.screened, preview.eligible, str(preview.eligible_balance)) == (5, 2, "5000.00")
    assert [(t.key, t.count, str(t.balance)) for t in preview.by_bucket] == [("M2", 2, "5000.00")]
    assert [(t.key, t.count) for t in preview.by_grade] == [("B", 2)]
    assert sorted((t.key, t.count) for t in preview.by_region) == [("广东", 1), ("浙江", 1)]
    reasons = {r.code: (r.count, str(r.balance)) for r in preview.exclusions}
    assert reasons == {"bucket_not_selected": (1, "1000.00"), "deceased": (1, "4000.00"),
                       "disputed": (1, "5000.00")}
    assert preview.exclusions[0].label == "bucket not selected"


def test_preview_writes_nothing(session):
    make_placeable_account(session)
    before = session.scalar(select(func.count()).select_from(ScreeningRuleSet))
    screening_service.preview_screening(session=session, rules=ScreeningRules(), as_of=AS_OF)
    assert session.scalar(select(func.count()).select_from(ScreeningRuleSet)) == before
    assert not session.new and not session.dirty


def test_explain_lists_every_failing_criterion_and_cooling_off(session):
    agency = make_usable_agency(session, code="EXPL")
    account = make_placeable_account(session, dpd=20, credit_grade="E", disputed=True)
    make_case(session, account=account, agency=agency, status=CaseStatus.closed, close_reason=CloseReason.returned,
              ended_at=datetime(2024, 2, 20, 3, 0, tzinfo=UTC))
    make_hold(session, account=account)
    rules = ScreeningRules.model_validate({"dpd": {"min": 31}, "credit_grades": ["A", "B"]})
    explanation = screening_service.explain_account(session=session, rules=rules, account_no=account.account_no,
                                                   as_of=AS_OF)
    assert not explanation.eligible
    assert explanation.failing == ["dpd_out_of_range", "credit_grade_not_selected", "disputed", "in_house_hold"]
    assert [(c.code, c.passed) for c in explanation.checks if c.code in ("not_open", "deceased")] == [
        ("not_open", True), ("deceased", True)]
    assert [(c.agency_code, c.returned_on, c.last_day) for c in explanation.cooling_off] == [
        ("EXPL", date(2024, 2, 20), date(2024, 3, 20))]


def test_explain_an_unknown_account(session):
    from weiwai.errors import NotFound

    with pytest.raises(NotFound):
        screening_service.explain_account(session=session, rules=ScreeningRules(), account_no="NOPE", as_of=AS_OF)


def test_cooling_off_window_counts_the_return_day_as_day_one(session):
    agency = make_usable_agency(session)
    account = make_placeable_account(session)
    # 1 March 2024, 00:30 in Shanghai is 29 February 16:30 UTC.
    make_case(session, account=account, agency=agency, status=CaseStatus.closed, close_reason=CloseReason.returned,
              ended_at=datetime(2024, 2, 29, 16, 30, tzinfo=UTC))
    def cooled(day, days=10):
        return returned_within(session=session, as_of=day, days=days)["account_id"].to_list()

    assert cooled(date(2024, 3, 10)) == [account.id]
    assert cooled(date(2024, 3, 11)) == []
    assert cooled(date(2024, 3, 1), days=1) == [account.id]
    assert cooled(date(2024, 3, 5), days=0) == []


def test_saving_rules_makes_versions_and_identical_rules_return_the_existing_one(session):
    first, created = screening_service.save_rule_set(
        session=session, rules=ScreeningRules.model_validate({"credit_grades": ["B", "A"]}), name="std", actor="t")
    assert created and first.version == 1
    again, created = screening_service.save_rule_set(
        session=session, rules=ScreeningRules.model_validate({"credit_grades": ["A", "B", "A"]}), name="std",
        actor="t")
    assert not created and again.id == first.id
    second, created = screening_service.save_rule_set(
        session=session, rules=ScreeningRules.model_validate({"credit_grades": ["A"]}), name="std", actor="t")
    assert created and second.version == 2
    assert screening_service.get_rule_set(session=session, name="std").id == second.id
    assert screening_service.get_rule_set(session=session, name="std", version=1).id == first.id
    assert first.sha256 == ScreeningRules.model_validate({"credit_grades": ["A", "B"]}).sha256()
    assert screening_service.rules_of(first).credit_grades == ["A", "B"]
