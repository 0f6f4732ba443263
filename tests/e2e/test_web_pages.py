"""Web pages end to end: sign-in and its cookie, errors for browsers and API clients, the
dashboard in Chinese and English, accounts with HTMX, account detail, agencies."""

import json
import re
import warnings
from datetime import timedelta

import pytest
from sqlalchemy import select

from factories import (
    csrf_from,
    make_account,
    make_agency,
    make_debtor,
    make_user,
    national_id,
    sign_in,
    use_cheap_password_hashing,
)
from weiwai.db import session_scope
from weiwai.portfolio import service
from weiwai.security.models import AuditEvent

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def fast_password_hashing(monkeypatch):
    use_cheap_password_hashing(monkeypatch)


@pytest.fixture
def client(use_db, fast_password_hashing):
    from weiwai.web.app import create_app

    with TestClient(create_app(), base_url="https://testserver") as test_client:
        yield test_client


@pytest.fixture
def people(use_db, fast_password_hashing):
    """A lender operations user and an agency collector; returns their usernames."""
    with session_scope() as session:
        make_user(session, username="olivia", role="operations")
        make_user(session, username="carl", role="collector", agency_id=make_agency(session, code="AG-WEB").id)
    return {"lender": "olivia", "agency": "carl"}


@pytest.fixture
def portfolio(use_db):
    """Two debtors, three accounts; returns the first account number and the debtor's ID."""
    today = service.today()
    nid = national_id()
    with session_scope() as session:
        debtor = make_debtor(session, name="张三", national_id_value=nid, phones=["13812345678"], region="广东",
                             credit_grade="B", contacts=[("李四", "spouse", "13700001111")])
        make_account(session, debtor=debtor, account_no="WEB-001", principal="1234.50", interest="10.00",
                     due_date=today - timedelta(days=40))
        make_account(session, debtor=debtor, account_no="WEB-002", principal="500.00", due_date=today + timedelta(days=5))
        make_account(session, debtor=make_debtor(session, region="北京", credit_grade="A"), account_no="WEB-003",
                     principal="99.99", due_date=today - timedelta(days=200))
    return {"account_no": "WEB-001", "national_id": nid}


def _session_cookie(response) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("weiwai_session="):
            return header
    return None


def test_login_sets_an_httponly_samesite_session_cookie(client, people):
    response = sign_in(client, people["lender"], next_path="/accounts")
    assert response.status_code == 303 and response.headers["location"] == "/accounts"
    cookie = _session_cookie(response)
    assert cookie is not None
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    assert "max-age=28800" in attributes
    assert client.get("/api/v1/me").json()["username"] == people["lender"]


def test_wrong_password_sets_no_session_and_is_audited(client, people):
    response = sign_in(client, people["lender"], password="not the password")
    assert response.status_code == 401
    assert _session_cookie(response) is None
    assert 'role="alert"' in response.text
    assert client.get("/api/v1/me").status_code == 401
    with session_scope() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    # The failure was committed even though sign-in failed.
    assert actions[-1] == "login.failure"


def test_lockout_through_the_login_form(client, people):
    for _attempt in range(5):
        assert sign_in(client, people["lender"], password="not the password").status_code == 401
    assert sign_in(client, people["lender"]).status_code == 401  # right password, but locked


def test_login_replaces_the_previous_session(client, people):
    # Whatever the session held before signing in does not survive it.
    client.get("/login")
    client.cookies.set("weiwai_session", "forged-value")
    response = sign_in(client, people["lender"])
    cookie = _session_cookie(response)
    assert cookie is not None and "forged-value" not in cookie


def test_logout_ends_the_session(client, people):
    sign_in(client, people["lender"])
    response = client.post("/logout", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/api/v1/me").status_code == 401
    with session_scope() as session:
        assert session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc())).first() == "logout"


def test_login_only_redirects_within_the_site(client, people):
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = sign_in(client, people["lender"], next_path=evil)
        assert response.headers["location"] == "/"


