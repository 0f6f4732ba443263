"""API tokens of agency systems: issue (shown once), verify on every call, revoke.

A token reads `ww_<prefix>_<secret>`. Only the prefix and the SHA-256 digest of the whole
token are stored, so a copy of the database yields no usable token. Every use is written
to `api_token_uses`, refused ones included (see weiwai.web.deps for how a use survives a
request that fails).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency, AgencyStatus
from weiwai.db import utcnow
from weiwai.errors import DomainError, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.security import audit
from weiwai.security.models import ApiToken, ApiTokenUse
from weiwai.security.permissions import DEFAULT_TOKEN_SCOPES, TOKEN_SCOPES, Permission

TOKEN_RE = re.compile(r"^ww_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$")
MAX_TOKEN_LIFETIME = timedelta(days=366)
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)
# Agencies whose tokens still work: a suspended or terminated agency's systems are cut off.
TOKEN_AGENCY_STATUSES = frozenset({AgencyStatus.active})


class TokenRefused(DomainError):
    code = "invalid_token"
    http_status = 401


@dataclass(frozen=True)
class VerifiedToken:
    """What a request needs of the token it presented (read without loading the ORM row)."""

    id: int
    agency_id: int
    prefix: str
    scopes: list[str]


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the whole token, to be shown once and never again


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(
    *,
    session: Session,
    agency_id: int,
    name: str,
    scopes: frozenset[Permission] | set[Permission] | None = None,
    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
    actor: str,
    now: datetime | None = None,
) -> IssuedToken:
    """Create a token for an agency's system; the returned secret is the only copy."""
    now = now or utcnow()
    if session.get(Agency, agency_id) is None:
        raise NotFound(_("no agency {ref}").format(ref=agency_id))
    name = name.strip()
    if not name or len(name) > 100:
        raise RuleViolation(_("a token needs a name of 1-100 characters"), code="invalid_token_name")
    scopes = frozenset(DEFAULT_TOKEN_SCOPES if scopes is None else (Permission(s) for s in scopes))
    if not scopes:
        raise RuleViolation(_("a token needs at least one scope"), code="invalid_scope")
    if not scopes <= TOKEN_SCOPES:
        extra = ", ".join(sorted(scopes - TOKEN_SCOPES))
        raise RuleViolation(
            _("scopes {scopes} cannot be given to a token; allowed: {allowed}").format(
                scopes=extra, allowed=", ".join(sorted(TOKEN_SCOPES))),
            code="invalid_scope",
        )
    if lifetime <= timedelta(0) or lifetime > MAX_TOKEN_LIFETIME:
        raise RuleViolation(
            _("a token lives between 1 and {days} days").format(days=MAX_TOKEN_LIFETIME.days), code="invalid_lifetime"
        )
    prefix = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") for _i in range(12))
    raw = f"ww_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        agency_id=agency_id, name=name, prefix=prefix, token_sha256=digest(raw), scopes=sorted(scopes),
        created_by=actor, created_at=now, expires_at=now + lifetime,
    )
    session.add(token)
    session.flush()
    audit.record(session=session, actor=actor, action="token.issue", entity="api_token", entity_id=token.id,
                 details={"agency_id": agency_id, "name": name, "scopes": sorted(scopes),
                          "expires_at": token.expires_at.isoformat()})
    return IssuedToken(token=token, secret=raw)


def revoke_token(*, session: Session, token_id: int, actor: str, agency_id: int | None = None) -> ApiToken:
    """Revoke a token at once (idempotent); `agency_id` limits it to that agency's tokens."""
    token = session.get(ApiToken, token_id)
    if token is None or (agency_id is not None and token.agency_id != agency_id):
        raise NotFound(_("no token {ref}").format(ref=token_id))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        token.revoked_by = actor
        audit.record(session=session, actor=actor, action="token.revoke", entity="api_token", entity_id=token.id,
                     details={"agency_id": token.agency_id, "name": token.name})
    return token


