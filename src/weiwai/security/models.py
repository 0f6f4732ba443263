"""People who sign in, and the record of who did what with personal data."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from weiwai.db import Base, UtcDateTime, utcnow


class Role(StrEnum):
    admin = "admin"
    operations = "operations"
    compliance = "compliance"
    infosec = "infosec"
    finance = "finance"
    auditor = "auditor"
    agency_manager = "agency_manager"
    collector = "collector"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(String(32))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Lockout: consecutive failed sign-ins since the last success, and until when a
    # run of failures keeps the account locked (see weiwai.security.service).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Edits by people (name, active, password) bump the version (the ETag); sign-ins do
    # not, so that a login does not invalidate an administrator's If-Match.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Sessions signed in before this are over: a changed or reset password ends them all.
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class AuditEvent(Base):
    """Append-only record of logins, reveals, exports and imports."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str | None] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class AuditChainLink(Base):
    """One link of the hash chain over the audit events (weiwai.security.audit_chain; docs/audit.md).

    Insert-only: `hash` is SHA-256 over `prev_hash` and the canonical form of the event, so
    changing, deleting or inserting an event or a link breaks the chain from there on.
    """

    __tablename__ = "audit_chain"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiToken(Base):
    """An agency system's credential: shown once, stored as a SHA-256 digest, scoped, expiring.

    The token is `ww_<prefix>_<secret>`; the prefix finds the row, the digest of the whole
    token proves it. The secret has 256 bits of entropy, so a fast hash is enough (a slow
    password hash would only slow every API call down).
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class ApiTokenUse(Base):
    """Every request made with a token, accepted or refused (an access log, not the audit chain)."""

    __tablename__ = "api_token_uses"
    __table_args__ = (Index("ix_api_token_uses_token_time", "token_id", "used_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    prefix: Mapped[str] = mapped_column(String(16))
    used_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    client: Mapped[str | None] = mapped_column(String(64))
    # accepted, or why it was refused: unknown, wrong_secret, expired, revoked, agency_inactive
    outcome: Mapped[str] = mapped_column(String(32))


class LoginAttempt(Base):
    """Each password sign-in attempt, for rate limiting by client address across workers."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_client_time", "client", "attempted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    client: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)


class IdempotencyRecord(Base):
    """The first response to a POST with an Idempotency-Key, replayed to retries of it.

    Keys are per caller (`owner` is the principal's actor name), so two agencies can
    never collide on a key or learn about each other's requests through one.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
