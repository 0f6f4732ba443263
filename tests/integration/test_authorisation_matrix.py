"""The authorisation matrix: every API route × every principal × whose row, on SQLite and PostgreSQL.

The rows of the matrix are generated at collection time from the route table
(weiwai.security.roles_doc.route_rules), so a new route is in the matrix the moment it is
mounted. Each path parameter is resolved by its name from PARAMS into a value per target:

- own: a row of agency A (for a collector: their own case);
- other_collector: a row of agency A assigned to A's other collector;
- other_agency: the matching row of agency B;
- hidden: a row of A that A may not see (an ended case, a draft statement, a lender user);
- nonexistent: a well-formed reference to nothing.

A route with a path parameter PARAMS does not know fails, so that new routes are forced
into the matrix. Principals: one user of each lender role, agency A's manager, A's
collector A1 and A's API token (all token scopes). Lender staff are asked about own and
nonexistent rows only (they may see every row).

Assertions, for every route and principal:
(i)   without the route's permission: 403 for every target, existing or not;
(ii)  with it, a row of another party answers exactly like a nonexistent one (status and
      problem code, never 403);
(iii) no answer to an agency principal contains a marker of another party (the other
      agency's case and account numbers, debtor and contact names, code, name, users…;
      A's ended case and draft statement; a collector: A's other collector's cases);
(iv)  GET on own rows with the permission answers 2xx; no answer is ever a 5xx.
test_lists_show_their_own_rows checks the list endpoints' contents positively.

One world per backend (module scope); every request runs in a transaction that is rolled
back afterwards (sessions the route opens itself join it), so writes do not leak into the
next request.
"""

from __future__ import annotations

import json
import re
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from authz_world import LENDER_ROLES, World, build_world
from weiwai.security.models import Role
from weiwai.security.permissions import TOKEN_SCOPES, Permission
from weiwai.security.roles_doc import OPEN_ROUTES, RouteRule, route_rules
from weiwai.web.deps import Principal

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

BACKENDS = ["sqlite", "postgres"]
NO_ID = 987_654
TARGETS = ("own", "other_collector", "other_agency", "hidden", "nonexistent")
AGENCY_PRINCIPALS = ("agency_manager", "collector", "token")
PRINCIPALS = (*(role.value for role in LENDER_ROLES), *AGENCY_PRINCIPALS)


# --- how each path parameter (and template placeholder) resolves, by target -------------------


@dataclass(frozen=True)
class Const:
    """A parameter that is the same for every target (it does not pick whose row)."""

    value: Any


def _case_field(name: str):
    def resolve(w: World) -> dict[str, Any]:
        a, b = w.a.cases, w.b.cases
        return {"own": getattr(a["a1"], name), "other_collector": getattr(a["a2"], name),
                "other_agency": getattr(b["b1"], name), "hidden": getattr(a["ended"], name)}
    return resolve


def _party_field(name: str, hidden=None):
    def resolve(w: World) -> dict[str, Any]:
        return {"own": getattr(w.a, name), "other_agency": getattr(w.b, name),
                "hidden": hidden(w) if hidden else None}
    return resolve


