"""The compliance page end to end: templates awaiting approval with Approve / Reject for
those holding templates.approve (four-eyes), open complaints, violations, blocks and notices;
agency users get 404."""

import warnings

import pytest
from sqlalchemy import select

from factories import make_agency, make_user, sign_in, use_cheap_password_hashing
from weiwai.compliance import templates as template_service
from weiwai.compliance.models import MessageTemplate, TemplateStatus
from weiwai.compliance.thresholds import add_notice, block_agency
from weiwai.db import session_scope

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

GOOD_SMS = ("【{lender_name}】{debtor_name}您好，{agency_name}受{lender_name}委托提醒：您的账户已逾期{overdue_days}天，"
            "应还{amount}元，请通过{lender_name}官方APP还款。咨询{agency_phone}。")


@pytest.fixture
def client(use_db, monkeypatch):
    use_cheap_password_hashing(monkeypatch)
    from weiwai.web.app import create_app

    with TestClient(create_app(), base_url="https://testserver") as test_client:
        yield test_client


@pytest.fixture
def world(client):
    """An author (compliance), a second compliance officer, an operations user, an agency manager,
    a submitted template by the author, a block and a notice; returns the template id."""
    with session_scope() as session:
        make_user(session, username="alice", role="compliance")
        make_user(session, username="bob", role="compliance")
        make_user(session, username="olivia", role="operations")
        agency = make_agency(session, code="AG-CMP")
        make_user(session, username="mandy", role="agency_manager", agency_id=agency.id)
        template = template_service.create_template(
            session=session, code="REMIND", channel="sms", language="zh_CN", audience="debtor", body=GOOD_SMS,
            pack="CN", actor="user:alice")
        template_service.submit_template(session=session, template=template, actor="user:alice",
                                         policy=template_service.ContentPolicy())
        block_agency(session=session, agency_id=agency.id, note="test", actor="user:bob")
        add_notice(session=session, kind="deadline", agency_id=agency.id, message="合同即将到期")
        return template.id


def _status(template_id: int) -> str:
    with session_scope() as session:
        return session.scalar(select(MessageTemplate.status).where(MessageTemplate.id == template_id))


def test_the_page_lists_the_submitted_template_with_buttons_for_a_reviewer(client, world):
    sign_in(client, "bob")
    page = client.get("/compliance")
    assert page.status_code == 200
    assert "合规" in page.text and "待审批的模板" in page.text
    assert "REMIND" in page.text and f"/compliance/templates/{world}/approve" in page.text
    assert "AG-CMP" in page.text and "合同即将到期" in page.text
    assert "没有未结投诉" in page.text and "没有违规记录" in page.text
    assert 'href="/compliance" aria-current="page"' in page.text
    assert "<script>" not in page.text  # CSP: no inline scripts


def test_approving_through_the_form(client, world):
    sign_in(client, "bob")
    response = client.post(f"/compliance/templates/{world}/approve", data={"note": "ok"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/compliance"
    assert _status(world) == TemplateStatus.approved
    assert "没有待审批的模板" in client.get("/compliance").text


def test_rejecting_with_htmx_returns_the_refreshed_list(client, world):
    sign_in(client, "bob")
    response = client.post(f"/compliance/templates/{world}/reject", data={"note": "措辞不当"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and "已驳回" in response.text and "<html" not in response.text
    assert _status(world) == TemplateStatus.rejected


def test_the_author_sees_no_buttons_and_is_refused_by_four_eyes(client, world):
    sign_in(client, "alice")
    page = client.get("/compliance")
    assert "REMIND" in page.text and f"/compliance/templates/{world}/approve" not in page.text
    response = client.post(f"/compliance/templates/{world}/approve", headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'role="alert"' in response.text
    assert _status(world) == TemplateStatus.submitted


def test_without_the_permission_no_buttons_and_posts_are_refused(client, world):
    sign_in(client, "olivia")
    page = client.get("/compliance")
    assert page.status_code == 200 and "REMIND" in page.text
    assert f"/compliance/templates/{world}/approve" not in page.text
    assert client.post(f"/compliance/templates/{world}/approve", follow_redirects=False).status_code == 404
    assert _status(world) == TemplateStatus.submitted


def test_agency_users_get_404(client, world):
    sign_in(client, "mandy")
    assert client.get("/compliance").status_code == 404
    assert client.post(f"/compliance/templates/{world}/approve", follow_redirects=False).status_code == 404
    assert 'href="/compliance"' not in client.get("/").text
