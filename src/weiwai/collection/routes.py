"""HTTP API of the collection log, under /api/v1/cases/{case_id}.

Agency managers and collectors log and read actions on their own agency's cases; a case
of another agency answers 404, as if it did not exist. Lender admin and operations may
log on any case (e.g. entering an agency's paper report); every lender role may read.
POST accepts an `Idempotency-Key` header: a retried request returns the first action
(200) instead of creating another (201).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status

from weiwai.collection import service
from weiwai.collection.schemas import ActionCreate, ActionRead, PromiseRead
from weiwai.errors import NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.security.models import Role
from weiwai.web.deps import AGENCY_ROLES, LENDER_ROLES, Principal, SessionDep, require_roles

router = APIRouter(prefix="/api/v1/cases", tags=["collection"])

Logger = Annotated[
    Principal, Depends(require_roles(Role.agency_manager, Role.collector, Role.admin, Role.operations))
]
Reader = Annotated[Principal, Depends(require_roles(*LENDER_ROLES, *AGENCY_ROLES))]


def _agency_scope(principal: Principal, case_id: int) -> int | None:
    """None for the lender (every case); the agency's id for its users (its cases only)."""
    if principal.is_lender:
        return None
    if principal.agency_id is None:
        raise NotFound(_("no case {ref}").format(ref=case_id))
    return principal.agency_id


@router.post("/{case_id}/actions", response_model=ActionRead, status_code=status.HTTP_201_CREATED)
def log_action(
    session: SessionDep,
    principal: Logger,
    case_id: int,
    data: ActionCreate,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)] = None,
) -> ActionRead:
    """Log one action; the first moves the case to working, a promise to pay to promised."""
    if idempotency_key:
        idempotency_key = idempotency_key.strip()
        if data.idempotency_key and data.idempotency_key != idempotency_key:
            raise RuleViolation(_("the Idempotency-Key header and idempotency_key in the body differ"))
        data = ActionCreate.model_validate({**data.model_dump(exclude_unset=True), "idempotency_key": idempotency_key})
    agency_id = _agency_scope(principal, case_id)
    logged = service.record_action(
        session=session, case_id=case_id, data=data, actor=principal.actor, agency_id=agency_id,
        collector_user_id=None if principal.is_lender else principal.user_id,
    )
    if not logged.created:
        response.status_code = status.HTTP_200_OK
    return _read(session, [logged.action])[0]


@router.get("/{case_id}/actions", response_model=list[ActionRead])
def list_actions(session: SessionDep, principal: Reader, case_id: int) -> list[ActionRead]:
    """The case's actions in the order they happened."""
    actions = service.list_actions(session=session, case_id=case_id, agency_id=_agency_scope(principal, case_id))
    return _read(session, actions)


@router.get("/{case_id}/promises", response_model=list[PromiseRead])
def list_promises(session: SessionDep, principal: Reader, case_id: int) -> list[PromiseRead]:
    """The case's promises to pay and how each was judged."""
    promises = service.list_promises(session=session, case_id=case_id, agency_id=_agency_scope(principal, case_id))
    return [PromiseRead.model_validate(promise) for promise in promises]


def _read(session, actions) -> list[ActionRead]:
    if not actions:
        return []
    case = service.visible_case(session=session, case_id=actions[0].case_id)
    numbers = service.masked_numbers(session=session, case=case)
    promises = service.promises_by_action(session=session, action_ids=[action.id for action in actions])
    return [
        ActionRead.of(action, phone_masked=numbers.get(action.phone_bidx) if action.phone_bidx else None,
                      promise=promises.get(action.id))
        for action in actions
    ]