PARAMS: dict[str, Any] = {
    # name: (resolver of the targets that exist, the nonexistent value)
    "agency_id": (_party_field("agency_id"), NO_ID),
    "agency": (_party_field("code"), "QZN-AGENCY"),
    "agency_code": (_party_field("code"), "QZN-AGENCY"),
    "contract_id": (_party_field("contract_id"), NO_ID),
    "contract_no": (_party_field("contract_no"), "QZN-CONTRACT"),
    "case_no": (_case_field("case_no"), "QZN0-CASE"),
    "case_id": (_case_field("case_id"), NO_ID),
    "account_no": (_case_field("account_no"), "QZN0-ACCOUNT"),
    "debtor_id": (_case_field("debtor_id"), NO_ID),
    "action_id": (_case_field("action_id"), NO_ID),
    "promise_id": (_case_field("promise_id"), NO_ID),
    "txn_id": (_case_field("txn_id"), "QZN0-TXN"),
    "package_id": (_party_field("package_id"), NO_ID),
    "package_no": (_party_field("package_no"), "HP20240101QZN0"),
    "statement_id": (_party_field("statement_id", hidden=lambda w: w.a.draft_statement_id), NO_ID),
    "statement_no": (_party_field("statement_no", hidden=lambda w: w.a.draft_statement_no), "CS-209901-QZN"),
    "token_id": (_party_field("token_id"), NO_ID),
    "user_id": (lambda w: {"own": w.a.collector_ids[0], "other_collector": w.a.collector_ids[1],
                           "other_agency": w.b.collector_ids[0], "hidden": w.lender_ids[Role.admin]}, NO_ID),
    "collector_user_id": (lambda w: {"own": w.a.collector_ids[0], "other_collector": w.a.collector_ids[1],
                                     "other_agency": w.b.collector_ids[0], "hidden": w.lender_ids[Role.admin]}, NO_ID),
    "username": (lambda w: {"own": w.a.collectors[0], "other_agency": w.b.collectors[0],
                            "hidden": w.lender_usernames[Role.admin]}, "qzn-nobody"),
    "batch_no": (lambda w: {"own": w.batch_no}, "QZN-BATCH"),
    # Message templates are the lender's, not a party's: agencies see approved ones (own), never drafts (hidden).
    "template_id": (lambda w: {"own": w.template_id, "hidden": w.draft_template_id}, NO_ID),
    "complaint_no": (_party_field("complaint_no"), "QZN-COMPLAINT"),
    "block_id": (_party_field("block_id"), NO_ID),
    "notice_id": (_party_field("notice_id"), NO_ID),
    # Compliance holds, preferences and reservations: the world has none, so only a missing one is asked for.
    "hold_id": (lambda w: {}, NO_ID),
    "preference_id": (lambda w: {}, NO_ID),
    "reservation_token": (lambda w: {}, "rsv_QZN-NONE"),
    "number_ref": (_case_field("number_ref"), "NRQZNAAAAAAAAAAAAA"),
    "review_id": (_party_field("infosec_review_id"), NO_ID),  # infosec reviews (/api/v1/infosec/...)
    "finding_id": (_party_field("infosec_finding_id"), NO_ID),
    "entrustment_id": (_party_field("entrustment_id"), NO_ID),
    "assessment_id": (_party_field("assessment_id"), NO_ID),
    "certificate_id": (_party_field("certificate_id"), NO_ID),
    "checklist_code": Const("pipl_agency"),
    "kind": Const("csv"),
    "period": Const("2024-01"),
}

