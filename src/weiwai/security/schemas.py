"""Request and response bodies of the security API: sign-in, me, users, tokens, audit log.

No response carries a password hash, a token digest or a failure counter; a token's
secret appears once, in the answer to its creation (`TokenIssued.token`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from weiwai.security.models import Role
from weiwai.security.permissions import Permission


class SessionCreate(BaseModel):
    """Sign in with a password (JSON), for people using the API from a script or a browser app."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=200)
    password: str = Field(max_length=1000)


class MeRead(BaseModel):
    """Who is asking: a signed-in person, or an agency system's API token."""

    kind: Literal["user", "token"] = "user"
    id: int | None = Field(description="The user's id; null for an API token.")
    username: str = Field(description="The username, or the token's prefix.")
    display_name: str = Field(description="The person's name, or the token's name.")
    role: Role
    agency_id: int | None
    agency_code: str | None = None
    permissions: list[Permission] = Field(default_factory=list, description="What this principal may do.")
    token_id: int | None = None
    scopes: list[Permission] | None = Field(default=None, description="The token's scopes (tokens only).")
    expires_at: datetime | None = Field(default=None, description="When the token expires (tokens only).")


# --- users ------------------------------------------------------------------------------


class UserRead(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    agency_id: int | None
    agency_code: str | None = None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    locked_until: datetime | None = Field(description="Set while the account is locked after failed sign-ins.")
    version: int = Field(description="Changes with every edit; sent as the ETag.")

    @classmethod
    def of(cls, user: Any, agency_code: str | None = None, *, now: datetime | None = None) -> UserRead:
        locked = user.locked_until if user.locked_until is not None and (now is None or user.locked_until > now) else None
        return cls(
            id=user.id, username=user.username, display_name=user.display_name, role=Role(user.role),
            agency_id=user.agency_id, agency_code=agency_code, is_active=user.is_active, created_at=user.created_at,
            last_login_at=user.last_login_at, locked_until=locked, version=user.version,
        )


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=64)
    display_name: str = Field(max_length=100)
    role: Role
    agency_id: int | None = Field(default=None, description="Agency roles only; an agency manager may omit it.")
    password: str = Field(max_length=1000)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=100)
    is_active: bool | None = Field(default=None, description="false: the user can no longer sign in, at once.")


class PasswordChange(BaseModel):
    """Your own password (give the current one), or someone else's reset by an administrator."""

    model_config = ConfigDict(extra="forbid")

    new_password: str = Field(max_length=1000)
    current_password: str | None = Field(default=None, max_length=1000)


# --- API tokens -------------------------------------------------------------------------


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="What the token is for, e.g. the system using it.")
    scopes: list[Permission] | None = Field(
        default=None, description="Default: cases.read, actions.read, actions.write."
    )
    expires_in_days: int = Field(default=90, ge=1, le=366)


class TokenRead(BaseModel):
    id: int
    agency_id: int
    agency_code: str
    name: str
    prefix: str = Field(description="The public part of the token (ww_<prefix>_…), to recognise it.")
    scopes: list[Permission]
    status: Literal["active", "expired", "revoked"]
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None = Field(description="The last accepted request made with it.")

    @classmethod
    def of(cls, listing: Any, *, status: str) -> TokenRead:
        token = listing.token
        return cls(
            id=token.id, agency_id=token.agency_id, agency_code=listing.agency_code, name=token.name,
            prefix=token.prefix, scopes=token.scopes, status=status, created_by=token.created_by,
            created_at=token.created_at, expires_at=token.expires_at, revoked_at=token.revoked_at,
            revoked_by=token.revoked_by, last_used_at=listing.last_used_at,
        )


class TokenIssued(TokenRead):
    token: str = Field(description="The whole token. Shown this once: it cannot be read again.")


class TokenUseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    used_at: datetime
    method: str
    path: str
    client: str | None
    outcome: str = Field(description="accepted, or why it was refused: unknown, wrong_secret, expired, revoked, "
                                     "agency_inactive.")


# --- audit log --------------------------------------------------------------------------


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor: str
    action: str
    entity: str | None
    entity_id: str | None
    details: dict[str, Any]
