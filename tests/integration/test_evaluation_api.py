"""The evaluation and scorecard API: figures, export, and who may see what.

The app runs on the test's own session (rolled back afterwards) and the signed-in user
is set directly, so these run on SQLite and PostgreSQL like every integration test.
"""

from __future__ import annotations

import io

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories_reports import AS_OF, make_agency, make_batch, make_case, make_contract, make_recovery
from weiwai.reports.scorecards import store_batch_scorecards
from weiwai.security.models import AuditEvent, Role
from weiwai.web.deps import Principal, current_principal, get_session


@pytest.fixture
def scene(session):
    batch = make_batch(session)
    a, b = make_agency(session, code="API-A"), make_agency(session, code="API-B")
    for agency, plan in ((a, [("M1", "500.00")] * 3 + [("M3", "100.00")]),
                         (b, [("M1", "600.00")] + [("M3", "200.00")] * 3)):
        contract = make_contract(session, agency=agency)
        for bucket, amount in plan:
            case = make_case(session, batch=batch, agency=agency, contract=contract, bucket=bucket)
            make_recovery(session, case=case, amount=amount)
    store_batch_scorecards(session=session, batch_no=batch.batch_no, as_of=AS_OF)
    return batch, a, b


@pytest.fixture
def client_as(session):
    from weiwai.web.app import create_app

    app = create_app()

    def as_(role: Role, agency_id: int | None = None) -> TestClient:
        principal = Principal(user_id=1, username=f"t-{role}", role=role, agency_id=agency_id)
        app.dependency_overrides[current_principal] = lambda: principal
        app.dependency_overrides[get_session] = lambda: session
        return TestClient(app)

    return as_


def test_lender_staff_get_the_batch_evaluation(scene, client_as):
    batch, a, _b = scene
    response = client_as(Role.finance).get(f"/api/v1/evaluations/batches/{batch.batch_no}",
                                           params={"as_of": AS_OF.isoformat()})
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "batch" and body["date_to"] == "2024-03-31"
    assert [s["bucket"] for s in body["strata"]] == ["M1", "M3"]
    overall = {o["agency_code"]: o for o in body["overall"]}
    assert overall["API-A"]["mix_adjusted"]["recovery_rate_amount"] == "0.300000"
    assert overall["API-A"]["as_placed"]["recovery_rate_amount"] == "0.400000"
    assert overall["API-A"]["as_placed"]["contact_rate"] is None
    assert overall["API-A"]["facts"]["recovered"] == "1600.00"


def test_agency_users_cannot_see_evaluations(scene, client_as):
    batch, a, _b = scene
    for role in (Role.agency_manager, Role.collector):
        for path in (f"/api/v1/evaluations/batches/{batch.batch_no}", "/api/v1/evaluations/batches/NOPE"):
            response = client_as(role, a.id).get(path)
            assert response.status_code == 403  # the same whether the batch exists or not


def test_unknown_batch_is_404(scene, client_as):
    assert client_as(Role.admin).get("/api/v1/evaluations/batches/NOPE").status_code == 404


def test_period_evaluation_and_a_reversed_period(scene, client_as):
    client = client_as(Role.operations)
    response = client.get("/api/v1/evaluations/agencies", params={"from": "2024-03-01", "to": "2024-03-31"})
    assert response.status_code == 200
    assert response.json()["totals"]["cases"] == 8
    response = client.get("/api/v1/evaluations/agencies", params={"from": "2024-03-31", "to": "2024-03-01"})
    assert response.status_code == 422


def test_export_is_an_audited_workbook(session, scene, client_as):
    batch, _a, _b = scene
    response = client_as(Role.finance).get(f"/api/v1/evaluations/batches/{batch.batch_no}/export.xlsx",
                                           params={"as_of": AS_OF.isoformat()})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert len(openpyxl.load_workbook(io.BytesIO(response.content)).sheetnames) == 3
    events = session.scalars(select(AuditEvent).where(AuditEvent.entity == "evaluation")).all()
    assert [(e.action, e.actor) for e in events] == [("export", "user:t-finance")]


def test_lender_staff_see_every_agencys_scorecards(scene, client_as):
    batch, a, b = scene
    body = client_as(Role.auditor).get("/api/v1/scorecards", params={"batch_no": batch.batch_no}).json()
    assert body["total"] == 6
    assert {item["agency_id"] for item in body["items"]} == {a.id, b.id}


def test_an_agency_manager_sees_only_its_own_scorecards(scene, client_as):
    batch, a, b = scene
    client = client_as(Role.agency_manager, a.id)
    body = client.get("/api/v1/scorecards", params={"batch_no": batch.batch_no}).json()
    assert body["total"] == 3 and {item["agency_id"] for item in body["items"]} == {a.id}
    rollup = next(item for item in body["items"] if item["bucket"] == "*")
    assert rollup["metrics"]["recovery_rate_amount"] == "0.300000"
    assert client.get("/api/v1/scorecards", params={"agency_id": b.id}).status_code == 404
    assert client.get("/api/v1/scorecards", params={"agency_id": b.id + 999}).status_code == 404
    assert client.get("/api/v1/scorecards", params={"agency_id": a.id}).json()["total"] == 3


def test_collectors_see_no_scorecards(scene, client_as):
    _batch, a, _b = scene
    assert client_as(Role.collector, a.id).get("/api/v1/scorecards").status_code == 403