# Request bodies of writes (a minimal plausible one; "{name}" is replaced by the target's
# value of that parameter). Writes not listed send {}: refused alike for every target.
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/api/v1/agencies/{agency_id}"): {"capacity_cases": 7},
    ("POST", "/api/v1/agencies/{agency_id}/status"): {"to": "suspended", "reason": "matrix"},
    ("POST", "/api/v1/agencies/{agency_id}/admission-checks"): {
        "item": "due_diligence", "completed_on": "2024-01-02", "evidence_ref": "MATRIX-1"},
    ("POST", "/api/v1/agencies/{agency_id}/tokens"): {"name": "matrix"},
    ("PATCH", "/api/v1/contracts/{contract_id}"): {"placement_days": 30},
    ("POST", "/api/v1/contracts/{contract_id}/status"): {"to": "suspended", "reason": "matrix"},
    ("POST", "/api/v1/handover-packages"): {"contract_no": "{contract_no}"},
    ("POST", "/api/v1/cases/{case_no}/actions"): {
        "channel": "letter", "occurred_at": "2024-03-01T10:00:00+08:00", "outcome": "letter_sent"},
    ("POST", "/api/v1/cases/{case_no}/extend"): {"days": 10, "reason": "matrix"},
    ("POST", "/api/v1/cases/{case_no}/return"): {"reason": "matrix"},
    ("POST", "/api/v1/cases/recall"): {"case_nos": ["{case_no}"], "reason": "matrix"},
    ("POST", "/api/v1/debtors/{debtor_id}/reveal"): {"reason": "matrix check"},
    ("POST", "/api/v1/payments/{txn_id}/reversal"): {"reason": "matrix", "reversed_at": "2024-02-03T10:00:00+08:00"},
    ("POST", "/api/v1/jobs/run"): {"only": ["qzn-no-such-job"]},
    ("PATCH", "/api/v1/users/{user_id}"): {"display_name": "matrix"},
    ("POST", "/api/v1/users"): {"username": "qz-matrix-new", "display_name": "matrix", "role": "collector",
                                "agency_id": "{agency_id}", "password": "a-long-enough-Passw0rd-for-matrix"},
    ("POST", "/api/v1/users/{user_id}/password"): {"new_password": "a-long-enough-Passw0rd-for-matrix",
                                                   "current_password": "not-the-current-one"},
    ("PUT", "/api/v1/cases/{case_no}/assignee"): {"collector_user_id": "{collector_user_id}"},
    ("POST", "/api/v1/work-queue/assignments"): {"case_nos": ["{case_no}"], "collector_user_id": "{collector_user_id}"},
    ("POST", "/api/v1/work-queue/distribute"): {"agency_id": "{agency_id}"},
    ("POST", "/api/v1/complaints"): {"source": "debtor", "case_no": "{case_no}", "category": "conduct",
                                     "summary": "matrix", "received_at": "2024-03-01T10:00:00+08:00"},
    ("POST", "/api/v1/complaints/{complaint_no}/transitions"): {"to": "investigating", "note": "matrix"},
    ("POST", "/api/v1/placement-blocks/{block_id}/lift"): {"reason": "matrix"},
    ("POST", "/api/v1/agencies/{agency_id}/reviews"): {
        "kind": "ad_hoc", "evaluated_on": "2024-03-01", "compliance_score": 80, "quality_score": 80,
        "infosec_score": 80, "result": "pass"},
    ("POST", "/api/v1/users/{user_id}/qualifications"): {"item": "training", "completed_on": "2024-03-01"},
    ("POST", "/api/v1/contact-checks"): {"case_no": "{case_no}", "channel": "letter", "party": "debtor",
                                         "at": "2024-03-05T10:00:00+08:00", "reserve": True},
    ("POST", "/api/v1/cases/{case_no}/holds"): {"kind": "dispute", "reason": "matrix"},
    ("POST", "/api/v1/debtors/{debtor_id}/holds"): {"kind": "dispute", "reason": "matrix"},
    ("POST", "/api/v1/number-refs/{number_ref}/resolve"): {"purpose": "matrix"},
    ("POST", "/api/v1/debtors/{debtor_id}/preferences"): {"kind": "inconvenient_time",
                                                          "data": {"start": "12:00", "end": "13:00"}},
    ("POST", "/api/v1/holds/{hold_id}/lift"): {"reason": "matrix"},
    ("POST", "/api/v1/templates/{template_id}/render"): {"values": {
        "lender_name": "L", "agency_name": "A", "debtor_name": "D", "agency_phone": "1"}},
    ("POST", "/api/v1/templates/check"): {"body": "{agency_name}, {lender_name}: 您好", "channel": "sms",
                                          "language": "zh_CN"},
    ("POST", "/api/v1/infosec/reviews"): {"agency_id": "{agency_id}", "reviewed_on": "2024-03-01",
                                          "reviewer": "matrix"},
    ("POST", "/api/v1/infosec/reviews/{review_id}/findings"): {"item_code": "PH-01", "description": "matrix"},
    ("POST", "/api/v1/infosec/findings/{finding_id}/transitions"): {"to": "remediated", "evidence_ref": "M-1"},
    ("POST", "/api/v1/payments"): {"txn_id": "QZN-MATRIX-TXN", "account_no": "{account_no}", "amount": "1.00",
                                   "paid_at": "2024-03-01T10:00:00+08:00"},
}

