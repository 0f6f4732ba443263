"""API tokens of agency systems over HTTP: issue (the secret shown once), list, revoke, access log.

Needs tokens.manage: an administrator or information security for any agency, an agency
manager for their own agency only (another agency answers 404). A token never manages
tokens, whatever it was granted. Issuing and revoking are audit events
(weiwai.security.tokens).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status

from weiwai.agencies.models import Agency
from weiwai.db import utcnow
from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.security import scope, tokens
from weiwai.security.permissions import Permission
from weiwai.security.schemas import TokenCreate, TokenIssued, TokenRead, TokenUseRead
from weiwai.security.service import Forbidden
from weiwai.web.deps import Allowed, Principal, SessionDep
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset, Page
from weiwai.web.params import RowId

router = APIRouter(prefix="/api/v1", tags=["tokens"])

TokenManager = Allowed(Permission.tokens_manage)


def _agency(session, principal: Principal, agency_id: int) -> int:
    """The agency whose tokens are asked for, if `principal` may manage them (404 otherwise)."""
    if principal.is_token:
        raise Forbidden(_("an API token cannot manage API tokens"))
    scope.own_agency(principal, agency_id)
    if session.get(Agency, agency_id) is None:
        raise NotFound(_("no agency {ref}").format(ref=agency_id))
    return agency_id


def _read(listing: tokens.TokenListing) -> TokenRead:
    return TokenRead.of(listing, status=tokens.token_status(listing.token, utcnow()))


@router.post("/agencies/{agency_id}/tokens", response_model=TokenIssued, status_code=status.HTTP_201_CREATED)
def issue_token(session: SessionDep, principal: TokenManager, agency_id: RowId, data: TokenCreate) -> TokenIssued:
    """Issue a token for the agency's system. The `token` field is the only copy: store it now."""
    _agency(session, principal, agency_id)
    issued = tokens.issue_token(
        session=session, agency_id=agency_id, name=data.name, scopes=None if data.scopes is None else set(data.scopes),
        lifetime=timedelta(days=data.expires_in_days), actor=principal.actor,
    )
    listing = tokens.get_token(session=session, token_id=issued.token.id)
    return TokenIssued(**_read(listing).model_dump(), token=issued.secret)


@router.get("/agencies/{agency_id}/tokens", response_model=Page[TokenRead])
def list_tokens(
    session: SessionDep, principal: TokenManager, agency_id: RowId, offset: Offset = 0, limit: Limit = DEFAULT_PAGE_SIZE
) -> Page[TokenRead]:
    """The agency's tokens, newest first, with when each was last used (never the secret or its digest)."""
    _agency(session, principal, agency_id)
    listings, total = tokens.list_tokens(session=session, agency_id=agency_id, offset=offset, limit=limit)
    return Page[TokenRead](items=[_read(listing) for listing in listings], total=total, offset=offset, limit=limit)


@router.post("/agencies/{agency_id}/tokens/{token_id}/revoke", response_model=TokenRead)
def revoke_token(session: SessionDep, principal: TokenManager, agency_id: RowId, token_id: RowId) -> TokenRead:
    """Revoke the token at once; revoking a revoked token changes nothing."""
    _agency(session, principal, agency_id)
    tokens.revoke_token(session=session, token_id=token_id, agency_id=agency_id, actor=principal.actor)
    return _read(tokens.get_token(session=session, token_id=token_id, agency_id=agency_id))


@router.get("/agencies/{agency_id}/tokens/{token_id}/uses", response_model=Page[TokenUseRead])
def token_uses(
    session: SessionDep, principal: TokenManager, agency_id: RowId, token_id: RowId, offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[TokenUseRead]:
    """The token's access log, newest first: every request made with it, refused ones included."""
    _agency(session, principal, agency_id)
    uses, total = tokens.list_token_uses(
        session=session, token_id=token_id, agency_id=agency_id, offset=offset, limit=limit
    )
    return Page[TokenUseRead](items=[TokenUseRead.model_validate(use) for use in uses], total=total, offset=offset,
                              limit=limit)
