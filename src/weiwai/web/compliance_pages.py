"""The compliance page (/compliance): templates awaiting approval with their content-check
findings (approve / reject), open complaints and their deadlines, the last 30 days'
violations by agency and rule, live placement blocks and unacknowledged notices.

Lender staff only (agency users get 404, as on the other lender pages). Read and changed
through the same services as the API (weiwai.compliance.templates, complaints, thresholds),
so the four-eyes rule and the content check are the API's. Approving and rejecting need
templates.approve: the buttons show only to those who hold it, and the routes refuse the rest.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from weiwai.agencies.models import Agency
from weiwai.compliance import complaints, thresholds
from weiwai.compliance import templates as template_service
from weiwai.compliance.models import OPEN_COMPLAINT_STATUSES, ComplianceViolation, TemplateStatus
from weiwai.db import utcnow
from weiwai.errors import DomainError, NotFound
from weiwai.i18n import _, get_locale
from weiwai.security.permissions import Permission
from weiwai.web.deps import SessionDep
from weiwai.web.i18n_web import render
from weiwai.web.pages import LenderViewer, Viewer
from weiwai.web.params import RowId

router = APIRouter(include_in_schema=False)

LIST_LIMIT = 100
VIOLATION_DAYS = 30


@router.get("/compliance", response_class=HTMLResponse)
def compliance_page(request: Request, viewer: LenderViewer, session: SessionDep) -> HTMLResponse:
    """Everything the compliance officer acts on or watches, on one page."""
    return render(request, "compliance.html", _context(session, viewer))


@router.post("/compliance/templates/{template_id}/approve")
def approve(
    request: Request,
    template_id: RowId,
    viewer: LenderViewer,
    session: SessionDep,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve a submitted template (never one's own: four-eyes)."""
    _may_approve(viewer)
    return _act(request, session, viewer, work=lambda: _(
        "Template {code} v{version} approved").format(**_ref(template_service.approve_template(
            session=session, template=_template(session, template_id), actor=viewer.principal.actor,
            note=note.strip() or None))))


@router.post("/compliance/templates/{template_id}/reject")
def reject(
    request: Request,
    template_id: RowId,
    viewer: LenderViewer,
    session: SessionDep,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Send a submitted template back with a reason."""
    _may_approve(viewer)
    return _act(request, session, viewer, work=lambda: _(
        "Template {code} v{version} rejected").format(**_ref(template_service.reject_template(
            session=session, template=_template(session, template_id), actor=viewer.principal.actor, note=note))))


def _may_approve(viewer: Viewer) -> None:
    if not viewer.principal.can(Permission.templates_approve):
        raise NotFound(_("not found"))


def _template(session, template_id: int):
    return template_service.get_template(session=session, template_id=template_id, lock=True)


def _ref(template) -> dict:
    return {"code": template.code, "version": template.version}


def _act(request: Request, session, viewer: Viewer, *, work) -> Response:
    """Run `work`; htmx gets the refreshed review list (or the problem), a plain form a redirect."""
    htmx = "hx-request" in request.headers
    try:
        with session.begin_nested():  # a refusal undoes only this work; the page is still rendered
            message = work()
    except DomainError as exc:
        if not htmx:
            raise
        context = _context(session, viewer)
        context["error"] = exc.message
        return render(request, "_compliance_templates.html", context)
    if htmx:
        context = _context(session, viewer)
        context["message"] = message
        return render(request, "_compliance_templates.html", context)
    return RedirectResponse("/compliance", status_code=303)


def _finding_text(finding: dict) -> str:
    return finding.get("message_zh" if get_locale().startswith("zh") else "message_en") or finding.get("code", "")


def _context(session, viewer: Viewer) -> dict:
    agency_codes = dict(session.execute(select(Agency.id, Agency.code)).all())
    pending = template_service.list_templates(session=session, status=(TemplateStatus.submitted,), limit=LIST_LIMIT)
    open_rows, open_total = complaints.search_complaints(
        session=session, status=list(OPEN_COMPLAINT_STATUSES), limit=LIST_LIMIT)
    open_complaints = sorted(
        complaints.complaint_reads(session=session, complaints=open_rows, staff_names=True),
        key=lambda c: (not c.overdue, c.respond_by is None, c.respond_by, c.complaint_no))
    since = utcnow() - timedelta(days=VIOLATION_DAYS)
    violations = session.execute(
        select(ComplianceViolation.agency_id, ComplianceViolation.rule_id, func.count(ComplianceViolation.id),
               func.max(ComplianceViolation.occurred_at))
        .where(ComplianceViolation.occurred_at >= since)
        .group_by(ComplianceViolation.agency_id, ComplianceViolation.rule_id)
        .order_by(func.count(ComplianceViolation.id).desc(), ComplianceViolation.rule_id)
    ).all()
    notices, notice_total = thresholds.list_notices(session=session, unacknowledged=True, limit=LIST_LIMIT)
    return {
        "viewer": viewer,
        "can_approve": viewer.principal.can(Permission.templates_approve),
        "actor": viewer.principal.actor,
        "pending": pending,
        "status_label": template_service.status_label,
        "finding_text": _finding_text,
        "complaints": open_complaints,
        "complaint_total": open_total,
        "complaint_labels": {"open": _("Awaiting response"), "investigating": _("Investigating")},
        "violations": [{"agency": agency_codes.get(agency_id), "rule_id": rule_id, "count": count, "last": last}
                       for agency_id, rule_id, count, last in violations],
        "violation_days": VIOLATION_DAYS,
        "blocks": thresholds.live_blocks(session=session),
        "block_label": thresholds.block_label,
        "notices": notices,
        "notice_total": notice_total,
        "agency_codes": agency_codes,
        "message": None,
        "error": None,
    }
