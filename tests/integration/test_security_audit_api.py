"""The audit log over HTTP: who may read it, its filters and its pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from factories import make_user
from factories_security import api  # noqa: F401 - fixture
from weiwai.security.models import AuditEvent

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def log(session):
    """Six events an hour apart (after the user.create events of the readers)."""
    rows = [
        ("user:alice", "login.success", "user", "901"),
        ("user:alice", "reveal", "debtor", "42"),
        ("user:bob", "login.failure", "user", None),
        ("token:AbCdEfGhJkLm", "action.create", "case", "7"),
        ("cli:root", "login_like", "user", "901"),
        ("user:alice", "logout", "user", "901"),
    ]
    for hour, (actor, action, entity, entity_id) in enumerate(rows):
        session.add(AuditEvent(occurred_at=T0 + timedelta(hours=hour), actor=actor, action=action, entity=entity,
                               entity_id=entity_id, details={"n": hour}))
    session.flush()
    return make_user(session, username="reader", role="auditor")


def actions(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["action"] for item in response.json()["items"]]


def test_filters(api, log):
    client = api.as_(log)
    url = "/api/v1/audit-events"
    assert actions(client.get(url, params={"actor": "user:alice"})) == ["logout", "reveal", "login.success"]
    assert actions(client.get(url, params={"action": "reveal"})) == ["reveal"]
    # A trailing * matches by prefix; '_' and '%' are taken literally.
    assert actions(client.get(url, params={"action": "login.*"})) == ["login.failure", "login.success"]
    assert actions(client.get(url, params={"action": "login_*"})) == ["login_like"]
    assert actions(client.get(url, params={"entity": "user", "entity_id": "901"})) == [
        "logout", "login_like", "login.success"]
    window = {"from": (T0 + timedelta(hours=1)).isoformat(), "to": (T0 + timedelta(hours=3)).isoformat()}
    assert actions(client.get(url, params=window)) == ["login.failure", "reveal"]
    shanghai = {"from": "2024-05-01T19:00:00+08:00", "to": "2024-05-01T20:00:00+08:00"}  # 11:00-12:00 UTC
    assert actions(client.get(url, params=shanghai)) == ["action.create"]
    event = client.get(url, params={"actor": "token:AbCdEfGhJkLm"}).json()["items"][0]
    assert event["details"] == {"n": 3} and event["entity"] == "case" and event["entity_id"] == "7"


def test_newest_first_in_pages(api, log):
    client = api.as_(log)
    everything = client.get("/api/v1/audit-events", params={"limit": 500}).json()
    times = [item["occurred_at"] for item in everything["items"]]
    assert times == sorted(times, reverse=True) and everything["total"] == len(times)
    page = client.get("/api/v1/audit-events", params={"to": (T0 + timedelta(hours=9)).isoformat(), "offset": 1,
                                                     "limit": 2}).json()
    assert (page["total"], page["offset"], page["limit"]) == (6, 1, 2)
    assert [item["action"] for item in page["items"]] == ["login_like", "action.create"]


def test_times_need_a_time_zone_and_pages_are_bounded(api, log):
    client = api.as_(log)
    naive = client.get("/api/v1/audit-events", params={"from": "2024-05-01T08:00:00"})
    assert naive.status_code == 422 and naive.json()["code"] == "validation_error"
    assert client.get("/api/v1/audit-events", params={"limit": 501}).status_code == 422


@pytest.mark.parametrize(
    "role, expected",
    [
        ("admin", 200), ("compliance", 200), ("infosec", 200), ("auditor", 200), ("operations", 403),
        ("finance", 403), ("agency_manager", 403), ("collector", 403),
    ],
)
def test_who_may_read_the_audit_log(api, session, role, expected):
    user = make_user(session, role=role)
    assert api.as_(user).get("/api/v1/audit-events").status_code == expected