# Query strings: each variant is its own row of the matrix ("{name}" as in BODIES).
QUERIES: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("GET", "/api/v1/evaluations/agencies"): [{"from": "2024-01-01", "to": "2024-03-31"}],
    ("GET", "/api/v1/evaluations/agencies/export.xlsx"): [{"from": "2024-01-01", "to": "2024-03-31"}],
    ("GET", "/api/v1/contracts"): [{}, {"agency_id": "{agency_id}"}],
    ("GET", "/api/v1/scorecards"): [{}, {"agency_id": "{agency_id}"}],
    ("GET", "/api/v1/statements"): [{}, {"agency_id": "{agency_id}"}],
    ("GET", "/api/v1/handover-packages"): [{}, {"contract_no": "{contract_no}"}],
    ("GET", "/api/v1/work-queue"): [{}, {"agency_id": "{agency_id}"}, {"collector_user_id": "{collector_user_id}"}],
    ("GET", "/api/v1/cases"): [{}, {"agency_id": "{agency_id}"}, {"collector_user_id": "{collector_user_id}"},
                               {"open": "false"}],
    ("GET", "/api/v1/users"): [{}, {"agency_id": "{agency_id}"}],
    ("GET", "/api/v1/violations"): [{}, {"agency_id": "{agency_id}"}],
    ("GET", "/api/v1/complaints"): [{}, {"agency_id": "{agency_id}"}, {"case_no": "{case_no}"}],
    ("GET", "/api/v1/infosec/reviews"): [{}, {"agency_id": "{agency_id}"}],
    ("GET", "/api/v1/infosec/findings"): [{}, {"agency_id": "{agency_id}"}],
    ("GET", "/api/v1/canary-sightings"): [{}, {"agency_id": "{agency_id}"}],
}
# Lists whose lender callers must name an agency (without one: 422, not a 2xx).
LENDER_NAMES_THE_AGENCY = {("GET", "/api/v1/work-queue")}

PLACEHOLDER = re.compile(r"^\{(\w+)\}$")
PATH_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _placeholders(template: Any) -> list[str]:
    if isinstance(template, str):
        found = PLACEHOLDER.match(template)
        return [found.group(1)] if found else []
    if isinstance(template, dict):
        return [name for value in template.values() for name in _placeholders(value)]
    if isinstance(template, list):
        return [name for value in template for name in _placeholders(value)]
    return []


def _fill(template: Any, values: dict[str, Any]) -> Any:
    if isinstance(template, str):
        found = PLACEHOLDER.match(template)
        return values[found.group(1)] if found else template
    if isinstance(template, dict):
        return {key: _fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(value, values) for value in template]
    return template


@dataclass(frozen=True)
class Row:
    """One route (with one query variant) of the matrix."""

    rule: RouteRule
    query: dict[str, Any]
    body: Any
    params: tuple[str, ...]  # what picks the target: path parameters and placeholders

    @property
    def permission(self) -> Permission | None:
        return self.rule.permissions[0] if self.rule.permissions else None

    @property
    def id(self) -> str:
        suffix = "?" + "&".join(f"{k}={v}" for k, v in self.query.items()) if self.query else ""
        return f"{self.rule.method} {self.rule.path}{suffix}"


def _rows() -> list[Row]:
    rows = []
    for rule in route_rules():
        body = BODIES.get((rule.method, rule.path), {} if rule.method in ("POST", "PUT", "PATCH") else None)
        for query in QUERIES.get((rule.method, rule.path), [{}]):
            names = dict.fromkeys([*PATH_PARAM.findall(rule.path), *_placeholders(query), *_placeholders(body)])
            rows.append(Row(rule=rule, query=query, body=body, params=tuple(names)))
    return rows


