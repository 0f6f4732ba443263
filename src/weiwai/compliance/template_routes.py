"""HTTP API of message templates, under /api/v1 (tag templates).

Lender staff read every template; agency users and tokens read, and render, approved ones
only (any other answers 404, like a missing one). Lender operations and compliance draft,
change and submit (templates.write); compliance officers approve, reject and retire
(templates.approve), never a template they wrote or submitted (four-eyes).

A single template is sent with its row version as ETag; PATCH and the status changes
honour If-Match (412 when it changed since it was read). `POST /templates` takes an
Idempotency-Key.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session

from weiwai.compliance import content_check
from weiwai.compliance import templates as service
from weiwai.compliance.models import MessageTemplate, TemplateStatus
from weiwai.compliance.template_schemas import (
    Audience,
    Channel,
    ContentCheckRead,
    ContentCheckRequest,
    FindingRead,
    Language,
    RejectRequest,
    RenderRead,
    RenderRequest,
    ReviewRequest,
    TemplateCreate,
    TemplateRead,
    TemplateUpdate,
)
from weiwai.security.permissions import Permission
from weiwai.web.deps import Allowed, Principal, SessionDep
from weiwai.web.etag import check_if_match, set_etag
from weiwai.web.idempotency import Idempotency
from weiwai.web.pagination import Limit, Offset, Page
from weiwai.web.params import QueryRef, RowId

router = APIRouter(prefix="/api/v1", tags=["templates"])
P = Permission


def _visible(session: Session, principal: Principal, template_id: int, *, lock: bool = False) -> MessageTemplate:
    """The template if the principal may see it: lender staff every one, agencies approved ones; else 404."""
    return service.get_template(session=session, template_id=template_id, approved_only=not principal.is_lender,
                                lock=lock)


def _read(principal: Principal, template: MessageTemplate) -> TemplateRead:
    return TemplateRead.of(template, lender=principal.is_lender)


def _sent(session: Session, response: Response, principal: Principal, template: MessageTemplate) -> TemplateRead:
    session.flush()
    set_etag(response, template.row_version)
    return _read(principal, template)


@router.get("/templates", response_model=Page[TemplateRead])
def list_templates(
    session: SessionDep,
    principal: Allowed(P.templates_read),
    code: QueryRef = None,
    template_status: Annotated[list[TemplateStatus] | None, Query(alias="status")] = None,
    channel: Annotated[Channel | None, Query()] = None,
    language: Annotated[Language | None, Query()] = None,
    audience: Annotated[Audience | None, Query()] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[TemplateRead]:
    """Template versions by code, newest version first; agencies see approved ones only."""
    page = service.list_templates(
        session=session, approved_only=not principal.is_lender, code=code, status=template_status or (),
        channel=channel, language=language, audience=audience, offset=offset, limit=limit,
    )
    return Page(items=[_read(principal, t) for t in page.items], total=page.total, offset=offset, limit=limit)


@router.post("/templates", response_model=TemplateRead, status_code=status.HTTP_201_CREATED)
def create_template(
    session: SessionDep, principal: Allowed(P.templates_write), data: TemplateCreate, idempotency: Idempotency
) -> TemplateRead:
    """Draft version 1 of a new code, or the next version of an existing code."""

    def work() -> TemplateRead:
        template = service.create_template(session=session, actor=principal.actor, **data.model_dump())
        return _read(principal, template)

    return idempotency.run(work, body=data, status_code=status.HTTP_201_CREATED)


@router.post("/templates/check", response_model=ContentCheckRead)
def check_template_text(
    session: SessionDep, principal: Allowed(P.templates_write), data: ContentCheckRequest
) -> ContentCheckRead:
    """The content check on a text, without storing anything (a dry run of submission)."""
    from weiwai.config import get_settings

    findings = service.run_check(
        body=data.body, language=data.language, audience=data.audience, channel=data.channel,
        pack=data.pack or get_settings().compliance_pack, policy=service.content_policy(session),
    )
    return ContentCheckRead(ok=not content_check.blocking(findings),
                            findings=[FindingRead(**f.as_dict()) for f in findings])


@router.get("/templates/{template_id}", response_model=TemplateRead)
def get_template(
    session: SessionDep, principal: Allowed(P.templates_read), template_id: RowId, response: Response
) -> TemplateRead:
    """One template version, with its row version as ETag."""
    template = _visible(session, principal, template_id)
    set_etag(response, template.row_version)
    return _read(principal, template)


@router.patch("/templates/{template_id}", response_model=TemplateRead)
def update_template(
    session: SessionDep, principal: Allowed(P.templates_write), template_id: RowId, data: TemplateUpdate,
    request: Request, response: Response,
) -> TemplateRead:
    """Change a draft. Honours If-Match."""
    template = _visible(session, principal, template_id, lock=True)
    check_if_match(request, template.row_version)
    template = service.update_template(session=session, template=template, actor=principal.actor,
                                       **data.model_dump(exclude_unset=True))
    return _sent(session, response, principal, template)


@router.post("/templates/{template_id}/submit", response_model=TemplateRead)
def submit_template(
    session: SessionDep, principal: Allowed(P.templates_write), template_id: RowId, request: Request,
    response: Response,
) -> TemplateRead:
    """Send a draft for approval; 422 template_blocked (with the findings) while the content check objects."""
    template = _visible(session, principal, template_id, lock=True)
    check_if_match(request, template.row_version)
    template = service.submit_template(session=session, template=template, actor=principal.actor)
    return _sent(session, response, principal, template)


@router.post("/templates/{template_id}/approve", response_model=TemplateRead)
def approve_template(
    session: SessionDep, principal: Allowed(P.templates_approve), template_id: RowId, request: Request,
    response: Response, data: ReviewRequest | None = None,
) -> TemplateRead:
    """Approve a submitted template (never one's own); the code's previously approved version retires."""
    template = _visible(session, principal, template_id, lock=True)
    check_if_match(request, template.row_version)
    template = service.approve_template(session=session, template=template, actor=principal.actor,
                                        note=data.note if data else None)
    return _sent(session, response, principal, template)


@router.post("/templates/{template_id}/reject", response_model=TemplateRead)
def reject_template(
    session: SessionDep, principal: Allowed(P.templates_approve), template_id: RowId, data: RejectRequest,
    request: Request, response: Response,
) -> TemplateRead:
    """Reject a submitted template with a reason (never one's own)."""
    template = _visible(session, principal, template_id, lock=True)
    check_if_match(request, template.row_version)
    template = service.reject_template(session=session, template=template, actor=principal.actor, note=data.note)
    return _sent(session, response, principal, template)


@router.post("/templates/{template_id}/retire", response_model=TemplateRead)
def retire_template(
    session: SessionDep, principal: Allowed(P.templates_approve), template_id: RowId, request: Request,
    response: Response, data: ReviewRequest | None = None,
) -> TemplateRead:
    """Take a template out of use (or abandon a draft or a rejected one)."""
    template = _visible(session, principal, template_id, lock=True)
    check_if_match(request, template.row_version)
    template = service.retire_template(session=session, template=template, actor=principal.actor,
                                       note=data.note if data else None)
    return _sent(session, response, principal, template)


@router.post("/templates/{template_id}/render", response_model=RenderRead)
def render_template(
    session: SessionDep, principal: Allowed(P.templates_read), template_id: RowId, data: RenderRequest
) -> RenderRead:
    """The text of an approved template with every placeholder filled (409 for any other status)."""
    template = _visible(session, principal, template_id)
    text = service.render_template(session=session, template=template, values=data.values)
    return RenderRead(template_id=template.id, code=template.code, version=template.version,
                      channel=template.channel, text=text)
