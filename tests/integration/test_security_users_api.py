"""Users over HTTP: who sees whom, who may create and change whom, ETag / If-Match,
password changes and resets, and the audit event of every change."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from factories import TEST_PASSWORD, make_agency, make_user
from factories_security import api  # noqa: F401 - fixture
from weiwai.security.models import AuditEvent, LoginAttempt
from weiwai.security.service import authenticate

NEW_PASSWORD = "a-brand-new-passphrase-9"


@pytest.fixture
def world(session):
    a, b = make_agency(session, code="UA-A"), make_agency(session, code="UA-B")
    people = {
        "admin": make_user(session, username="root", role="admin"),
        "ops": make_user(session, username="olga", role="operations"),
        "infosec": make_user(session, username="ines", role="infosec"),
        "auditor": make_user(session, username="audra", role="auditor"),
        "mgr_a": make_user(session, username="mia", role="agency_manager", agency_id=a.id),
        "mgr_a2": make_user(session, username="max", role="agency_manager", agency_id=a.id),
        "col_a": make_user(session, username="cora", role="collector", agency_id=a.id),
        "col_a2": make_user(session, username="cody", role="collector", agency_id=a.id),
        "mgr_b": make_user(session, username="bea", role="agency_manager", agency_id=b.id),
        "col_b": make_user(session, username="ben", role="collector", agency_id=b.id),
    }
    return SimpleNamespace(a=a, b=b, **people)


def usernames(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["username"] for item in response.json()["items"]]


def events(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# --- reading ----------------------------------------------------------------------------


def test_lender_readers_list_everyone_with_filters_and_pages(api, world):
    for reader in (world.admin, world.infosec, world.auditor):
        client = api.as_(reader)
        everyone = client.get("/api/v1/users", params={"limit": 500})
        assert everyone.json()["total"] == 10
        assert "password_hash" not in everyone.json()["items"][0] and "failed_logins" not in everyone.json()["items"][0]
    client = api.as_(world.admin)
    assert usernames(client.get("/api/v1/users", params={"role": "collector"})) == ["ben", "cody", "cora"]
    assert usernames(client.get("/api/v1/users", params={"agency_id": world.b.id})) == ["bea", "ben"]
    page = client.get("/api/v1/users", params={"offset": 2, "limit": 3}).json()
    assert (page["total"], page["offset"], page["limit"], len(page["items"])) == (10, 2, 3, 3)
    world.col_b.is_active = False
    assert usernames(client.get("/api/v1/users", params={"active": "false"})) == ["ben"]
    assert client.get("/api/v1/users", params={"role": "superuser"}).status_code == 422


def test_agency_managers_see_only_their_agency(api, world):
    client = api.as_(world.mgr_a)
    assert usernames(client.get("/api/v1/users")) == ["cody", "cora", "max", "mia"]
    assert usernames(client.get("/api/v1/users", params={"role": "collector"})) == ["cody", "cora"]
    assert client.get("/api/v1/users", params={"agency_id": world.b.id}).status_code == 404
    assert client.get(f"/api/v1/users/{world.col_b.id}").status_code == 404
    assert client.get(f"/api/v1/users/{world.admin.id}").status_code == 404
    one = client.get(f"/api/v1/users/{world.col_a.id}")
    assert one.status_code == 200 and one.headers["etag"] == '"1"' and one.json()["agency_code"] == "UA-A"


@pytest.mark.parametrize("who", ["ops", "col_a"])
def test_roles_without_users_read_are_refused(api, world, who):
    assert api.as_(getattr(world, who)).get("/api/v1/users").status_code == 403


# --- creating ---------------------------------------------------------------------------


def body(**overrides):
    return {"username": "newbie", "display_name": "新人", "role": "collector", "password": TEST_PASSWORD,
            **overrides}


def test_admin_creates_anyone_and_it_is_audited(api, world, session):
    client = api.as_(world.admin)
    created = client.post("/api/v1/users", json=body(role="finance"))
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "finance" and created.headers["etag"] == '"1"'
    collector = client.post("/api/v1/users", json=body(username="newcol", agency_id=world.b.id))
    assert collector.status_code == 201 and collector.json()["agency_id"] == world.b.id
    assert [e.actor for e in events(session, "user.create")][-2:] == ["user:root", "user:root"]


def test_agency_manager_creates_only_collectors_of_their_agency(api, world):
    client = api.as_(world.mgr_a)
    created = client.post("/api/v1/users", json=body())
    assert created.status_code == 201 and created.json()["agency_id"] == world.a.id
    assert client.post("/api/v1/users", json=body(username="n2", agency_id=world.a.id)).status_code == 201
    assert client.post("/api/v1/users", json=body(username="n3", agency_id=world.b.id)).status_code == 404
    refused = client.post("/api/v1/users", json=body(username="n4", role="agency_manager"))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert client.post("/api/v1/users", json=body(username="n5", role="admin")).status_code == 403


@pytest.mark.parametrize("who", ["infosec", "auditor", "ops", "col_a"])
def test_roles_without_users_write_create_no_one(api, world, who):
    assert api.as_(getattr(world, who)).post("/api/v1/users", json=body()).status_code == 403


@pytest.mark.parametrize(
    "changes, status, code",
    [
        ({"password": "short"}, 422, "weak_password"),
        ({"username": "mia"}, 409, "username_taken"),
        ({"role": "collector", "agency_id": None}, 422, "agency_required"),
        ({"role": "operations"}, 422, "agency_not_allowed"),
        ({"is_admin": True}, 422, "validation_error"),
    ],
)
def test_bad_new_users_are_refused(api, world, changes, status, code):
    fields = body(agency_id=world.a.id)
    fields.update(changes)
    response = api.as_(world.admin).post("/api/v1/users", json=fields)
    assert (response.status_code, response.json()["code"]) == (status, code)


# --- changing ---------------------------------------------------------------------------


def test_manager_deactivates_own_collector_with_if_match(api, world, session):
    client = api.as_(world.mgr_a)
    etag = client.get(f"/api/v1/users/{world.col_a.id}").headers["etag"]
    changed = client.patch(f"/api/v1/users/{world.col_a.id}", json={"is_active": False}, headers={"if-match": etag})
    assert changed.status_code == 200, changed.text
    assert changed.json()["is_active"] is False and changed.headers["etag"] == '"2"'
    stale = client.patch(f"/api/v1/users/{world.col_a.id}", json={"display_name": "X"}, headers={"if-match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    (event,) = events(session, "user.deactivate")
    assert (event.actor, event.entity_id, event.details["changes"]) == (
        "user:mia", str(world.col_a.id), {"is_active": [True, False]})
    again = client.patch(f"/api/v1/users/{world.col_a.id}", json={"is_active": True, "display_name": "可拉"})
    assert again.status_code == 200 and again.json()["version"] == 3 and again.json()["display_name"] == "可拉"
    assert len(events(session, "user.activate")) == 1


def test_sign_ins_do_not_change_the_etag(api, world, session):
    authenticate(session=session, username="cora", password=TEST_PASSWORD)
    session.flush()
    assert api.as_(world.admin).get(f"/api/v1/users/{world.col_a.id}").headers["etag"] == '"1"'


@pytest.mark.parametrize(
    "who, target, expected",
    [
        ("mgr_a", "mgr_a2", 403), ("mgr_a", "col_b", 404), ("mgr_a", "admin", 404), ("infosec", "col_a", 403),
        ("col_a", "col_a2", 403), ("admin", "mgr_b", 200), ("admin", "ops", 200),
    ],
)
def test_who_may_change_whom(api, world, who, target, expected):
    client = api.as_(getattr(world, who))
    response = client.patch(f"/api/v1/users/{getattr(world, target).id}", json={"display_name": "改名"})
    assert response.status_code == expected, response.text


def test_nobody_deactivates_themselves_and_empty_changes_change_nothing(api, world, session):
    client = api.as_(world.admin)
    refused = client.patch(f"/api/v1/users/{world.admin.id}", json={"is_active": False})
    assert refused.status_code == 422 and refused.json()["code"] == "cannot_deactivate_self"
    same = client.patch(f"/api/v1/users/{world.ops.id}", json={})
    assert same.status_code == 200 and same.json()["version"] == 1
    assert events(session, "user.update") == []


# --- passwords --------------------------------------------------------------------------


def test_people_change_their_own_password_with_the_current_one(api, world, session):
    client = api.as_(world.col_a)
    url = f"/api/v1/users/{world.col_a.id}/password"
    wrong = client.post(url, json={"new_password": NEW_PASSWORD, "current_password": "not it at all"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_password"
    assert client.post(url, json={"new_password": NEW_PASSWORD}).status_code == 403
    # Wrong current passwords count against the client's sign-in limit.
    assert session.scalar(select(LoginAttempt.succeeded).where(LoginAttempt.username == "cora")) is False
    weak = client.post(url, json={"new_password": "cora-1234567890", "current_password": TEST_PASSWORD})
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    same = client.post(url, json={"new_password": TEST_PASSWORD, "current_password": TEST_PASSWORD})
    assert same.status_code == 422
    done = client.post(url, json={"new_password": NEW_PASSWORD, "current_password": TEST_PASSWORD})
    assert done.status_code == 204, done.text
    assert authenticate(session=session, username="cora", password=NEW_PASSWORD).id == world.col_a.id
    assert [e.actor for e in events(session, "user.password_change")] == ["user:cora"]


def test_admin_resets_any_password_and_lifts_the_lock(api, world, session):
    from weiwai.db import utcnow

    world.ops.locked_until = utcnow().replace(year=2999)
    response = api.as_(world.admin).post(f"/api/v1/users/{world.ops.id}/password", json={"new_password": NEW_PASSWORD})
    assert response.status_code == 204, response.text
    assert world.ops.locked_until is None
    assert authenticate(session=session, username="olga", password=NEW_PASSWORD).id == world.ops.id
    assert [e.details["username"] for e in events(session, "user.password_reset")] == ["olga"]


@pytest.mark.parametrize(
    "who, target, expected",
    [
        ("mgr_a", "col_a", 204), ("mgr_a", "mgr_a2", 403), ("mgr_a", "col_b", 404), ("ops", "col_a", 404),
        ("col_a", "col_a2", 404), ("infosec", "ops", 404),
    ],
)
def test_who_may_reset_whose_password(api, world, who, target, expected):
    client = api.as_(getattr(world, who))
    response = client.post(f"/api/v1/users/{getattr(world, target).id}/password", json={"new_password": NEW_PASSWORD})
    assert response.status_code == expected, response.text


def test_tokens_change_no_passwords(api, world):
    client = api.as_(world.mgr_a, token=True)
    assert client.post(f"/api/v1/users/{world.col_a.id}/password", json={"new_password": NEW_PASSWORD}
                       ).status_code == 403