ROWS = _rows()


# --- principals and targets ----------------------------------------------------------------------


def principal_of(name: str, world: World) -> Principal:
    a = world.a
    if name == "agency_manager":
        return Principal(user_id=a.manager_id, username=a.manager, role=Role.agency_manager, agency_id=a.agency_id)
    if name == "collector":
        return Principal(user_id=a.collector_ids[0], username=a.collectors[0], role=Role.collector,
                         agency_id=a.agency_id)
    if name == "token":
        return Principal(user_id=None, username=a.token_prefix, role=Role.agency_manager, agency_id=a.agency_id,
                         token_id=a.token_id, scopes=frozenset(TOKEN_SCOPES))
    role = Role(name)
    return Principal(user_id=world.lender_ids[role], username=world.lender_usernames[role], role=role,
                     agency_id=None)


def foreign_targets(name: str) -> tuple[str, ...]:
    """Targets naming a row the principal must not see."""
    if name in AGENCY_PRINCIPALS:
        return ("other_collector", "other_agency", "hidden") if name == "collector" else ("other_agency", "hidden")
    return ()


def visible_targets(name: str) -> tuple[str, ...]:
    return ("own", "other_collector") if name in ("agency_manager", "token") else ("own",)


def resolve(row: Row, world: World) -> dict[str, dict[str, Any]]:
    """target -> {parameter: value}, for the targets every parameter of the row can name."""
    if not row.params:
        return {"-": {}}
    unknown = [name for name in row.params if name not in PARAMS]
    if unknown:
        pytest.fail(
            f"{row.id}: no resolver for parameter(s) {unknown}. Add them to PARAMS in "
            f"tests/integration/test_authorisation_matrix.py (a row of agency A, of A's other collector, of agency B, "
            f"one A may not see, and a nonexistent one), so that the route is in the authorisation matrix."
        )
    per_param = {}
    for name in row.params:
        spec = PARAMS[name]
        if isinstance(spec, Const):
            per_param[name] = {target: spec.value for target in TARGETS}
        else:
            resolver, missing = spec
            values = resolver(world)
            per_param[name] = {**values, "nonexistent": missing}
    targeted = [name for name in row.params if not isinstance(PARAMS[name], Const)]
    targets = {}
    for target in TARGETS:
        if target != "own" and not targeted:
            continue
        values = {name: per_param[name].get(target) for name in row.params}
        if all(value is not None for value in values.values()):
            targets[target] = values
    return targets


# --- the harness: one world per backend, a rolled-back transaction per request -----------------


class _Current:
    """The connection of the request in flight, shared with the app's threads."""

    connection = None
    principal: Principal | None = None


class Harness:
    def __init__(self, engine, world: World, client: TestClient, lock: threading.Lock):
        self.engine, self.world, self.client, self.lock = engine, world, client, lock
        self.requests = 0

    def request(self, principal: Principal, method: str, url: str, *, params=None, body=None):
        with self.lock:
            self.requests += 1
            connection = self.engine.connect()
            transaction = connection.begin()
            _Current.connection, _Current.principal = connection, principal
            try:
                return self.client.request(method, url, params=params or None,
                                           json=body if body is not None else None)
            finally:
                _Current.connection = _Current.principal = None
                transaction.rollback()
                connection.close()


