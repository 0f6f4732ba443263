"""Message templates: the approval workflow, four-eyes, only approved templates render, and the API's
permissions and visibility, on SQLite and PostgreSQL."""

from __future__ import annotations

import warnings

import pytest
from sqlalchemy import select

from factories import make_agency
from weiwai.compliance import templates as service
from weiwai.compliance.models import MessageTemplate, TemplateStatus
from weiwai.errors import Conflict, IllegalTransition, InputRejected, NotFound, RuleViolation
from weiwai.security.models import AuditEvent, Role
from weiwai.web.deps import Principal

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

GOOD_SMS = ("【{lender_name}】{debtor_name}您好，{agency_name}受{lender_name}委托提醒：您的账户已逾期{overdue_days}天，"
            "应还{amount}元，请通过{lender_name}官方APP还款。咨询{agency_phone}。")
BAD_SMS = "【{lender_name}】{agency_name}：{debtor_name}你这个老赖，再不还钱我们将派人上门，后果自负。"
VALUES = {"lender_name": "示例银行", "agency_name": "华南催收", "debtor_name": "张三", "overdue_days": "35",
          "amount": "1,200.00", "agency_phone": "0755-12345678"}
POLICY = service.ContentPolicy()


def draft(session, *, code="REMIND", body=GOOD_SMS, actor="user:ops", audience="debtor", **kw):
    return service.create_template(session=session, code=code, channel=kw.pop("channel", "sms"),
                                   language=kw.pop("language", "zh_CN"), audience=audience, body=body, pack="CN",
                                   actor=actor)


def approved(session, *, code="REMIND", body=GOOD_SMS, author="user:ops", reviewer="user:officer", **kw):
    template = draft(session, code=code, body=body, actor=author, **kw)
    service.submit_template(session=session, template=template, actor=author, policy=POLICY)
    return service.approve_template(session=session, template=template, actor=reviewer, policy=POLICY)


# --- the service -----------------------------------------------------------------------------------


def test_the_workflow_from_draft_to_approved_and_a_new_version_retires_the_old(session):
    first = draft(session)
    assert (first.version, first.status, first.authors) == (1, TemplateStatus.draft, ["user:ops"])
    assert service.approved_template(session, "REMIND") is None
    service.submit_template(session=session, template=first, actor="user:ops", policy=POLICY)
    assert first.status == TemplateStatus.submitted and first.submitted_by == "user:ops"
    service.approve_template(session=session, template=first, actor="user:officer", note="ok", policy=POLICY)
    assert first.status == TemplateStatus.approved and first.reviewed_by == "user:officer"
    assert service.approved_template(session, "REMIND").id == first.id

    second = draft(session, body=GOOD_SMS + "谢谢。")
    assert second.version == 2
    service.submit_template(session=session, template=second, actor="user:ops", policy=POLICY)
    assert service.approved_template(session, "REMIND").id == first.id  # still the old one until approval
    service.approve_template(session=session, template=second, actor="user:officer", policy=POLICY)
    assert service.approved_template(session, "REMIND").id == second.id
    assert first.status == TemplateStatus.retired
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "message_template")).all()
    assert sorted(actions) == ["template.approve", "template.approve", "template.retire"]


def test_four_eyes_the_author_editor_and_submitter_never_approve(session):
    template = draft(session, actor="user:alice")
    service.update_template(session=session, template=template, body=GOOD_SMS + "。", actor="user:bob")
    service.submit_template(session=session, template=template, actor="user:carol", policy=POLICY)
    for actor in ("user:alice", "user:bob", "user:carol"):
        with pytest.raises(RuleViolation) as refused:
            service.approve_template(session=session, template=template, actor=actor, policy=POLICY)
        assert refused.value.code == "four_eyes"
        with pytest.raises(RuleViolation):
            service.reject_template(session=session, template=template, actor=actor, note="no")
    service.approve_template(session=session, template=template, actor="user:dave", policy=POLICY)
    assert template.status == TemplateStatus.approved


def test_blocking_findings_stop_submission_and_nothing_is_written(session):
    template = draft(session, body=BAD_SMS)
    with pytest.raises(InputRejected) as refused:
        service.submit_template(session=session, template=template, actor="user:ops", policy=POLICY)
    assert refused.value.code == "template_blocked"
    columns = {error.column.split(" ")[0] for error in refused.value.errors}
    assert {"insult", "threat"} <= columns
    session.refresh(template)
    assert template.status == TemplateStatus.draft and template.findings == []


