"""Users: creation rules, authentication with audit events, the lockout, demo users."""

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from factories import TEST_PASSWORD, make_agency, make_user
from weiwai.db import utcnow
from weiwai.errors import Conflict, RuleViolation
from weiwai.security.models import AuditEvent, Role, User
from weiwai.security.service import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    AuthenticationFailed,
    authenticate,
    create_user,
    list_users,
)


def _events(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_create_user_stores_an_argon2id_hash_and_audits(session):
    user = create_user(
        session=session, username="  Alice ", display_name="爱丽丝", role="compliance", password=TEST_PASSWORD,
        actor="cli:root",
    )
    assert user.username == "alice"
    assert user.role == Role.compliance
    assert user.password_hash.startswith("$argon2id$") and TEST_PASSWORD not in user.password_hash
    assert (user.failed_logins, user.locked_until, user.is_active) == (0, None, True)
    (event,) = _events(session, "user.create")
    assert (event.actor, event.entity_id, event.details["role"]) == ("cli:root", str(user.id), "compliance")


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"username": "x"}, "invalid_username"),
        ({"username": "has space"}, "invalid_username"),
        ({"display_name": "  "}, "invalid_display_name"),
        ({"role": "superuser"}, "invalid_role"),
        ({"password": "short"}, "weak_password"),
        ({"password": "x" * 257}, "weak_password"),
        ({"password": "my-name-is-bob-ok"}, "weak_password"),
        ({"role": "collector"}, "agency_required"),
        ({"role": "collector", "agency_id": 999999}, "unknown_agency"),
    ],
)
def test_create_user_refuses(session, changes, code):
    arguments = {
        "username": "bob", "display_name": "Bob", "role": "operations", "password": TEST_PASSWORD, **changes
    }
    with pytest.raises(RuleViolation) as caught:
        create_user(session=session, **arguments)
    assert caught.value.code == code


def test_lender_roles_take_no_agency_and_agency_roles_need_one(session):
    agency = make_agency(session)
    with pytest.raises(RuleViolation) as caught:
        create_user(
            session=session, username="fin", display_name="F", role="finance", password=TEST_PASSWORD,
            agency_id=agency.id,
        )
    assert caught.value.code == "agency_not_allowed"
    collector = create_user(
        session=session, username="col", display_name="C", role="collector", password=TEST_PASSWORD,
        agency_id=agency.id,
    )
    assert collector.agency_id == agency.id
    assert [(user.username, code) for user, code in list_users(session=session)] == [("col", agency.code)]


def test_usernames_are_unique_whatever_the_case(session):
    make_user(session, username="carol")
    with pytest.raises(Conflict):
        create_user(session=session, username="CAROL", display_name="C", role="auditor", password=TEST_PASSWORD)


def test_authenticate_succeeds_resets_counters_and_audits(session):
    user = make_user(session, username="dave")
    user.failed_logins = 3
    signed_in = authenticate(session=session, username="Dave", password=TEST_PASSWORD, client="10.0.0.1")
    assert signed_in.id == user.id
    assert signed_in.failed_logins == 0 and signed_in.last_login_at is not None
    (event,) = _events(session, "login.success")
    assert (event.actor, event.entity_id, event.details) == ("user:dave", str(user.id), {"client": "10.0.0.1"})


@pytest.mark.parametrize("username, password, reason", [
    ("erin", "wrong password!!", "wrong_password"),
    ("nobody", TEST_PASSWORD, "unknown_user"),
])
def test_failures_get_one_answer_and_are_audited_with_the_real_reason(session, username, password, reason):
    make_user(session, username="erin")
    with pytest.raises(AuthenticationFailed) as caught:
        authenticate(session=session, username=username, password=password)
    assert caught.value.http_status == 401 and caught.value.code == "authentication_failed"
    (event,) = _events(session, "login.failure")
    assert event.details["reason"] == reason and event.details["username"] == username
    assert _events(session, "login.success") == []


def test_failure_message_does_not_depend_on_whether_the_user_exists(session):
    make_user(session, username="frank")
    messages = set()
    for username in ("frank", "no-such-user"):
        with pytest.raises(AuthenticationFailed) as caught:
            authenticate(session=session, username=username, password="definitely wrong")
        messages.add(caught.value.message)
    assert len(messages) == 1


