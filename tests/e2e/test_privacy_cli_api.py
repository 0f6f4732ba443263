"""Entrustment and end of entrustment end to end: the API (scoping, If-Match, certificates),
the CLI (`weiwai entrustment`, `weiwai deletion dues|certify|certificates|purge`), the jobs
and the /privacy page, on a fresh database."""

import warnings
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from factories import make_user, sign_in, use_cheap_password_hashing
from factories_collection import make_case, make_world
from weiwai.db import session_scope
from weiwai.handover import service as handover
from weiwai.placements.cases import recall_cases
from weiwai.privacy.models import DeletionDue, Entrustment

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

API = "/api/v1"


@pytest.fixture
def client(use_db, monkeypatch):
    use_cheap_password_hashing(monkeypatch)
    from weiwai.web.app import create_app

    with TestClient(create_app(), base_url="https://testserver") as test_client:
        yield test_client


@pytest.fixture
def world(client, tmp_path):
    """Two agencies, each with a package whose one case was recalled on 2024-06-01 (due 2024-07-01 or so)."""
    refs = {}
    with session_scope() as session:
        for key in ("a", "b"):
            w = make_world(session)
            make_case(session, contract=w.contract)
            package = handover.create_package(session=session, contract_no=w.contract.contract_no,
                                              out_dir=tmp_path / key, actor="test",
                                              at=datetime(2024, 3, 10, 2, tzinfo=UTC))
            recall_cases(session=session, reason="投诉", actor="test", case_nos=[w.case.case_no],
                         at=datetime(2024, 6, 1, 2, tzinfo=UTC))
            refs[key] = {"agency_id": w.agency.id, "agency": w.agency.code, "package_id": package.id,
                         "package_no": package.package_no, "contract_id": w.contract.id}
        make_user(session, username="ops", role="operations")
        make_user(session, username="admin", role="admin")
        make_user(session, username="comp", role="compliance")
        make_user(session, username="infosec", role="infosec")
        make_user(session, username="mgr", role="agency_manager", agency_id=refs["a"]["agency_id"])
    return refs


def run_cli(*args):
    from typer.testing import CliRunner

    from weiwai.cli import deletion_cmd, entrustment_cmd, main

    main._register()
    for module in (deletion_cmd, entrustment_cmd):
        module.console.width = 300  # tables unwrapped
    return CliRunner().invoke(main.app, list(args), env={"COLUMNS": "300"})