def test_warnings_are_kept_but_do_not_block(session):
    template = draft(session, body=GOOD_SMS + "我司工作人员可能上门拜访。")
    service.submit_template(session=session, template=template, actor="user:ops", policy=POLICY)
    assert [f["severity"] for f in template.findings] == ["warning"]


def test_approval_checks_again(session):
    template = draft(session, body=GOOD_SMS + "还款请访问 https://pay.example-bank.cn 。")
    official = service.ContentPolicy(official_accounts=("https://pay.example-bank.cn",))
    service.submit_template(session=session, template=template, actor="user:ops", policy=official)
    with pytest.raises(InputRejected):  # the link is no longer official
        service.approve_template(session=session, template=template, actor="user:officer", policy=POLICY)
    service.approve_template(session=session, template=template, actor="user:officer", policy=official)


def test_only_approved_templates_render(session):
    template = draft(session)
    for status_template in (template,):
        with pytest.raises(Conflict) as refused:
            service.render_template(session=session, template=status_template, values=VALUES, policy=POLICY)
        assert refused.value.code == "template_not_approved"
    service.submit_template(session=session, template=template, actor="user:ops", policy=POLICY)
    service.approve_template(session=session, template=template, actor="user:officer", policy=POLICY)
    text = service.render_template(session=session, template=template, values=VALUES, policy=POLICY)
    assert text.startswith("【示例银行】张三您好，华南催收受示例银行委托") and "{" not in text
    with pytest.raises(RuleViolation) as missing:
        service.render_template(session=session, template=template, values={"lender_name": "x"}, policy=POLICY)
    assert missing.value.code == "missing_placeholder"
    service.retire_template(session=session, template=template, actor="user:officer")
    with pytest.raises(Conflict):
        service.render_template(session=session, template=template, values=VALUES, policy=POLICY)
    assert service.approved_template(session, "REMIND") is None


def test_lifecycle_is_explicit(session):
    template = draft(session)
    with pytest.raises(IllegalTransition):
        service.approve_template(session=session, template=template, actor="user:officer", policy=POLICY)
    service.submit_template(session=session, template=template, actor="user:ops", policy=POLICY)
    with pytest.raises(IllegalTransition):
        service.update_template(session=session, template=template, body=GOOD_SMS, actor="user:ops")
    with pytest.raises(IllegalTransition):
        service.submit_template(session=session, template=template, actor="user:ops", policy=POLICY)
    with pytest.raises(RuleViolation):
        service.reject_template(session=session, template=template, actor="user:officer", note=" ")
    service.reject_template(session=session, template=template, actor="user:officer", note="太长")
    assert template.status == TemplateStatus.rejected and template.review_note == "太长"
    with pytest.raises(IllegalTransition):
        service.approve_template(session=session, template=template, actor="user:other", policy=POLICY)
    service.retire_template(session=session, template=template, actor="user:officer")
    with pytest.raises(IllegalTransition):
        service.retire_template(session=session, template=template, actor="user:officer")


def test_versions_one_open_at_a_time_and_the_same_kind(session):
    draft(session)
    with pytest.raises(Conflict) as refused:
        draft(session)
    assert refused.value.code == "template_version_open"
    with pytest.raises(RuleViolation) as kind:
        draft(session, channel="letter")
    assert kind.value.code == "template_kind_mismatch"


@pytest.mark.parametrize(("body", "code"), [
    ("{agency_name} {nickname}", "invalid_placeholder"),
    ("{agency_name} {", "invalid_placeholder"),
    ("   ", "invalid_template"),
    ("x" * 1001, "invalid_template"),
])
def test_malformed_drafts_are_refused(session, body, code):
    with pytest.raises(RuleViolation) as refused:
        draft(session, body=body)
    assert refused.value.code == code


def test_third_party_templates_cannot_carry_debt_fields(session):
    template = draft(session, code="CONTACT", audience="third_party",
                     body="【{lender_name}】{contact_name}您好，{agency_name}：请转告{debtor_name}，欠款{amount}元。")
    with pytest.raises(InputRejected) as refused:
        service.submit_template(session=session, template=template, actor="user:ops", policy=POLICY)
    assert {error.column for error in refused.value.errors} == {"debt_disclosure (CN-04)"}


