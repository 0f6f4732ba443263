"""Portfolio API (/api/v1): summary, accounts, account history, debtors and reveal.

Lender staff read (portfolio.read). Agency users and tokens do not hold that
permission: every route answers them 403, decided by the route alone before anything
is looked up, so the answer is the same for existing and missing records and nothing
leaks. Revealing personal data needs personal_data.reveal, and every reveal is audited.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from weiwai.portfolio import service
from weiwai.portfolio.schemas import AccountFilters, AccountHistory, AccountPage, AccountRead, DebtorRead, RevealRequest
from weiwai.reports.portfolio_summary import PortfolioSummary, portfolio_summary
from weiwai.security.permissions import Permission
from weiwai.web.deps import Allowed, SessionDep
from weiwai.web.pagination import Offset
from weiwai.web.params import PathRef, RowId

router = APIRouter(prefix="/api/v1", tags=["portfolio"])

AsOf = Annotated[date | None, Query(description="Date the figures are computed as of (default: today).")]


@router.get("/portfolio/summary")
def get_summary(
    _principal: Allowed(Permission.portfolio_read), session: SessionDep, as_of: AsOf = None
) -> PortfolioSummary:
    """Counts and balances by bucket, credit grade, region and status."""
    return portfolio_summary(session=session, as_of=as_of or service.today())


@router.get("/accounts")
def list_accounts(
    _principal: Allowed(Permission.portfolio_read),
    session: SessionDep,
    filters: Annotated[AccountFilters, Query()],
    as_of: AsOf = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = 50,
) -> AccountPage:
    """Accounts matching the filters, most days past due first: {items, total, offset, limit}."""
    return service.list_accounts(
        session=session, as_of=as_of or service.today(), filters=filters, offset=offset, limit=limit
    )


@router.get("/accounts/{account_no}")
def get_account(
    account_no: PathRef, _principal: Allowed(Permission.portfolio_read), session: SessionDep, as_of: AsOf = None
) -> AccountRead:
    """One account with days past due and bucket as of a date."""
    return service.get_account(session=session, account_no=account_no, as_of=as_of or service.today())


@router.get("/accounts/{account_no}/history")
def get_account_history(
    account_no: PathRef, _principal: Allowed(Permission.portfolio_read), session: SessionDep
) -> AccountHistory:
    """Balance changes and payments of an account, newest first."""
    return service.account_history(session=session, account_no=account_no)


@router.get("/debtors/{debtor_id}")
def get_debtor(
    debtor_id: RowId, principal: Allowed(Permission.portfolio_read), session: SessionDep
) -> DebtorRead:
    """A debtor with national ID, phones and address masked."""
    return service.get_debtor(session=session, debtor_id=debtor_id, actor=principal.actor)


@router.post("/debtors/{debtor_id}/reveal", response_model=DebtorRead,
             responses={429: {"content": {"application/problem+json": {}}}})
def reveal_debtor(
    debtor_id: RowId, body: RevealRequest, principal: Allowed(Permission.personal_data_reveal), session: SessionDep
):
    """A debtor's personal data in full; the reason is required and the reveal audited.

    Each person may reveal at most settings.reveal_limit_per_window times per window: beyond
    it 429 `rate_limited` with Retry-After, and the refusal is audited (reveal.throttled).
    """
    from weiwai.security.rate_limits import RateLimited, refusal_response

    try:
        return service.get_debtor(
            session=session, debtor_id=debtor_id, reveal=True, actor=principal.actor, reason=body.reason
        )
    except RateLimited as exc:
        # Returned, not raised: the refusal's audit event must commit.
        return refusal_response(exc)