def _joined_session() -> Session:
    assert _Current.connection is not None, "a session was opened outside a request"
    return Session(bind=_Current.connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


def _request_session():
    session = _joined_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@pytest.fixture(scope="module", params=BACKENDS)
def matrix(request, tmp_path_factory):
    import conftest
    from weiwai import db
    from weiwai.config import reset_settings
    from weiwai.db import make_engine
    from weiwai.handover.routes import package_store
    from weiwai.migrate import upgrade
    from weiwai.security.crypto import reset_keyring
    from weiwai.web import deps
    from weiwai.web.app import create_app

    backend = request.param
    store = tmp_path_factory.mktemp(f"authz-{backend}")
    if backend == "sqlite":
        url = f"sqlite:///{store / 'weiwai.db'}"
    else:
        url = conftest._create_pg_database()
    try:
        upgrade(url)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("WEIWAI_DATABASE_URL", url)
            reset_settings()
            reset_keyring()
            # make_engine gives SQLite real transactions, so the request's rollback undoes everything.
            engine = make_engine(url)
            with Session(engine) as session:
                world = build_world(session, store=store)
                session.commit()
            # Sessions a route opens itself (session_scope, new_session) join the request's transaction.
            patch.setattr(db, "new_session", _joined_session)
            patch.setattr(deps, "new_session", _joined_session)
            app = create_app()
            app.dependency_overrides[deps.get_session] = _request_session
            app.dependency_overrides[deps.current_principal] = lambda: _Current.principal
            api_store = store / "api-packages"
            api_store.mkdir()
            app.dependency_overrides[package_store] = lambda: api_store
            with TestClient(app) as client:
                yield Harness(engine, world, client, threading.Lock())
            engine.dispose()
            reset_settings()
            reset_keyring()
    finally:
        if backend == "postgres":
            conftest._drop_pg_database(url)


# --- the matrix ----------------------------------------------------------------------------------


def _url(row: Row, values: dict[str, Any]) -> str:
    return PATH_PARAM.sub(lambda m: str(values[m.group(1)]), row.rule.path)


def _code(response) -> str | None:
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        return response.json().get("code")
    return None


def _text(response) -> str:
    headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
    return headers + "\n" + response.content.decode("utf-8", errors="ignore")


def _leaks(response, markers: list[str], sent: str) -> list[str]:
    """Markers of another party in the response, other than those the request itself named."""
    text = _text(response)
    found = []
    for marker in markers:
        if marker in sent:
            continue
        if marker in text or json.dumps(marker)[1:-1] in text:
            found.append(marker)
    return found


@pytest.mark.parametrize("principal_name", PRINCIPALS)
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_matrix(matrix: Harness, row: Row, principal_name: str):
    world = matrix.world
    principal = principal_of(principal_name, world)
    targets = resolve(row, world)
    if principal_name not in AGENCY_PRINCIPALS:  # lender staff see every row: ask about own and missing ones
        targets = {t: v for t, v in targets.items() if t in ("own", "nonexistent", "-")}
    markers = world.markers_hidden_from(principal.role) if principal_name in AGENCY_PRINCIPALS else []

    responses = {}
    for target, values in targets.items():
        url = _url(row, values)
        query = _fill(row.query, values)
        body = _fill(row.body, values)
        response = matrix.request(principal, row.rule.method, url, params=query, body=body)
        where = f"{row.rule.method} {url} {query or ''} as {principal_name} ({target})"
        assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:500]}"
        leaked = _leaks(response, markers, sent=url + json.dumps(query, ensure_ascii=False)
                        + json.dumps(body, ensure_ascii=False))
        assert leaked == [], f"{where} answered with data of another party {leaked}: {response.text[:500]}"
        responses[target] = response

    if row.permission is not None and not principal.can(row.permission):
        for target, response in responses.items():
            assert (response.status_code, _code(response)) == (403, "forbidden"), (
                f"{row.id} as {principal_name} ({target}) without {row.permission.value}: "
                f"{response.status_code} {response.text[:300]}")
        return
    if row.permission is None:
        assert row.rule.path in OPEN_ROUTES, f"{row.id} names no permission"

    if "nonexistent" in responses:
        missing = responses["nonexistent"]
        for target in foreign_targets(principal_name):
            if target not in responses:
                continue
            response = responses[target]
            assert (response.status_code, _code(response)) == (missing.status_code, _code(missing)), (
                f"{row.id} as {principal_name}: another party's row ({target}) answers "
                f"{response.status_code} {_code(response)}, a nonexistent one {missing.status_code} {_code(missing)}")
        if row.permission is not None:  # holding the permission, a missing row is never "forbidden"
            assert missing.status_code != 403, f"{row.id} as {principal_name}: 403 for a row it may not see"

    unnamed = "agency_id" not in row.query and (row.rule.method, row.rule.path) in LENDER_NAMES_THE_AGENCY
    if row.rule.method == "GET" and not (principal.is_lender and unnamed):
        for target in (*visible_targets(principal_name), "-"):
            if target in responses:
                response = responses[target]
                assert 200 <= response.status_code < 300, (
                    f"{row.id} as {principal_name} ({target}): {response.status_code} {response.text[:300]}")


