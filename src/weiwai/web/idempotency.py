"""Idempotency-Key for POSTs that create records: a retried request gets the first answer.

A client that may send a request twice (a timeout, a double click, a retrying queue)
names it with the header `Idempotency-Key` (1 to 100 visible ASCII characters). Keys
belong to the caller (`Principal.actor`: one user, or one API token), so two agencies
can never collide on a key nor learn anything about each other's requests through one.

- A key seen before with the same request (SHA-256 of method, path and the canonical
  JSON of the parsed body) replays the stored status and body, with the header
  `Idempotent-Replayed: true`; nothing is done again.
- A key seen before with another request is refused: 422 `idempotency_key_reused`.
- Otherwise the work runs and its answer is stored (IdempotencyRecord) at the end of the
  request's own transaction, together with the records it created. If a concurrent
  request with the key committed first, the insert hits the unique constraint (on
  PostgreSQL it waits for the other transaction to finish): the whole transaction is
  rolled back and the winner's answer replayed. A double submit creates exactly one
  record, even when both arrive at once.

Only successful answers are stored: a request that failed wrote nothing and may be
retried with its key. Records are kept at least 48 hours (the daily job
`purge_idempotency_records`, weiwai.web.jobs, deletes older ones). The cost on the fast
path is one SELECT and one INSERT per keyed request; requests without the header cost
nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weiwai.db import utcnow
from weiwai.errors import RuleViolation
from weiwai.i18n import _
from weiwai.security.models import IdempotencyRecord
from weiwai.web.deps import CurrentUser, SessionDep

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = r"^[\x21-\x7e]{1,100}$"
RETENTION = timedelta(hours=48)

T = TypeVar("T")

KeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER, min_length=1, max_length=100, pattern=KEY_PATTERN,
        description="Names this request so that a retry returns the first answer instead of doing it again "
                    "(1-100 visible ASCII characters; per caller; kept 48 hours). See docs/api.md.",
    ),
]


def fingerprint(method: str, path: str, body: Any = None) -> str:
    """SHA-256 of the method, the path and the canonical JSON of the (parsed) body."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    canonical = json.dumps(jsonable_encoder(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method.upper()}\n{path}\n{canonical}".encode()).hexdigest()


def encode(result: Any) -> str:
    """The JSON text of a route's result, as FastAPI would send it."""
    return json.dumps(jsonable_encoder(result), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class IdempotentRequest:
    """The request's key (or None) and the means to run its work at most once per key."""

    def __init__(self, *, request: Request, response: Response, session: Session, owner: str, key: str | None):
        self.request = request
        self.response = response
        self.session = session
        self.owner = owner
        self.key = key
        self.method = request.method
        self.path = request.url.path

    def run(self, work: Callable[[], T], *, body: Any = None, status_code: int = 200) -> T | Response:
        """`work()`, unless the key answered before: then the stored answer.

        The work may set `response.status_code` (the injected Response) to answer other
        than `status_code`; without a key its result is returned as it is.
        """
        if self.key is None:
            return work()
        request_sha256 = fingerprint(self.method, self.path, body)
        stored = self._stored()
        if stored is not None:
            return self._replay(stored, request_sha256)
        result = work()
        status = self.response.status_code or status_code
        content = encode(result)
        # The work's own writes first, so that an error in them is theirs, not a lost race.
        self.session.flush()
        try:
            # A savepoint would cost a round trip on every request; on a lost race the whole
            # transaction is rolled back below anyway.
            self.session.connection().execute(insert(IdempotencyRecord.__table__).values(
                owner=self.owner, key=self.key, method=self.method[:8], path=self.path[:300],
                request_sha256=request_sha256, status_code=status, response_body=content, created_at=utcnow(),
            ))
        except IntegrityError:
            # A concurrent request with this key committed first: undo everything this one
            # did and answer as it did.
            self.session.rollback()
            self._keep_token_use()
            stored = self._stored()
            if stored is None:
                raise
            return self._replay(stored, request_sha256)
        return Response(content=content, status_code=status, media_type="application/json")

    def _stored(self):
        """The stored answer to this key (request_sha256, status_code, response_body), or None."""
        return self.session.execute(
            select(IdempotencyRecord.request_sha256, IdempotencyRecord.status_code, IdempotencyRecord.response_body)
            .where(IdempotencyRecord.owner == self.owner, IdempotencyRecord.key == self.key)
        ).first()

    def _replay(self, stored, request_sha256: str) -> Response:
        if stored.request_sha256 != request_sha256:
            raise RuleViolation(
                _("the Idempotency-Key {key} was already used for a different request").format(key=self.key),
                code="idempotency_key_reused",
            )
        return Response(content=stored.response_body, status_code=stored.status_code, media_type="application/json",
                        headers={REPLAYED_HEADER: "true"})

    def _keep_token_use(self) -> None:
        """The rollback took the record of this API token use with it: add it again."""
        use = getattr(self.request.state, "token_use", None)
        if use is not None:
            from weiwai.security.models import ApiTokenUse

            self.session.add(ApiTokenUse(**use))


def idempotent_request(
    request: Request, response: Response, session: SessionDep, principal: CurrentUser, key: KeyHeader = None
) -> IdempotentRequest:
    return IdempotentRequest(request=request, response=response, session=session, owner=principal.actor, key=key)


Idempotency = Annotated[IdempotentRequest, Depends(idempotent_request)]


def purge_idempotency_records(*, session: Session, before: datetime) -> int:
    """Delete the records of keys first used before `before`; returns how many."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < before))
    return result.rowcount or 0
