"""The audit log over HTTP, for compliance, information security and internal audit (audit.read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from weiwai.security import service
from weiwai.security.permissions import Permission
from weiwai.security.schemas import AuditEventRead
from weiwai.web.deps import Allowed, SessionDep
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset, Page
from weiwai.web.params import REF_PATTERN

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditProblemRead(BaseModel):
    kind: str = Field(description="event_changed, event_deleted, link_missing, link_mismatch, event_backdated, "
                                  "event_unsealed or head_mismatch.")
    seq: int | None
    event_id: int | None
    detail: str


class AuditVerifyRead(BaseModel):
    ok: bool
    checked: int = Field(description="Links recomputed.")
    head_seq: int
    head_hash: str
    pending: int = Field(description="Events recorded but not yet sealed into the chain.")
    problem: AuditProblemRead | None = Field(description="The first problem found, if any.")


@router.get("/audit/verify", response_model=AuditVerifyRead)
def verify_audit_chain(
    session: SessionDep,
    principal: Allowed(Permission.audit_read),
    grace_minutes: Annotated[int, Query(ge=0, le=7 * 24 * 60, description="How long an event may wait to be sealed.")] = 60,
) -> AuditVerifyRead:
    """Recompute the audit hash chain and name the first changed, deleted or inserted entry."""
    from datetime import timedelta

    from weiwai.security.audit_chain import verify

    return AuditVerifyRead.model_validate(verify(session=session, grace=timedelta(minutes=grace_minutes)).as_dict())


@router.get("/audit-events", response_model=Page[AuditEventRead])
def list_audit_events(
    session: SessionDep,
    principal: Allowed(Permission.audit_read),
    actor: Annotated[str | None, Query(max_length=100, pattern=REF_PATTERN, description="e.g. user:alice, token:AbC…, cli:root")] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=REF_PATTERN, description="Exact, or a prefix ending in * (login.*).")] = None,
    entity: Annotated[str | None, Query(max_length=64, pattern=REF_PATTERN)] = None,
    entity_id: Annotated[str | None, Query(max_length=64, pattern=REF_PATTERN)] = None,
    since: Annotated[AwareDatetime | None, Query(alias="from", description="Inclusive, with a time zone.")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to", description="Exclusive, with a time zone.")] = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[AuditEventRead]:
    """Audit events, newest first."""
    events, total = service.search_audit_events(
        session=session, actor=actor, action=action, entity=entity, entity_id=entity_id, since=since, until=until,
        offset=offset, limit=limit,
    )
    return Page[AuditEventRead](items=[AuditEventRead.model_validate(event) for event in events], total=total,
                                offset=offset, limit=limit)