def test_literal_agency_names_from_the_register_identify(session):
    agency = make_agency(session)
    policy = service.content_policy(session)
    assert agency.legal_name in policy.agency_names
    body = "【{lender_name}】" + agency.legal_name + "提醒{debtor_name}：请致电{agency_phone}。"
    template = draft(session, body=body)
    service.submit_template(session=session, template=template, actor="user:ops")
    assert template.status == TemplateStatus.submitted


# --- the API ---------------------------------------------------------------------------------------


class Api:
    """create_app() on the test's session; `as_(role)` switches who is asking."""

    def __init__(self, session):
        from weiwai.web import deps
        from weiwai.web.app import create_app

        self.session = session
        self.principal: Principal | None = None
        app = create_app()

        def test_session():
            yield session

        app.dependency_overrides[deps.get_session] = test_session
        app.dependency_overrides[deps.current_principal] = lambda: self.principal
        self.client = TestClient(app, headers={"Accept-Language": "en"})
        self.agency = make_agency(session)

    def as_(self, role: str, name: str | None = None) -> TestClient:
        agency_id = self.agency.id if role in ("agency_manager", "collector") else None
        self.principal = Principal(user_id=None, username=name or role, role=Role(role), agency_id=agency_id)
        return self.client


@pytest.fixture
def api(session):
    return Api(session)


def create_body(**kw):
    return {"code": "REMIND", "channel": "sms", "language": "zh_CN", "audience": "debtor", "pack": "CN",
            "body": GOOD_SMS, **kw}


