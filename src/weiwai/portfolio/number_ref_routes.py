"""HTTP API of masking and number references (/api/v1).

GET /cases/{case_no}/debtor shows a case's debtor as the caller may see it (role
defaults, or for an agency's principals the contract's masking policy), each number with
its reference; every view is recorded. POST /number-refs/{number_ref}/resolve turns a
reference into the number for a dialer or telephony gateway: lender staff for open cases,
an agency only on its own cases and only where its contract releases the full number;
every resolution is recorded. Cases are reached through weiwai.security.scope: out of
reach answers 404, like nothing at all.
"""

from __future__ import annotations

from fastapi import APIRouter

from weiwai.portfolio import number_refs
from weiwai.portfolio.schemas import CaseDebtorRead, CaseNumberRead, ResolvedNumber, ResolveRequest
from weiwai.security.masking_policy import policy_json
from weiwai.security.permissions import Permission
from weiwai.security.rate_limits import RateLimited, check_reveal_rate, refusal_response
from weiwai.web.deps import Allowed, SessionDep
from weiwai.web.params import PathRef

router = APIRouter(prefix="/api/v1", tags=["masking"])

def _number(view: number_refs.NumberView) -> CaseNumberRead:
    return CaseNumberRead(number_ref=view.number_ref, party=view.party, relation=view.relation, name=view.name,
                          display=view.display, number=view.number, is_primary=view.is_primary)


@router.get("/cases/{case_no}/debtor", response_model=CaseDebtorRead)
def get_case_debtor(session: SessionDep, principal: Allowed(Permission.cases_read), case_no: PathRef) -> CaseDebtorRead:
    """The case's debtor under the caller's masking policy, numbers with their references (the view is recorded)."""
    view = number_refs.case_debtor(session=session, principal=principal, case_no=case_no)
    return CaseDebtorRead(
        case_no=view.case_no, name=view.name, national_id=view.national_id, address=view.address, region=view.region,
        phones=[_number(item) for item in view.phones], contacts=[_number(item) for item in view.contacts],
        policy=policy_json(view.rules),
    )


@router.post("/number-refs/{number_ref}/resolve", response_model=ResolvedNumber,
             responses={429: {"content": {"application/problem+json": {}}}})
def resolve_number_ref(
    session: SessionDep, principal: Allowed(Permission.numbers_resolve), number_ref: PathRef,
    body: ResolveRequest,
) -> ResolvedNumber:
    """The whole number behind a reference, to dial it; the purpose is required and the resolution recorded.

    An agency gets it only for its own cases and where its contract's masking policy
    releases the full number (otherwise 403 full_number_not_allowed). Each person may
    resolve a limited number per hour (429 with Retry-After beyond it).
    """
    try:
        check_reveal_rate(session=session, actor=principal.actor, action="number.resolve", entity="number_ref",
                          entity_id=number_ref)
    except RateLimited as exc:
        # Returned, not raised: the refusal's own audit event commits with the response.
        return refusal_response(exc)
    resolved = number_refs.resolve_ref(session=session, principal=principal, number_ref=number_ref,
                                       purpose=body.purpose)
    return ResolvedNumber(number_ref=resolved.number_ref, case_no=resolved.case_no, party=resolved.party,
                          number=resolved.number)
