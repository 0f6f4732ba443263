"""The hash chain over the audit log: sealing new events into it, and verifying it.

Writers only insert `audit_events` rows, in their own transactions, as before; nothing on
their path waits for a chain lock. A sealer then links every event not yet chained, in id
order, into `audit_chain`: link `seq` holds SHA-256(prev_hash + canonical form of the event).
Sealing runs after each committed request or command that recorded events (`seal_after_commit`,
a short transaction of its own that skips when another sealer is busy), every few seconds
in the server (`PeriodicSealer`), in the daily job and with `weiwai audit seal`.

`verify` walks the chain and names the first problem: a changed event, a deleted event, a
deleted, inserted or reordered link, a backdated event, or an old event nobody sealed
(inserted behind the sealer's back). The limits are in docs/audit.md: whoever can insert
rows can append well-formed events at the end; anchoring the head (`weiwai audit head`)
outside the database detects a rewritten or truncated tail.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, exists, func, insert, select, text
from sqlalchemy.orm import Session

from weiwai.db import utcnow
from weiwai.security.models import AuditChainLink, AuditEvent

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key of the sealer ("weiwai" + 0x01).
SEAL_LOCK_KEY = 0x77656977616901
SEAL_BATCH = 5000
VERIFY_BATCH = 10000
# An event is sealed by the next sealer run; an event older than this and still unsealed,
# or chained after links sealed longer than this before it occurred, was inserted behind
# the sealer's back. Generous, because a long import holds its events uncommitted for a while.
DEFAULT_GRACE = timedelta(hours=1)
# The periodic sealer looks for unsealed events that occurred at most this long before the
# newest link (late commits of long transactions: their ids are lower than sealed ones);
# the sealer after each commit looks only past the highest event id chained (an index
# range, however long the log); the daily job and `weiwai audit seal --full` look at every event.
INCREMENTAL_LOOKBACK = DEFAULT_GRACE

_events = AuditEvent.__table__
_chain = AuditChainLink.__table__
EVENT_COLUMNS = (_events.c.id, _events.c.occurred_at, _events.c.actor, _events.c.action, _events.c.entity,
                 _events.c.entity_id, _events.c.details)


def _timestamp(value: datetime) -> str:
    """UTC, ISO 8601 with microseconds and a Z: the same text whichever database gave the value."""
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(UTC)
    # Naive values are UTC already (SQLite read without the column type).
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# One encoder (the C one), rather than a new one per json.dumps call with these options.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _details(value: Any) -> Any:
    if isinstance(value, str | bytes):  # a driver that hands JSON back as text
        return json.loads(value)
    return value


def canonical(event_id: int, occurred_at: datetime, actor: str, action: str, entity: str | None,
              entity_id: str | None, details: Any) -> str:
    """The canonical text of one event: a JSON array, keys sorted, non-ASCII kept, no spaces."""
    return _ENCODER.encode(
        [int(event_id), _timestamp(occurred_at), actor, action, entity, entity_id, _details(details)]
    )


def link_hash(prev_hash: str, event_text: str) -> str:
    """Hex SHA-256 of the previous link's hash followed by the event's canonical text."""
    return hashlib.sha256((prev_hash + event_text).encode("utf-8")).hexdigest()


def _hash_row(prev_hash: str, row) -> str:
    return link_hash(prev_hash, canonical(row.id, row.occurred_at, row.actor, row.action, row.entity,
                                          row.entity_id, row.details))


# --- sealing ------------------------------------------------------------------------------


def _lock(session: Session, *, wait: bool) -> bool:
    """Take the sealer's lock for this transaction (PostgreSQL); False if `wait` is off and it is taken.

    On SQLite writes are serialised by the database itself.
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEAL_LOCK_KEY})
        return True
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEAL_LOCK_KEY}).scalar())


def _head_row(session: Session):
    return session.execute(
        select(_chain.c.seq, _chain.c.hash, _chain.c.sealed_at).order_by(_chain.c.seq.desc()).limit(1)
    ).first()