def test_the_matrix_covers_the_api():
    """Every API route is a row, every role a column (rows are generated from the routers)."""
    routes = {(rule.method, rule.path) for rule in route_rules()}
    assert {(row.rule.method, row.rule.path) for row in ROWS} == routes
    assert len(routes) > 40
    assert set(PRINCIPALS) >= {role.value for role in Role}
    stale = [key for key in (*BODIES, *QUERIES) if key not in routes]
    assert stale == [], "BODIES / QUERIES name routes that no longer exist"


def test_an_unknown_path_parameter_fails_the_row():
    rule = RouteRule(method="GET", path="/api/v1/gizmos/{gizmo_id}", permissions=(Permission.cases_read,),
                     summary="")
    row = Row(rule=rule, query={}, body=None, params=("gizmo_id",))
    with pytest.raises(pytest.fail.Exception, match="no resolver for parameter"):
        resolve(row, None)  # type: ignore[arg-type]


# --- list endpoints show their own rows, and only those -------------------------------------------


LIST_EXPECTATIONS = {
    # path: (principal, markers that must appear)
    "/api/v1/agencies": {"agency_manager": lambda w: [w.a.code]},
    "/api/v1/contracts": {"agency_manager": lambda w: [w.a.contract_no]},
    "/api/v1/handover-packages": {"agency_manager": lambda w: [w.a.package_no], "token": lambda w: [w.a.package_no]},
    "/api/v1/statements": {"agency_manager": lambda w: [w.a.statement_no]},
    "/api/v1/cases": {
        "agency_manager": lambda w: [w.a.cases["a1"].case_no, w.a.cases["a2"].case_no],
        "token": lambda w: [w.a.cases["a1"].case_no, w.a.cases["a2"].case_no],
        "collector": lambda w: [w.a.cases["a1"].case_no],
    },
    "/api/v1/users": {"agency_manager": lambda w: [w.a.collectors[0], w.a.collectors[1]]},
    "/api/v1/complaints": {"agency_manager": lambda w: [w.a.complaint_no]},
}


def test_lists_show_their_own_rows(matrix: Harness):
    world = matrix.world
    mounted = {rule.path for rule in route_rules() if rule.method == "GET"}
    checked = 0
    for path, expectations in LIST_EXPECTATIONS.items():
        if path not in mounted:
            continue
        for name, expected in expectations.items():
            principal = principal_of(name, world)
            response = matrix.request(principal, "GET", path)
            assert response.status_code == 200, f"{path} as {name}: {response.text[:300]}"
            text = _text(response)
            missing = [marker for marker in expected(world) if marker not in text]
            assert missing == [], f"{path} as {name} lacks its own {missing}"
            checked += 1
    assert checked >= 5


def test_scorecards_of_an_agency_are_its_own(matrix: Harness):
    world = matrix.world
    page = matrix.request(principal_of("agency_manager", world), "GET", "/api/v1/scorecards").json()
    assert page["total"] > 0
    assert {item["agency_id"] for item in page["items"]} == {world.a.agency_id}
    lender = matrix.request(principal_of("auditor", world), "GET", "/api/v1/scorecards").json()
    assert {item["agency_id"] for item in lender["items"]} == {world.a.agency_id, world.b.agency_id}