def test_cross_origin_post_is_refused(client, people):
    response = client.post(
        "/login", data={"username": people["lender"], "password": "x"}, headers={"origin": "https://evil.example"}
    )
    assert response.status_code == 403 and response.json()["code"] == "cross_origin_request"
    token = csrf_from(client.get("/login").text)
    same_origin = client.post(
        "/login", data={"username": people["lender"], "password": "correct-horse-battery-staple", "csrf_token": token},
        headers={"origin": "http://testserver"}, follow_redirects=False,
    )
    assert same_origin.status_code == 303


def test_unauthenticated_api_gets_problem_json_and_browser_gets_login(client, use_db):
    api = client.get("/api/v1/portfolio/summary")
    assert api.status_code == 401
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["code"] == "not_authenticated" and api.json()["status"] == 401

    page = client.get("/accounts?bucket=M1", headers=HTML, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/accounts%3Fbucket%3DM1"

    htmx = client.get("/accounts", headers={"hx-request": "true", "hx-current-url": "http://testserver/accounts?x=1"})
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"] == "/login?next=/accounts%3Fx%3D1"


def test_validation_and_unknown_routes_are_problem_json(client, people):
    sign_in(client, people["lender"])
    invalid = client.get("/api/v1/accounts", params={"limit": "lots"})
    assert invalid.status_code == 422 and invalid.json()["code"] == "validation_error"
    assert invalid.json()["errors"][0]["loc"] == ["query", "limit"]
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong_method = client.delete("/api/v1/portfolio/summary")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["allow"]


def test_dashboard_is_chinese_by_default_and_english_on_request(client, people, portfolio):
    sign_in(client, people["lender"])

    chinese = client.get("/", headers=HTML)
    assert chinese.status_code == 200
    assert '<html lang="zh-CN">' in chinese.text
    for text in ("组合概览", "账户", "机构", "按逾期账龄段", "按信用等级", "按地区", "未偿总额"):
        assert text in chinese.text
    assert "¥1,834.49" in chinese.text  # 1244.50 + 500.00 + 99.99
    assert 'data-chart="bucket"' in chinese.text and "/static/vendor/echarts.min.js" in chinese.text

    client.cookies.set("lang", "en")
    english = client.get("/", headers=HTML)
    assert '<html lang="en">' in english.text
    for text in ("Portfolio overview", "By delinquency bucket", "By credit grade", "By region", "Total outstanding"):
        assert text in english.text
    assert "组合概览" not in english.text


def test_language_follows_accept_language_without_a_cookie(client, people, portfolio):
    sign_in(client, people["lender"])
    assert "Portfolio overview" in client.get("/", headers={**HTML, "accept-language": "en-GB,en;q=0.9"}).text
    assert "组合概览" in client.get("/", headers={**HTML, "accept-language": "fr-FR,zh-CN;q=0.5"}).text


def test_language_switch_sets_the_cookie_and_returns(client, people):
    response = client.get("/lang/en", params={"next": "/accounts?bucket=M1"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/accounts?bucket=M1"
    assert "lang=en" in response.headers["set-cookie"]
    assert client.get("/login").text.count("Sign in") >= 2
    assert client.get("/lang/en", params={"next": "https://evil.example"}, follow_redirects=False).headers[
        "location"] == "/"


def test_dashboard_chart_data_is_embedded_as_json(client, people, portfolio):
    sign_in(client, people["lender"])
    page = client.get("/", params={"as_of": service.today().isoformat()}, headers=HTML).text
    data = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.DOTALL)
    assert data is not None
    charts = json.loads(data.group(1))
    assert charts["bucket"]["labels"][0] == "M0"
    assert sum(charts["bucket"]["accounts"]) == 3
    assert charts["region"]["labels"] == ["广东", "北京"]  # largest balance first


def test_accounts_page_filters_and_swaps_results_with_htmx(client, people, portfolio):
    sign_in(client, people["lender"])
    full = client.get("/accounts", headers=HTML)
    assert full.status_code == 200
    assert 'id="account-filters"' in full.text and "WEB-001" in full.text and "WEB-003" in full.text

    partial = client.get("/accounts", params={"region": "北京", "bucket": ""}, headers={"hx-request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text and 'id="account-filters"' not in partial.text
    assert "WEB-003" in partial.text and "WEB-001" not in partial.text
    assert "HX-Request" in partial.headers["vary"]
    # The address bar gets the filters in use, not the form's empty fields.
    assert partial.headers["hx-push-url"] == "/accounts?region=%E5%8C%97%E4%BA%AC"

    restore = client.get("/accounts", headers={"hx-request": "true", "hx-history-restore-request": "true"})
    assert "<html" in restore.text


def test_accounts_page_paginates(client, people, use_db):
    with session_scope() as session:
        debtor = make_debtor(session)
        for index in range(55):
            make_account(session, debtor=debtor, account_no=f"PG-{index:03d}", due_date=None)
    sign_in(client, people["lender"])
    first = client.get("/accounts", headers=HTML).text
    assert "PG-000" in first and "PG-050" not in first
    assert 'href="/accounts?offset=50"' in first
    second = client.get("/accounts", params={"offset": 50}, headers={"hx-request": "true"}).text
    assert "PG-050" in second and "PG-054" in second and "PG-000" not in second


def test_account_detail_masks_personal_data(client, people, portfolio):
    sign_in(client, people["lender"])
    page = client.get(f"/accounts/{portfolio['account_no']}", headers=HTML)
    assert page.status_code == 200
    nid = portfolio["national_id"]
    assert nid not in page.text and nid[:3] + "*" * 11 + nid[-4:] in page.text
    assert "138****5678" in page.text and "13812345678" not in page.text
    assert "137****1111" in page.text
    assert "广东省深圳市********" in page.text
    assert "M2" in page.text and "¥1,244.50" in page.text
    with session_scope() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "reveal")).all() == []


def test_unknown_account_page_is_an_html_404(client, people):
    sign_in(client, people["lender"])
    page = client.get("/accounts/NOPE", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "未找到" in page.text


def test_agencies_page_lists_agencies(client, people):
    sign_in(client, people["lender"])
    page = client.get("/agencies", headers=HTML)
    assert page.status_code == 200 and "AG-WEB" in page.text


def test_agency_users_see_no_portfolio_pages(client, people, portfolio):
    sign_in(client, people["agency"])
    home = client.get("/", headers=HTML)
    assert home.status_code == 200
    assert "WEB-001" not in home.text and "组合概览" not in home.text and "¥" not in home.text
    for path in ("/accounts", f"/accounts/{portfolio['account_no']}", "/accounts/NOPE", "/agencies"):
        assert client.get(path, headers=HTML).status_code == 404, path


def test_pages_send_security_headers_and_load_nothing_from_elsewhere(client, people, portfolio):
    sign_in(client, people["lender"])
    for path in ("/", "/accounts", f"/accounts/{portfolio['account_no']}", "/agencies", "/login"):
        response = client.get(path, headers=HTML)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert not re.search(r'(src|href)="(https?:)?//', response.text), path


def test_vendored_front_end_files_are_served(client):
    for path in ("/static/vendor/htmx.min.js", "/static/vendor/echarts.min.js", "/static/js/dashboard.js",
                 "/static/css/weiwai.css", "/static/vendor/swagger-ui/swagger-ui-bundle.js"):
        assert client.get(path).status_code == 200, path
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()


def test_unexpected_errors_are_problem_json_too(use_db):
    from weiwai.web.app import create_app

    def broken():
        raise RuntimeError("boom")

    application = create_app()
    application.get("/api/v1/broken")(broken)
    with TestClient(application, base_url="https://testserver", raise_server_exceptions=False) as test_client:
        response = test_client.get("/api/v1/broken")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "internal_error" and "boom" not in response.text
