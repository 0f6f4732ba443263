"""Leak tracing and infosec reviews over HTTP: the trace upload, sightings, an agency manager's
reach (own agency only), and the /infosec page with its CSRF-protected form."""

import warnings
from datetime import date

import pytest
from sqlalchemy import select

from factories import make_user, sign_in, use_cheap_password_hashing
from factories_privacy_leaks import make_book, make_package
from weiwai.db import session_scope

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient


@pytest.fixture
def client(use_db, monkeypatch):
    use_cheap_password_hashing(monkeypatch)
    from weiwai.web import infosec_pages
    from weiwai.web.app import create_app
    from weiwai.web.routers import ROUTER_MODULES

    app = create_app()
    if "weiwai.web.infosec_pages" not in ROUTER_MODULES:  # until the lead registers the page
        app.include_router(infosec_pages.router)
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


@pytest.fixture
def world(client, tmp_path):
    from weiwai.privacy import infosec

    with session_scope() as session:
        a, b = make_book(session, cases=3), make_book(session, cases=3)
        package = make_package(session, a, tmp_path)
        make_user(session, username="sec", role="infosec")
        make_user(session, username="mgr_b", role="agency_manager", agency_id=b.agency.id)
        reviews = {}
        for key, book in (("a", a), ("b", b)):
            review = infosec.create_review(session=session, actor="user:sec", data=infosec.ReviewCreate(
                agency_id=book.agency.id, reviewed_on=date(2024, 3, 1), reviewer="张审计"))
            finding = infosec.add_finding(session=session, review=review, actor="user:sec", data=infosec.FindingCreate(
                item_code="EN-01", description=f"plain files {key}"))
            reviews[key] = (review.id, finding.id, book.agency.id)
        return {"package": package.package_no, "agency": a.agency.code, "reviews": reviews,
                "csv": tmp_path / f"{package.package_no}.csv"}


def test_trace_upload_and_sightings(client, world):
    sign_in(client, "sec")
    with world["csv"].open("rb") as fh:
        response = client.post("/api/v1/leaks/trace", files={"file": ("leak.csv", fh, "text/csv")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agency_code"] == world["agency"] and body["packages"][0]["package_no"] == world["package"]
    listed = client.get("/api/v1/canary-sightings").json()
    assert listed["total"] == 2 and all(item["leak_suspected"] for item in listed["items"])
    bad = client.post("/api/v1/leaks/trace", files={"file": ("empty.csv", b"", "text/csv")})
    assert bad.status_code == 422 and "empty.csv" in bad.json()["detail"]


def test_agency_manager_sees_only_own_reviews(client, world):
    sign_in(client, "mgr_b")
    review_a, finding_a, _ = world["reviews"]["a"]
    review_b, finding_b, agency_b = world["reviews"]["b"]
    listed = client.get("/api/v1/infosec/reviews").json()
    assert [r["id"] for r in listed["items"]] == [review_b]
    assert client.get(f"/api/v1/infosec/reviews/{review_a}").status_code == 404
    assert client.get(f"/api/v1/infosec/findings/{finding_a}").status_code == 404
    assert client.get(f"/api/v1/infosec/findings/{finding_b}").status_code == 200
    assert client.post("/api/v1/infosec/reviews", json={"agency_id": agency_b, "reviewed_on": "2024-03-01",
                                                        "reviewer": "x"}).status_code == 403
    assert client.get("/api/v1/canary-sightings").status_code == 403
    assert client.get("/infosec").status_code == 404


def test_infosec_page_moves_a_finding(client, world):
    from weiwai.privacy.infosec_models import InfosecFinding

    sign_in(client, "sec")
    page = client.get("/infosec")
    assert page.status_code == 200 and "EN-01" in page.text and 'name="csrf_token"' in page.text
    _review, finding_id, _agency = world["reviews"]["a"]
    moved = client.post(f"/infosec/findings/{finding_id}/transition",
                        data={"to": "remediated", "evidence_ref": "FIX-1"}, follow_redirects=False)
    assert moved.status_code == 303
    with session_scope() as session:
        assert session.scalar(select(InfosecFinding.status).where(InfosecFinding.id == finding_id)) == "remediated"
