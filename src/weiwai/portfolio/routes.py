"""Portfolio API (/api/v1): summary, accounts, account history, debtors and reveal.

Lender staff read. Agency users get 404 on every route: which cases exist is itself
confidential until cases are placed with their agency. Revealing personal data is for
admin, compliance, infosec and operations only, and every reveal is audited.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.portfolio import service
from weiwai.portfolio.schemas import AccountFilters, AccountHistory, AccountPage, AccountRead, DebtorRead, RevealRequest
from weiwai.reports.portfolio_summary import PortfolioSummary, portfolio_summary
from weiwai.security.models import Role
from weiwai.web.deps import CurrentUser, Principal, SessionDep

router = APIRouter(prefix="/api/v1", tags=["portfolio"])

REVEAL_ROLES = frozenset({Role.admin, Role.compliance, Role.infosec, Role.operations})


def lender_only(principal: CurrentUser) -> Principal:
    """The principal if lender staff; 404 for agency users, so nothing leaks about existence."""
    if not principal.is_lender:
        raise NotFound(_("not found"))
    return principal


Lender = Annotated[Principal, Depends(lender_only)]


def may_reveal(principal: Lender) -> Principal:
    if principal.role not in REVEAL_ROLES:
        raise HTTPException(status_code=403, detail="your role may not reveal personal data")
    return principal


AsOf = Annotated[date | None, Query(description="Date the figures are computed as of (default: today).")]


@router.get("/portfolio/summary")
def get_summary(_principal: Lender, session: SessionDep, as_of: AsOf = None) -> PortfolioSummary:
    """Counts and balances by bucket, credit grade, region and status."""
    return portfolio_summary(session=session, as_of=as_of or service.today())


@router.get("/accounts")
def list_accounts(
    _principal: Lender,
    session: SessionDep,
    filters: Annotated[AccountFilters, Query()],
    as_of: AsOf = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = 50,
) -> AccountPage:
    """Accounts matching the filters, most days past due first: {items, total, offset, limit}."""
    return service.list_accounts(
        session=session, as_of=as_of or service.today(), filters=filters, offset=offset, limit=limit
    )


@router.get("/accounts/{account_no}")
def get_account(account_no: str, _principal: Lender, session: SessionDep, as_of: AsOf = None) -> AccountRead:
    """One account with days past due and bucket as of a date."""
    return service.get_account(session=session, account_no=account_no, as_of=as_of or service.today())


@router.get("/accounts/{account_no}/history")
def get_account_history(account_no: str, _principal: Lender, session: SessionDep) -> AccountHistory:
    """Balance changes and payments of an account, newest first."""
    return service.account_history(session=session, account_no=account_no)


@router.get("/debtors/{debtor_id}")
def get_debtor(debtor_id: int, principal: Lender, session: SessionDep) -> DebtorRead:
    """A debtor with national ID, phones and address masked."""
    return service.get_debtor(session=session, debtor_id=debtor_id, actor=principal.actor)


@router.post("/debtors/{debtor_id}/reveal")
def reveal_debtor(
    debtor_id: int, body: RevealRequest, principal: Annotated[Principal, Depends(may_reveal)], session: SessionDep
) -> DebtorRead:
    """A debtor's personal data in full; the reason is required and the reveal audited."""
    return service.get_debtor(
        session=session, debtor_id=debtor_id, reveal=True, actor=principal.actor, reason=body.reason
    )