def test_five_failures_lock_the_account_for_fifteen_minutes(session):
    user = make_user(session, username="grace")
    start = utcnow()
    for attempt in range(MAX_FAILED_LOGINS):
        with pytest.raises(AuthenticationFailed):
            authenticate(session=session, username="grace", password=f"wrong {attempt}", now=start)
    assert user.locked_until == start + LOCKOUT

    # Locked: even the right password fails, and the audit says why.
    with pytest.raises(AuthenticationFailed):
        authenticate(session=session, username="grace", password=TEST_PASSWORD, now=start + timedelta(minutes=14))
    assert _events(session, "login.failure")[-1].details["reason"] == "locked"
    assert _events(session, "login.failure")[MAX_FAILED_LOGINS - 1].details["locked_until"]

    # After fifteen minutes the right password works again and clears the lock.
    signed_in = authenticate(session=session, username="grace", password=TEST_PASSWORD, now=start + LOCKOUT)
    assert signed_in.locked_until is None and signed_in.failed_logins == 0
    assert len(_events(session, "login.failure")) == MAX_FAILED_LOGINS + 1


def test_only_consecutive_failures_count(session):
    make_user(session, username="heidi")
    now = utcnow()
    for _round in range(2):
        for _attempt in range(MAX_FAILED_LOGINS - 1):
            with pytest.raises(AuthenticationFailed):
                authenticate(session=session, username="heidi", password="nope nope nope", now=now)
        authenticate(session=session, username="heidi", password=TEST_PASSWORD, now=now)
    user = session.scalar(select(User).where(User.username == "heidi"))
    assert user.locked_until is None


def test_deactivated_user_cannot_sign_in(session):
    user = make_user(session, username="ivan")
    user.is_active = False
    with pytest.raises(AuthenticationFailed):
        authenticate(session=session, username="ivan", password=TEST_PASSWORD)
    assert _events(session, "login.failure")[-1].details["reason"] == "inactive"


def test_old_hash_parameters_are_upgraded_on_sign_in(session):
    user = make_user(session, username="judy")
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(TEST_PASSWORD)
    old = user.password_hash
    authenticate(session=session, username="judy", password=TEST_PASSWORD)
    assert user.password_hash != old and user.password_hash.startswith("$argon2id$v=19$m=65536")


def test_demo_users_cover_every_lender_role_and_sign_in(session, demo_mode):
    from weiwai.security.demo_users import DEMO_USERS, seed_demo_users
    from weiwai.web.deps import LENDER_ROLES

    assert {demo.role for demo in DEMO_USERS if demo.agency_code is None} == set(LENDER_ROLES)
    created = seed_demo_users(session=session, agency_ids_by_code={})
    assert {user.username for user in created} == {d.username for d in DEMO_USERS if d.agency_code is None}
    for demo in DEMO_USERS[:2]:
        assert authenticate(session=session, username=demo.username, password=demo.password).role == demo.role
    # Seeding again creates nothing new.
    assert seed_demo_users(session=session, agency_ids_by_code={}) == []


def test_demo_agency_users_wait_for_their_agency(session, demo_mode, monkeypatch):
    from weiwai.security import demo_users

    agency = make_agency(session, code="DEMO-AG")
    extra = [
        demo_users.DemoUser("mgr", "Quiet-River-88", Role.agency_manager, "经理", "DEMO-AG"),
        demo_users.DemoUser("col", "Quiet-Field-77", Role.collector, "催收员", "MISSING"),
    ]
    monkeypatch.setattr(demo_users, "DEMO_USERS", [*demo_users.DEMO_USERS, *extra])
    created = demo_users.seed_demo_users(session=session, agency_ids_by_code={"DEMO-AG": agency.id})
    names = {user.username for user in created}
    assert "mgr" in names and "col" not in names
    assert next(user for user in created if user.username == "mgr").agency_id == agency.id


def test_demo_users_are_refused_outside_demo_mode(session):
    from weiwai.security.demo_users import seed_demo_users

    with pytest.raises(RuleViolation) as caught:
        seed_demo_users(session=session, agency_ids_by_code={})
    assert caught.value.code == "not_demo_mode"