def seal(*, session: Session, full: bool = False, tail_only: bool = False, wait: bool = True,
         batch_size: int = SEAL_BATCH, limit: int | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Chain every event not yet chained, in id order; answers how many were sealed (idempotent).

    `full=False` looks only at events that occurred within INCREMENTAL_LOOKBACK before the
    newest link; `tail_only=True` only at events past the highest id chained (what a request
    just committed: cheap on a log of any length); `wait=False` gives up at once when
    another sealer holds the lock.
    """
    if not _lock(session, wait=wait):
        return 0
    head = _head_row(session)
    seq, prev_hash = (head.seq, head.hash) if head is not None else (0, GENESIS_HASH)
    unchained = ~exists().where(_chain.c.event_id == _events.c.id)
    after_id = 0
    if tail_only and head is not None:
        after_id = session.scalar(select(func.max(_chain.c.event_id))) or 0
    elif not full and head is not None:
        unchained = and_(unchained, _events.c.occurred_at >= head.sealed_at - INCREMENTAL_LOOKBACK)
    sealed_at = utcnow()
    total = 0
    while limit is None or total < limit:
        size = batch_size if limit is None else min(batch_size, limit - total)
        rows = session.execute(
            select(*EVENT_COLUMNS).where(unchained, _events.c.id > after_id).order_by(_events.c.id).limit(size)
        ).all()
        if not rows:
            break
        links = []
        for row in rows:
            seq += 1
            digest = _hash_row(prev_hash, row)
            links.append({"seq": seq, "event_id": row.id, "prev_hash": prev_hash, "hash": digest,
                          "sealed_at": sealed_at})
            prev_hash = digest
        session.execute(insert(_chain), links)
        total += len(rows)
        after_id = rows[-1].id
        if progress is not None:
            progress(len(rows))
        if len(rows) < size:
            break
    return total


def unsealed_count(*, session: Session) -> int:
    """How many events are not in the chain yet."""
    return session.scalar(
        select(func.count()).select_from(_events).where(~exists().where(_chain.c.event_id == _events.c.id))
    ) or 0


@dataclass(frozen=True)
class ChainHead:
    """The newest link: anchor `seq` and `hash` outside the database to detect a rewritten tail."""

    seq: int
    hash: str
    event_id: int | None
    sealed_at: datetime | None


def head(*, session: Session) -> ChainHead:
    """The newest link of the chain (seq 0 and the genesis hash while it is empty)."""
    row = session.execute(
        select(_chain.c.seq, _chain.c.hash, _chain.c.event_id, _chain.c.sealed_at).order_by(_chain.c.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return ChainHead(seq=0, hash=GENESIS_HASH, event_id=None, sealed_at=None)
    return ChainHead(seq=row.seq, hash=row.hash, event_id=row.event_id, sealed_at=row.sealed_at)


# --- verifying ----------------------------------------------------------------------------

# Kinds of problem, in the words verify reports them with.
EVENT_CHANGED = "event_changed"        # the event's content no longer matches its link's hash
EVENT_DELETED = "event_deleted"        # a link whose event is gone
LINK_MISSING = "link_missing"          # a gap in the sequence: a link was deleted
LINK_MISMATCH = "link_mismatch"        # prev_hash is not the previous link's hash: a link inserted or rewritten
EVENT_BACKDATED = "event_backdated"    # chained, but occurred well before links sealed earlier
EVENT_UNSEALED = "event_unsealed"      # never chained and older than the grace period: inserted behind the sealer
HEAD_MISMATCH = "head_mismatch"        # the anchored head is not in the chain any more


@dataclass(frozen=True)
class Problem:
    kind: str
    seq: int | None
    event_id: int | None
    detail: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    pending: int
    problem: Problem | None

    def as_dict(self) -> dict:
        return asdict(self)


def verify(*, session: Session, grace: timedelta = DEFAULT_GRACE, now: datetime | None = None,
           anchor: tuple[int, str] | None = None, batch_size: int = VERIFY_BATCH,
           progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Walk the chain, recompute every link and report the first problem (or none).

    `anchor` (seq, hash) is a head recorded earlier outside the database: the chain must
    still contain it, which detects a truncated or rewritten tail.
    """
    now = now or utcnow()
    expected_seq, prev_hash, latest_sealed = 1, GENESIS_HASH, None
    checked, problem = 0, None
    anchor_seen = anchor is None or anchor[0] == 0
    query = (
        select(_chain.c.seq, _chain.c.event_id.label("link_event_id"), _chain.c.prev_hash, _chain.c.hash,
               _chain.c.sealed_at, *EVENT_COLUMNS)
        .select_from(_chain.outerjoin(_events, _events.c.id == _chain.c.event_id))
        .order_by(_chain.c.seq)
    )
    after = 0
    while problem is None:
        rows = session.execute(query.where(_chain.c.seq > after).limit(batch_size)).all()
        if not rows:
            break
        for row in rows:
            problem = _check_link(row, expected_seq, prev_hash, latest_sealed, grace)
            if problem is not None:
                break
            if anchor is not None and row.seq == anchor[0]:
                if row.hash != anchor[1]:
                    problem = Problem(HEAD_MISMATCH, row.seq, row.link_event_id,
                                      "the link at the anchored position has another hash: the chain was rewritten")
                    break
                anchor_seen = True
            checked += 1
            expected_seq, prev_hash = row.seq + 1, row.hash
            latest_sealed = row.sealed_at if latest_sealed is None else max(latest_sealed, row.sealed_at)
        after = rows[-1].seq
        if progress is not None:
            progress(len(rows))
    if problem is None and not anchor_seen:
        problem = Problem(HEAD_MISMATCH, anchor[0], None,
                          f"the chain ends at seq {expected_seq - 1}, before the anchored seq {anchor[0]}: truncated")
    pending = unsealed_count(session=session)
    if problem is None and pending:
        stale = session.execute(
            select(_events.c.id, _events.c.occurred_at)
            .where(~exists().where(_chain.c.event_id == _events.c.id), _events.c.occurred_at < now - grace)
            .order_by(_events.c.id).limit(1)
        ).first()
        if stale is not None:
            problem = Problem(EVENT_UNSEALED, None, stale.id,
                              f"event {stale.id} of {_timestamp(stale.occurred_at)} was never sealed into the chain")
    return VerifyResult(ok=problem is None, checked=checked, head_seq=expected_seq - 1, head_hash=prev_hash,
                        pending=pending, problem=problem)


def _check_link(row, expected_seq: int, prev_hash: str, latest_sealed: datetime | None,
                grace: timedelta) -> Problem | None:
    if row.seq != expected_seq:
        if row.seq > expected_seq:
            return Problem(LINK_MISSING, expected_seq, None,
                           f"links {expected_seq}..{row.seq - 1} are missing (deleted)")
        return Problem(LINK_MISMATCH, row.seq, row.link_event_id, "links out of sequence")
    if row.prev_hash != prev_hash:
        return Problem(LINK_MISMATCH, row.seq, row.link_event_id,
                       "prev_hash does not match the previous link: a link was inserted, deleted or rewritten")
    if row.id is None:
        return Problem(EVENT_DELETED, row.seq, row.link_event_id, f"event {row.link_event_id} was deleted")
    if _hash_row(prev_hash, row) != row.hash:
        return Problem(EVENT_CHANGED, row.seq, row.id, f"event {row.id} was changed after it was sealed")
    occurred = row.occurred_at
    if latest_sealed is not None and occurred < latest_sealed - grace:
        return Problem(EVENT_BACKDATED, row.seq, row.id,
                       f"event {row.id} claims {_timestamp(occurred)}, before links sealed at "
                       f"{_timestamp(latest_sealed)}: inserted with a false date")
    return None


# --- when sealing happens -----------------------------------------------------------------


def seal_quietly(engine: Engine, *, tail_only: bool = False) -> int:
    """Seal in a short transaction of its own; skip (0) if another sealer is busy. Never raises."""
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as connection:
            if sqlite:
                # Another writer holds the database: give up at once rather than wait (a try-lock).
                connection.exec_driver_sql("PRAGMA busy_timeout=0")
                connection.commit()
            session = Session(bind=connection)
            try:
                count = seal(session=session, wait=False, tail_only=tail_only)
                session.commit()
                return count
            finally:
                session.close()
                if sqlite:
                    connection.rollback()
                    connection.exec_driver_sql("PRAGMA busy_timeout=30000")
                    connection.commit()
    except Exception:  # noqa: BLE001 - what is not sealed now is sealed next time
        log.warning("audit chain: sealing skipped", exc_info=True)
        return 0


def _seal_after_commit(session: Session) -> None:
    if not session.info.pop(PENDING_KEY, False):
        return
    bind = session.bind
    # Only sessions of their own engine (requests, commands, jobs); a session joined to an
    # outer connection (tests) has not really committed.
    if isinstance(bind, Engine):
        seal_quietly(bind, tail_only=True)


def _forget_pending(session: Session, _previous_transaction=None) -> None:
    session.info.pop(PENDING_KEY, None)


PENDING_KEY = "weiwai_audit_pending"


def install_after_commit_hook() -> None:
    """Seal right after every commit of a session that recorded audit events (idempotent)."""
    from sqlalchemy import event

    if not event.contains(Session, "after_commit", _seal_after_commit):
        event.listen(Session, "after_commit", _seal_after_commit)
        event.listen(Session, "after_rollback", _forget_pending)


class PeriodicSealer:
    """Seals every `interval` seconds in a background thread (started and stopped by the app's lifespan)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from weiwai.db import get_engine

        while not self._stop.wait(self.interval):
            seal_quietly(get_engine())

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
