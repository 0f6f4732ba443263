"""Handover packages over HTTP: who may create, read and download; downloads are audited."""

import pytest
from sqlalchemy import select

from factories_collection import api_client, make_agency, make_user, make_world
from weiwai.security.models import AuditEvent


@pytest.fixture
def world(session):
    return make_world(session)


def create(session, world, tmp_path, role="operations"):
    client = api_client(session, make_user(session, role=role), store=tmp_path)
    return client.post("/api/v1/handover-packages", json={"contract_no": world.contract.contract_no})


@pytest.mark.parametrize("role", ["admin", "operations"])
def test_lender_admin_and_operations_create_packages(session, world, tmp_path, role):
    response = create(session, world, tmp_path, role)
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["row_count"] == 1 and data["fields"]["mobile"] == "masked"
    assert "directory" not in data
    assert (tmp_path / f"{data['package_no']}.csv").is_file()


@pytest.mark.parametrize("role", ["compliance", "agency_manager", "collector"])
def test_other_roles_cannot_create(session, world, tmp_path, role):
    agency = world.agency if role in ("agency_manager", "collector") else None
    client = api_client(session, make_user(session, role=role, agency=agency), store=tmp_path)
    response = client.post("/api/v1/handover-packages", json={"contract_no": world.contract.contract_no})
    assert response.status_code == 403
    assert list(tmp_path.iterdir()) == []


def test_agency_manager_reads_and_downloads_only_their_own(session, world, tmp_path):
    package = create(session, world, tmp_path).json()
    manager = api_client(session, make_user(session, role="agency_manager", agency=world.agency))
    assert manager.get("/api/v1/handover-packages").json()["total"] == 1
    detail = manager.get(f"/api/v1/handover-packages/{package['id']}").json()
    assert detail["case_ids"] == [world.case.id]
    download = manager.get(f"/api/v1/handover-packages/{package['id']}/files/csv")
    assert download.status_code == 200
    assert download.content == (tmp_path / f"{package['package_no']}.csv").read_bytes()
    assert download.headers["content-disposition"] == f'attachment; filename="{package["package_no"]}.csv"'
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "handover.download")).one()
    assert event.entity_id == package["package_no"]

    stranger = api_client(session, make_user(session, role="agency_manager", agency=make_agency(session)))
    assert stranger.get("/api/v1/handover-packages").json()["total"] == 0
    assert stranger.get(f"/api/v1/handover-packages/{package['id']}").status_code == 404
    assert stranger.get(f"/api/v1/handover-packages/{package['id']}/files/csv").status_code == 404


def test_collectors_do_not_download_and_auditors_only_read(session, world, tmp_path):
    package = create(session, world, tmp_path).json()
    collector = api_client(session, make_user(session, role="collector", agency=world.agency))
    assert collector.get(f"/api/v1/handover-packages/{package['id']}/files/xlsx").status_code == 403
    auditor = api_client(session, make_user(session, role="auditor"))
    assert auditor.get(f"/api/v1/handover-packages/{package['id']}").status_code == 200
    assert auditor.get(f"/api/v1/handover-packages/{package['id']}/files/xlsx").status_code == 403


def test_a_changed_file_is_refused_and_unknown_kinds_are_404(session, world, tmp_path):
    package = create(session, world, tmp_path).json()
    ops = api_client(session, make_user(session, role="operations"))
    path = tmp_path / f"{package['package_no']}.manifest.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"row_count": ', '"row_count": 1'), encoding="utf-8")
    assert ops.get(f"/api/v1/handover-packages/{package['id']}/files/manifest").status_code == 409
    assert ops.get(f"/api/v1/handover-packages/{package['id']}/files/exe").status_code == 404


def test_create_errors_are_problems(session, world, tmp_path):
    client = api_client(session, make_user(session, role="operations"), store=tmp_path)
    assert client.post("/api/v1/handover-packages", json={"contract_no": "NOPE"}).status_code == 404
    response = client.post("/api/v1/handover-packages",
                           json={"contract_no": world.contract.contract_no, "batch_no": "NOPE"})
    assert response.status_code == 404
    assert client.post("/api/v1/handover-packages", json={"contract": "x"}).status_code == 422