def test_the_jobs_and_the_api_for_dues_and_certificates(client, world):
    from weiwai.privacy.deletion_jobs import end_of_entrustment

    with session_scope() as session:
        result = end_of_entrustment(session=session, run_for=date(2024, 7, 10))
    assert result["dues_created"] == 2 and result["blocks_created"] == 2
    a, b = world["a"], world["b"]

    sign_in(client, "mgr")
    dues = client.get(f"{API}/deletion-dues", params={"overdue": "true"}).json()
    assert dues["total"] == 1 and dues["items"][0]["agency_id"] == a["agency_id"]
    assert client.get(f"{API}/deletion-dues", params={"agency_id": b["agency_id"]}).status_code == 404
    body = {"package_ids": [a["package_id"]], "deleted_on": "2024-07-05", "method": "crypto_erase",
            "signed_by_name": "张三", "signed_by_title": "信息安全负责人", "statement": "已删除"}
    refused = client.post(f"{API}/deletion-certificates", json={**body, "package_ids": [b["package_id"]]})
    assert refused.status_code == 404
    created = client.post(f"{API}/deletion-certificates", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["rows_certified"] == 1
    assert client.get(f"{API}/deletion-dues", params={"overdue": "true"}).json()["total"] == 0
    assert client.get(f"{API}/deletion-certificates").json()["total"] == 1

    sign_in(client, "ops")  # lender staff read every agency's, may not certify
    assert client.get(f"{API}/deletion-dues").json()["total"] == 2
    assert client.post(f"{API}/deletion-certificates", json={**body, "agency_id": b["agency_id"]}).status_code == 403
    sign_in(client, "admin")  # on the agency's behalf only with the evidence
    on_behalf = {**body, "agency_id": b["agency_id"], "package_ids": [b["package_id"]]}
    assert client.post(f"{API}/deletion-certificates", json=on_behalf).status_code == 422
    assert client.post(f"{API}/deletion-certificates",
                       json={**on_behalf, "evidence_ref": "DMS/2024/77"}).status_code == 201
    with session_scope() as session:
        assert all(due.certificate_id for due in session.scalars(select(DeletionDue)))
        result = end_of_entrustment(session=session, run_for=date(2024, 7, 11))
    assert result["blocks_lifted"] == 0 and result["agencies_overdue"] == 0  # lifted at certification


def test_entrustments_through_the_api_with_if_match_and_scoping(client, world):
    a, b = world["a"], world["b"]
    with session_scope() as session:
        ids = {key: session.scalar(select(Entrustment.id).where(Entrustment.contract_id == ref["contract_id"]))
               for key, ref in world.items()}
    sign_in(client, "mgr")
    assert client.get(f"{API}/entrustments").json()["total"] == 1
    assert client.get(f"{API}/entrustments/{ids['b']}").status_code == 404
    assert client.patch(f"{API}/entrustments/{ids['a']}", json={"retention_days": 10}).status_code == 403

    sign_in(client, "comp")
    read = client.get(f"{API}/entrustments/{ids['a']}")
    assert read.headers["ETag"] == '"1"' and read.json()["data_categories"] == ["name", "phone"]
    stale = client.patch(f"{API}/entrustments/{ids['a']}", json={"retention_days": 10}, headers={"If-Match": '"9"'})
    assert stale.status_code == 412
    bad = client.patch(f"{API}/entrustments/{ids['a']}", json={"sub_processors": ["外呼公司"]})
    assert bad.status_code == 422 and "sub" in bad.json()["detail"]
    changed = client.patch(f"{API}/entrustments/{ids['a']}", headers={"If-Match": '"1"'},
                           json={"sub_entrustment_allowed": True, "sub_processors": ["外呼公司"]})
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'

    # Assessments: infosec files, compliance approves; the assessor cannot approve their own.
    sign_in(client, "infosec")
    filed = client.post(f"{API}/impact-assessments", json={
        "agency_id": b["agency_id"], "assessed_on": "2024-12-01", "scope": "委托催收", "conclusion": "acceptable",
        "risks": [{"risk": "泄露", "likelihood": "low", "impact": "high", "measure": "加密"}],
        "evidence_ref": "PIA-9"})
    assert filed.status_code == 201, filed.text
    assessment_id = filed.json()["id"]
    assert client.post(f"{API}/impact-assessments/{assessment_id}/submit").status_code == 200
    own = client.post(f"{API}/impact-assessments/{assessment_id}/decision", json={"approve": True})
    assert own.status_code == 422 and own.json()["code"] == "four_eyes"
    sign_in(client, "comp")
    decided = client.post(f"{API}/impact-assessments/{assessment_id}/decision", json={"approve": True})
    assert decided.json()["status"] == "approved"
    sign_in(client, "mgr")
    assert client.get(f"{API}/impact-assessments/{assessment_id}").status_code == 404
    assert client.get(f"{API}/impact-assessments").json()["total"] == 0


def test_the_cli_lists_certifies_and_purges(client, world):
    a = world["a"]
    dues = run_cli("deletion", "dues", "--agency", a["agency"])
    assert dues.exit_code == 0, dues.output
    assert "OVERDUE" in dues.output or "逾期" in dues.output
    missing = run_cli("deletion", "certify", "--agency", a["agency"], "--package", "HPNOPE", "--deleted-on",
                      "2024-07-05", "--method", "shredding", "--signed-by", "张三", "--title", "经理",
                      "--statement", "已删除", "--evidence-ref", "E-1")
    assert missing.exit_code != 0 and "HPNOPE" in str(missing.exception)  # main() prints it in one line
    certified = run_cli("deletion", "certify", "--agency", a["agency"], "--package", a["package_no"],
                        "--deleted-on", "2024-07-05", "--method", "shredding", "--signed-by", "张三", "--title",
                        "经理", "--statement", "已删除", "--evidence-ref", "E-1")
    assert certified.exit_code == 0, certified.output
    listing = run_cli("deletion", "certificates", "--agency", a["agency"])
    assert listing.exit_code == 0 and "shredding" in listing.output
    dry = run_cli("deletion", "purge", "--dry-run")
    assert dry.exit_code == 0 and "0" in dry.output
    entrustments = run_cli("entrustment", "list", "--agency", a["agency"])
    assert entrustments.exit_code == 0 and "phone" in entrustments.output


def test_the_privacy_page_for_lender_staff_only(client, world):
    sign_in(client, "comp")
    page = client.get("/privacy")
    assert page.status_code == 200
    assert world["a"]["agency"] in page.text and "name, phone" in page.text
    sign_in(client, "mgr")
    assert client.get("/privacy").status_code == 404
