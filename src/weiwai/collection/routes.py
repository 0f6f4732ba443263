"""HTTP API of the collection log, under /api/v1/cases/{case_no}.

Which cases a caller reaches is weiwai.security.scope's rule: an agency's users and
tokens their agency's open cases (a collector: those assigned to them), lender staff
every case; any other case answers 404, as if it did not exist. Logging needs
actions.write, reading actions.read (docs/roles.md). POST takes an `Idempotency-Key`
header (weiwai.web.idempotency): a retry replays the first answer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from weiwai.agencies.models import Channel
from weiwai.collection import service
from weiwai.collection.models import CollectionAction, Outcome, PromiseStatus
from weiwai.collection.schemas import ActionPost, ActionRead, PromiseRead
from weiwai.compliance.qualifications import require_qualified_collector
from weiwai.placements.models import Case
from weiwai.security.permissions import Permission
from weiwai.security.scope import visible_case
from weiwai.web.deps import Allowed, SessionDep
from weiwai.web.idempotency import Idempotency
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset, Page
from weiwai.web.params import PathRef

router = APIRouter(prefix="/api/v1/cases", tags=["collection"])


@router.post("/{case_no}/actions", response_model=ActionRead, status_code=status.HTTP_201_CREATED)
def log_action(
    session: SessionDep,
    principal: Allowed(Permission.actions_write),
    case_no: PathRef,
    data: ActionPost,
    idempotency: Idempotency,
) -> ActionRead:
    """Log one action; the first moves the case to working, a promise to pay to promised."""
    require_qualified_collector(principal, session)  # CN-10

    def work() -> ActionRead:
        context = service.visible_context(session=session, principal=principal, case_no=case_no)
        action = service.record_in_context(
            session=session, context=context, data=data.to_create(), actor=principal.actor,
            collector_user_id=None if principal.is_lender else principal.user_id, reservation=data.reservation,
        ).action
        promise = None
        if action.outcome == Outcome.promise_to_pay:
            promise = service.promises_by_action(session=session, action_ids=[action.id]).get(action.id)
        return ActionRead.of(action, case_no=case_no, phone_masked=service.masked_number(context, action.phone_bidx),
                             promise=promise)

    return idempotency.run(work, body=data, status_code=status.HTTP_201_CREATED)


@router.get("/{case_no}/actions", response_model=Page[ActionRead])
def list_actions(
    session: SessionDep,
    principal: Allowed(Permission.actions_read),
    case_no: PathRef,
    channel: Channel | None = None,
    outcome: Outcome | None = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[ActionRead]:
    """The case's actions in the order they happened, numbers masked."""
    case = visible_case(session=session, principal=principal, case_no=case_no)
    actions, total = service.actions_of(session=session, case=case, channel=channel, outcome=outcome,
                                        offset=offset, limit=limit)
    return Page[ActionRead](items=_read(session, case, actions), total=total, offset=offset, limit=limit)


@router.get("/{case_no}/promises", response_model=Page[PromiseRead])
def list_promises(
    session: SessionDep,
    principal: Allowed(Permission.actions_read),
    case_no: PathRef,
    promise_status: Annotated[PromiseStatus | None, Query(alias="status")] = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[PromiseRead]:
    """The case's promises to pay and how each was judged, oldest first."""
    case = visible_case(session=session, principal=principal, case_no=case_no)
    promises, total = service.promises_of(session=session, case=case, status=promise_status, offset=offset,
                                          limit=limit)
    return Page[PromiseRead](items=[PromiseRead.model_validate(p) for p in promises], total=total, offset=offset,
                             limit=limit)


def _read(session, case: Case, actions: list[CollectionAction]) -> list[ActionRead]:
    if not actions:
        return []
    numbers = service.masked_numbers(session=session, case=case,
                                     only=[action.phone_bidx for action in actions if action.phone_bidx])
    # Only a promise-to-pay action has a promise: don't ask the database about the others.
    promises = service.promises_by_action(
        session=session, action_ids=[action.id for action in actions if action.outcome == Outcome.promise_to_pay])
    return [
        ActionRead.of(action, case_no=case.case_no,
                      phone_masked=numbers.get(action.phone_bidx) if action.phone_bidx else None,
                      promise=promises.get(action.id))
        for action in actions
    ]