def verify_token(
    *, session: Session, raw: str, method: str, path: str, client: str | None, now: datetime | None = None
) -> tuple[VerifiedToken | None, dict]:
    """The live token for `raw` (or None), and the record of this use, already written.

    Runs on every API call of an agency system, hence Core statements rather than ORM
    objects. The caller raises TokenRefused when the token is None, after making sure the
    use record survives the request's rollback.
    """
    now = now or utcnow()
    match = TOKEN_RE.match(raw)
    prefix = match.group(1) if match else raw[3:15] if raw.startswith("ww_") else ""
    row = None
    if match:
        row = session.execute(
            select(ApiToken.id, ApiToken.agency_id, ApiToken.token_sha256, ApiToken.scopes, ApiToken.revoked_at,
                   ApiToken.expires_at, Agency.status)
            .join(Agency, Agency.id == ApiToken.agency_id)
            .where(ApiToken.prefix == prefix)
        ).first()
    outcome = _refusal(row, raw, now)
    use = {"token_id": row.id if row else None, "prefix": prefix[:16], "used_at": now, "method": method[:8],
           "path": path[:300], "client": (client or "")[:64] or None, "outcome": outcome}
    session.connection().execute(insert(ApiTokenUse.__table__).values(**use))
    # No `last_used_at` on the token row: updating one row per call would make every
    # concurrent call of an agency's system wait for the others. The uses table has it.
    if outcome != "accepted":
        return None, use
    return VerifiedToken(id=row.id, agency_id=row.agency_id, prefix=prefix, scopes=list(row.scopes)), use


def _refusal(token, raw: str, now: datetime) -> str:
    if token is None:
        return "unknown"
    # Constant-time comparison: the digest must not leak through timing.
    if not hmac.compare_digest(token.token_sha256, digest(raw)):
        return "wrong_secret"
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= now:
        return "expired"
    if token.status not in TOKEN_AGENCY_STATUSES:
        return "agency_inactive"
    return "accepted"


# --- listing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenListing:
    token: ApiToken
    agency_code: str
    last_used_at: datetime | None  # the last accepted use, from api_token_uses


def token_status(token: ApiToken, now: datetime | None = None) -> str:
    """active, expired or revoked."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def _last_used():
    return (
        select(func.max(ApiTokenUse.used_at))
        .where(ApiTokenUse.token_id == ApiToken.id, ApiTokenUse.outcome == "accepted")
        .correlate(ApiToken)
        .scalar_subquery()
    )


def list_tokens(
    *, session: Session, agency_id: int | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[TokenListing], int]:
    """One page of tokens (newest first) of one agency, or of all when `agency_id` is None, and the total."""
    query = select(ApiToken, Agency.code, _last_used().label("last_used_at")).join(
        Agency, Agency.id == ApiToken.agency_id
    )
    count = select(func.count(ApiToken.id))
    if agency_id is not None:
        query = query.where(ApiToken.agency_id == agency_id)
        count = count.where(ApiToken.agency_id == agency_id)
    total = session.scalar(count) or 0
    rows = session.execute(query.order_by(ApiToken.id.desc()).offset(offset).limit(limit)).all()
    return [TokenListing(token=row.ApiToken, agency_code=row.code, last_used_at=row.last_used_at) for row in rows], total


def get_token(*, session: Session, token_id: int, agency_id: int | None = None) -> TokenListing:
    """One token with its last use; NotFound when missing or (with `agency_id`) another agency's."""
    row = session.execute(
        select(ApiToken, Agency.code, _last_used().label("last_used_at"))
        .join(Agency, Agency.id == ApiToken.agency_id)
        .where(ApiToken.id == token_id)
    ).first()
    if row is None or (agency_id is not None and row.ApiToken.agency_id != agency_id):
        raise NotFound(_("no token {ref}").format(ref=token_id))
    return TokenListing(token=row.ApiToken, agency_code=row.code, last_used_at=row.last_used_at)


def list_token_uses(
    *, session: Session, token_id: int, agency_id: int | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[ApiTokenUse], int]:
    """One page of a token's access log, newest first, and the total."""
    get_token(session=session, token_id=token_id, agency_id=agency_id)
    total = session.scalar(select(func.count(ApiTokenUse.id)).where(ApiTokenUse.token_id == token_id)) or 0
    uses = session.scalars(
        select(ApiTokenUse).where(ApiTokenUse.token_id == token_id)
        .order_by(ApiTokenUse.used_at.desc(), ApiTokenUse.id.desc()).offset(offset).limit(limit)
    ).all()
    return list(uses), total