def test_api_workflow(api):
    ops = api.as_("operations", "ops1")
    created = ops.post("/api/v1/templates", json=create_body())
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["status"] == "draft" and template["version"] == 1
    assert template["placeholders"][:3] == ["lender_name", "debtor_name", "agency_name"]
    tid = template["id"]
    fetched = ops.get(f"/api/v1/templates/{tid}")
    etag = fetched.headers["etag"]
    changed = ops.patch(f"/api/v1/templates/{tid}", json={"body": GOOD_SMS + "谢谢。"}, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.text
    stale = ops.patch(f"/api/v1/templates/{tid}", json={"body": GOOD_SMS}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    assert ops.post(f"/api/v1/templates/{tid}/submit").json()["status"] == "submitted"
    assert ops.patch(f"/api/v1/templates/{tid}", json={"body": GOOD_SMS}).status_code == 409

    officer = api.as_("compliance", "officer1")
    approved_ = officer.post(f"/api/v1/templates/{tid}/approve", json={"note": "fine"})
    assert approved_.status_code == 200, approved_.text
    assert approved_.json()["status"] == "approved" and approved_.json()["reviewed_by"] == "user:officer1"

    rendered = api.as_("collector").post(f"/api/v1/templates/{tid}/render", json={"values": VALUES})
    assert rendered.status_code == 200, rendered.text
    assert rendered.json()["text"].startswith("【示例银行】张三您好")
    missing = api.as_("collector").post(f"/api/v1/templates/{tid}/render", json={"values": {"amount": "1"}})
    assert missing.status_code == 422 and missing.json()["code"] == "missing_placeholder"

    retired = api.as_("compliance", "officer2").post(f"/api/v1/templates/{tid}/retire", json={})
    assert retired.json()["status"] == "retired"


def test_api_four_eyes_and_blocked_submission(api):
    officer = api.as_("compliance", "officer1")
    tid = officer.post("/api/v1/templates", json=create_body()).json()["id"]
    officer.post(f"/api/v1/templates/{tid}/submit")
    own = officer.post(f"/api/v1/templates/{tid}/approve")
    assert own.status_code == 422 and own.json()["code"] == "four_eyes"
    assert api.as_("compliance", "officer2").post(f"/api/v1/templates/{tid}/approve").status_code == 200

    bad = officer.post("/api/v1/templates", json=create_body(code="BAD", body=BAD_SMS)).json()
    refused = officer.post(f"/api/v1/templates/{bad['id']}/submit")
    assert refused.status_code == 422 and refused.json()["code"] == "template_blocked"
    assert {e["column"] for e in refused.json()["errors"]} >= {"insult (CN-06)", "threat (CN-06)"}
    assert officer.get(f"/api/v1/templates/{bad['id']}").json()["status"] == "draft"


def test_api_dry_run_check(api):
    ops = api.as_("operations")
    answer = ops.post("/api/v1/templates/check", json={"body": BAD_SMS, "channel": "sms", "language": "zh_CN"})
    assert answer.status_code == 200
    assert answer.json()["ok"] is False
    assert {f["code"] for f in answer.json()["findings"]} >= {"insult", "threat"}
    good = ops.post("/api/v1/templates/check", json={"body": GOOD_SMS, "channel": "sms", "language": "zh_CN"})
    assert good.json() == {"ok": True, "findings": []}
    assert ops.get("/api/v1/templates").json()["total"] == 0  # nothing stored


@pytest.mark.parametrize(("role", "method", "path", "allowed"), [
    ("agency_manager", "post", "/api/v1/templates", False),
    ("collector", "post", "/api/v1/templates/check", False),
    ("auditor", "post", "/api/v1/templates", False),
    ("finance", "get", "/api/v1/templates", True),
    ("collector", "get", "/api/v1/templates", True),
    ("operations", "post", "/api/v1/templates/{id}/approve", False),
    ("agency_manager", "post", "/api/v1/templates/{id}/reject", False),
    ("admin", "post", "/api/v1/templates/{id}/submit", True),
])
def test_api_permissions(api, role, method, path, allowed):
    tid = api.as_("operations").post("/api/v1/templates", json=create_body()).json()["id"]
    client = api.as_(role)
    body = create_body(code="OTHER") if path == "/api/v1/templates" else {"body": "x", "channel": "sms",
                                                                           "language": "en"}
    response = getattr(client, method)(path.format(id=tid), **({} if method == "get" else {"json": body}))
    if allowed:
        assert response.status_code < 300, response.text
    else:
        assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_agencies_see_approved_templates_only_and_no_staff_names(api):
    ops = api.as_("operations", "ops1")
    draft_id = ops.post("/api/v1/templates", json=create_body(code="DRAFTY")).json()["id"]
    live_id = ops.post("/api/v1/templates", json=create_body(code="LIVE")).json()["id"]
    ops.post(f"/api/v1/templates/{live_id}/submit")
    api.as_("compliance", "officer1").post(f"/api/v1/templates/{live_id}/approve")

    for role in ("agency_manager", "collector"):
        client = api.as_(role)
        page = client.get("/api/v1/templates").json()
        assert [item["code"] for item in page["items"]] == ["LIVE"] and page["total"] == 1
        item = page["items"][0]
        assert item["created_by"] == "" and item["reviewed_by"] is None and "ops1" not in str(page)
        assert client.get(f"/api/v1/templates/{draft_id}").status_code == 404
        assert client.get(f"/api/v1/templates/{live_id}").status_code == 200
        assert client.post(f"/api/v1/templates/{draft_id}/render", json={"values": VALUES}).status_code == 404
    lender = api.as_("auditor").get("/api/v1/templates", params={"status": ["draft"]}).json()
    assert [item["code"] for item in lender["items"]] == ["DRAFTY"]
    drafted = api.as_("auditor").post(f"/api/v1/templates/{draft_id}/render", json={"values": VALUES})
    assert drafted.status_code == 409 and drafted.json()["code"] == "template_not_approved"


def test_api_create_is_idempotent_and_validates(api):
    ops = api.as_("operations")
    headers = {"Idempotency-Key": "tpl-1"}
    first = ops.post("/api/v1/templates", json=create_body(), headers=headers)
    again = ops.post("/api/v1/templates", json=create_body(), headers=headers)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    assert ops.post("/api/v1/templates", json=create_body(code="X", channel="fax")).status_code == 422
    assert ops.post("/api/v1/templates", json=create_body(code="bad code!")).status_code == 422
    unknown = ops.post("/api/v1/templates", json=create_body(code="Y", body="{agency_name} {nickname}"))
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid_placeholder"
    assert ops.get("/api/v1/templates/987654").status_code == 404
    assert api.session.scalars(select(MessageTemplate.code)).all() == ["REMIND"]


def test_not_found_for_a_missing_template(session):
    with pytest.raises(NotFound):
        service.get_template(session=session, template_id=987_654)
