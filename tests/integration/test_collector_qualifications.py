"""Collector qualifications (CN-10): recording, lapsing, and the guard on logging actions."""

from datetime import UTC, date, datetime, timedelta

import pytest

from compliance_api import compliance_client
from factories_collection import english_messages, make_agency, make_world  # noqa: F401
from weiwai.clock import today_local
from weiwai.compliance.qualifications import (
    QualificationCreate,
    collector_is_qualified,
    qualification_status,
    record_qualification,
    require_qualified_collector,
    unqualified_collectors,
)
from weiwai.errors import RuleViolation
from weiwai.security.models import Role, User
from weiwai.web.deps import Principal

TODAY = date(2024, 6, 1)
WHEN = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
# The qualification gate, not the contact rules: an hour ago may be quiet time in Shanghai.
pytestmark = pytest.mark.usefixtures("record_compliance")


def bare_user(session, role="collector", agency=None):
    """A user without qualifications (factories_collection.make_user qualifies collectors)."""
    from factories_collection import serial

    user = User(username=f"q{serial()}", display_name="测试", role=role, agency_id=agency.id if agency else None,
                password_hash="!")
    session.add(user)
    session.flush()
    return user


def qualify(session, user, item, on, today=TODAY):
    return record_qualification(session=session, user=user, actor="test", today=today,
                                data=QualificationCreate(item=item, completed_on=on, evidence_ref=f"EV-{item}"))


def principal(user):
    return Principal(user_id=user.id, username=user.username, role=Role(user.role), agency_id=user.agency_id)


def test_all_three_items_make_a_collector_qualified_until_the_first_lapses(session):
    user = bare_user(session, agency=make_agency(session))
    qualify(session, user, "background_check", date(2023, 6, 10))
    qualify(session, user, "training", date(2024, 1, 5))
    assert not collector_is_qualified(session, user.id, TODAY)
    qualify(session, user, "confidentiality", date(2024, 1, 5))
    assert collector_is_qualified(session, user.id, TODAY)
    status = qualification_status(session=session, user_id=user.id, today=TODAY)
    assert status.qualified
    assert {s.item.value: s.expires_on for s in status.items}["background_check"] == date(2024, 6, 9)
    # 365 days after the background check it lapses; renewing it restores the collector.
    assert not collector_is_qualified(session, user.id, date(2024, 6, 9))
    qualify(session, user, "background_check", date(2024, 6, 8), today=date(2024, 6, 9))
    assert collector_is_qualified(session, user.id, date(2024, 6, 9))


def test_only_collectors_get_qualifications_and_never_from_the_future(session):
    manager = bare_user(session, role="agency_manager", agency=make_agency(session))
    with pytest.raises(RuleViolation) as refused:
        qualify(session, manager, "training", date(2024, 1, 1))
    assert refused.value.code == "not_a_collector"
    collector = bare_user(session, agency=make_agency(session))
    with pytest.raises(RuleViolation):
        qualify(session, collector, "training", TODAY + timedelta(days=1))


def test_the_guard_refuses_unqualified_collectors_only(session, monkeypatch):
    from weiwai.config import get_settings

    agency = make_agency(session)
    collector = bare_user(session, agency=agency)
    with pytest.raises(RuleViolation) as refused:
        require_qualified_collector(principal(collector), session, TODAY)
    assert refused.value.code == "collector_not_qualified"
    assert "background_check, training, confidentiality" in refused.value.message
    require_qualified_collector(principal(bare_user(session, role="agency_manager", agency=agency)), session, TODAY)
    require_qualified_collector(principal(bare_user(session, role="operations")), session, TODAY)
    assert [u.id for u in unqualified_collectors(session=session, today=TODAY, agency_id=agency.id)] == [collector.id]
    monkeypatch.setattr(get_settings(), "collector_qualifications_required", False)
    require_qualified_collector(principal(collector), session, TODAY)


def test_an_unqualified_collector_cannot_log_an_action(session):
    world = make_world(session)
    collector = bare_user(session, agency=world.agency)
    world.case.collector_user_id = collector.id
    session.flush()
    client = compliance_client(session, collector)
    body = {"channel": "letter", "occurred_at": WHEN, "outcome": "letter_sent"}
    refused = client.post(f"/api/v1/cases/{world.case.case_no}/actions", json=body)
    assert refused.status_code == 422 and refused.json()["code"] == "collector_not_qualified"
    for item in ("background_check", "training", "confidentiality"):
        qualify(session, collector, item, today_local() - timedelta(days=10), today=today_local())
    logged = client.post(f"/api/v1/cases/{world.case.case_no}/actions", json=body)
    assert logged.status_code == 201, logged.text


def test_the_qualifications_api(session):
    agency = make_agency(session)
    collector = bare_user(session, agency=agency)
    manager = compliance_client(session, bare_user(session, role="agency_manager", agency=agency))
    posted = manager.post(f"/api/v1/users/{collector.id}/qualifications",
                          json={"item": "training", "completed_on": (today_local() - timedelta(days=5)).isoformat(),
                                "evidence_ref": "EXAM-17"})
    assert posted.status_code == 201, posted.text
    assert posted.json()["qualified"] is False
    assert {i["item"]: i["current"] for i in posted.json()["items"]} == {
        "background_check": False, "training": True, "confidentiality": False}
    assert manager.get(f"/api/v1/users/{collector.id}/qualifications").status_code == 200
    stranger = bare_user(session, agency=make_agency(session))
    assert manager.get(f"/api/v1/users/{stranger.id}/qualifications").status_code == 404
    assert manager.post(f"/api/v1/users/{stranger.id}/qualifications",
                        json={"item": "training", "completed_on": "2024-01-01"}).status_code == 404
    compliance = compliance_client(session, bare_user(session, role="compliance"))
    assert compliance.get(f"/api/v1/users/{stranger.id}/qualifications").json()["qualified"] is False
    ops = compliance_client(session, bare_user(session, role="operations"))
    assert ops.get(f"/api/v1/users/{stranger.id}/qualifications").status_code == 403
    assert compliance_client(session, collector).get(f"/api/v1/users/{collector.id}/qualifications").status_code == 403
