"""The hash-chained audit log: sealing, and tampering with any row is detected (both backends)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, insert, select, text, update

from weiwai.db import utcnow
from weiwai.security import audit, audit_chain
from weiwai.security.audit_chain import (
    EVENT_BACKDATED,
    EVENT_CHANGED,
    EVENT_DELETED,
    EVENT_UNSEALED,
    GENESIS_HASH,
    HEAD_MISMATCH,
    LINK_MISMATCH,
    LINK_MISSING,
    seal,
    verify,
)
from weiwai.security.models import AuditChainLink, AuditEvent

EVENTS = AuditEvent.__table__
CHAIN = AuditChainLink.__table__


def _record(session, n: int, *, start: int = 0) -> list[int]:
    ids = []
    for i in range(start, start + n):
        event = audit.record(session=session, actor=f"user:u{i}", action="reveal", entity="debtor", entity_id=i,
                             details={"reason": f"电话核实 {i}", "fields": ["phone"], "n": i, "nested": {"b": 1, "a": [1.5]}})
        session.flush()
        ids.append(event.id)
    return ids


@pytest.fixture
def sealed(session):
    """Ten sealed events (on an otherwise empty chain of this rolled-back test)."""
    ids = _record(session, 10)
    seal(session=session, full=True)
    assert verify(session=session).ok
    return ids


def _seq_of(session, event_id: int) -> int:
    return session.scalar(select(CHAIN.c.seq).where(CHAIN.c.event_id == event_id))


def _without_foreign_keys(session) -> None:
    """What an attacker with the owner's rights does first: get the foreign keys out of the way."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA defer_foreign_keys=ON"))
    else:
        session.execute(text("SET LOCAL session_replication_role = replica"))


def test_seal_chains_every_event_once_and_is_idempotent(session):
    ids = _record(session, 7)
    before = session.scalar(select(func.count()).select_from(CHAIN))
    assert seal(session=session, full=True) >= 7
    assert seal(session=session, full=True) == 0
    assert session.scalar(select(func.count()).select_from(CHAIN)) >= before + 7
    chained = set(session.scalars(select(CHAIN.c.event_id).where(CHAIN.c.event_id.in_(ids))))
    assert chained == set(ids)
    result = verify(session=session)
    assert result.ok and result.pending == 0 and result.problem is None
    assert result.head_seq == audit_chain.head(session=session).seq


def test_the_chain_starts_at_the_genesis_hash_and_links_each_hash_to_the_next(session):
    _record(session, 3)
    seal(session=session, full=True)
    links = session.execute(select(CHAIN).order_by(CHAIN.c.seq)).all()
    assert links[0].seq == 1 and links[0].prev_hash == GENESIS_HASH
    for earlier, later in zip(links, links[1:], strict=False):
        assert later.prev_hash == earlier.hash and later.seq == earlier.seq + 1


@pytest.mark.parametrize("change", [
    {"details": {"reason": "something else", "fields": ["phone"]}},
    {"actor": "user:mallory"},
    {"action": "login.success"},
    {"entity_id": "999"},
    {"occurred_at": "shift"},
])
def test_changing_a_sealed_event_is_detected_and_named(session, sealed, change):
    victim = sealed[4]
    if "occurred_at" in change:
        when = session.scalar(select(EVENTS.c.occurred_at).where(EVENTS.c.id == victim))
        change = {"occurred_at": when - timedelta(microseconds=1)}
    session.execute(update(EVENTS).where(EVENTS.c.id == victim).values(**change))
    result = verify(session=session)
    assert not result.ok
    assert result.problem.kind == EVENT_CHANGED
    assert result.problem.event_id == victim and result.problem.seq == _seq_of(session, victim)


def test_the_first_changed_event_is_named_when_several_are(session, sealed):
    for victim in (sealed[7], sealed[2]):
        session.execute(update(EVENTS).where(EVENTS.c.id == victim).values(actor="user:mallory"))
    assert verify(session=session).problem.event_id == sealed[2]


def test_deleting_a_sealed_event_is_detected(session, sealed):
    _without_foreign_keys(session)
    session.execute(delete(EVENTS).where(EVENTS.c.id == sealed[3]))
    problem = verify(session=session).problem
    assert problem.kind == EVENT_DELETED and problem.event_id == sealed[3]


def test_deleting_a_link_is_detected(session, sealed):
    seq = _seq_of(session, sealed[5])
    session.execute(delete(CHAIN).where(CHAIN.c.seq == seq))
    problem = verify(session=session).problem
    assert problem.kind == LINK_MISSING and problem.seq == seq


def test_deleting_an_event_and_its_link_together_is_detected(session, sealed):
    seq = _seq_of(session, sealed[5])
    session.execute(delete(CHAIN).where(CHAIN.c.seq == seq))
    session.execute(delete(EVENTS).where(EVENTS.c.id == sealed[5]))
    assert verify(session=session).problem.seq == seq


def test_a_rewritten_link_is_detected_at_the_next_one(session, sealed):
    """Changing an event and recomputing its own link breaks the following link."""
    victim = sealed[4]
    seq = _seq_of(session, victim)
    session.execute(update(EVENTS).where(EVENTS.c.id == victim).values(actor="user:mallory"))
    row = session.execute(select(*audit_chain.EVENT_COLUMNS).where(EVENTS.c.id == victim)).one()
    prev = session.scalar(select(CHAIN.c.prev_hash).where(CHAIN.c.seq == seq))
    session.execute(update(CHAIN).where(CHAIN.c.seq == seq).values(hash=audit_chain._hash_row(prev, row)))
    problem = verify(session=session).problem
    assert problem.kind == LINK_MISMATCH and problem.seq == seq + 1


def test_an_event_inserted_in_the_middle_is_detected(session, sealed):
    """A backdated event nobody sealed: found as soon as it is older than the grace period."""
    long_ago = utcnow() - timedelta(days=3)
    forged = session.execute(insert(EVENTS).values(
        occurred_at=long_ago, actor="user:alice", action="reveal", entity="debtor", entity_id="1", details={},
    ).returning(EVENTS.c.id)).scalar_one()
    problem = verify(session=session).problem
    assert problem.kind == EVENT_UNSEALED and problem.event_id == forged


def test_a_backdated_event_that_got_sealed_is_detected(session, sealed):
    """Even sealed (by the attacker or by the next sealer run), its date betrays it."""
    session.execute(update(CHAIN).values(sealed_at=utcnow()))  # the earlier links were sealed now
    forged = session.execute(insert(EVENTS).values(
        occurred_at=utcnow() - timedelta(days=3), actor="user:alice", action="reveal", entity="debtor",
        entity_id="1", details={},
    ).returning(EVENTS.c.id)).scalar_one()
    assert seal(session=session, full=True) == 1
    problem = verify(session=session).problem
    assert problem.kind == EVENT_BACKDATED and problem.event_id == forged


def test_a_forged_link_in_the_middle_is_detected(session, sealed):
    """Making room for a forged link means renumbering; the hashes no longer line up."""
    seq = _seq_of(session, sealed[6])
    _without_foreign_keys(session)
    forged = session.execute(insert(EVENTS).values(
        occurred_at=utcnow(), actor="user:alice", action="login.success", details={},
    ).returning(EVENTS.c.id)).scalar_one()
    tail = session.execute(select(CHAIN).where(CHAIN.c.seq >= seq).order_by(CHAIN.c.seq.desc())).all()
    for link in tail:  # shift the tail up by one, from the end
        session.execute(update(CHAIN).where(CHAIN.c.seq == link.seq).values(seq=link.seq + 1))
    prev = session.scalar(select(CHAIN.c.hash).where(CHAIN.c.seq == seq - 1))
    row = session.execute(select(*audit_chain.EVENT_COLUMNS).where(EVENTS.c.id == forged)).one()
    session.execute(insert(CHAIN).values(seq=seq, event_id=forged, prev_hash=prev,
                                         hash=audit_chain._hash_row(prev, row), sealed_at=utcnow()))
    problem = verify(session=session).problem
    assert problem.kind == LINK_MISMATCH and problem.seq == seq + 1


def test_a_forged_link_with_a_wrong_hash_is_detected(session, sealed):
    forged = session.execute(insert(EVENTS).values(
        occurred_at=utcnow(), actor="user:alice", action="login.success", details={},
    ).returning(EVENTS.c.id)).scalar_one()
    top = audit_chain.head(session=session)
    session.execute(insert(CHAIN).values(seq=top.seq + 1, event_id=forged, prev_hash=top.hash, hash="f" * 64,
                                         sealed_at=utcnow()))
    problem = verify(session=session).problem
    assert problem.kind == EVENT_CHANGED and problem.seq == top.seq + 1


def test_an_anchored_head_detects_a_truncated_or_rewritten_tail(session, sealed):
    top = audit_chain.head(session=session)
    assert verify(session=session, anchor=(top.seq, top.hash)).ok
    assert verify(session=session, anchor=(top.seq, "0" * 63 + "1")).problem.kind == HEAD_MISMATCH
    _without_foreign_keys(session)
    session.execute(delete(CHAIN).where(CHAIN.c.seq == top.seq))
    problem = verify(session=session, anchor=(top.seq, top.hash)).problem
    assert problem.kind == HEAD_MISMATCH


def test_unsealed_recent_events_are_pending_not_problems(session, sealed):
    _record(session, 2, start=100)
    result = verify(session=session)
    assert result.ok and result.pending >= 2
    assert verify(session=session, now=utcnow() + timedelta(days=1)).problem.kind == EVENT_UNSEALED


def test_the_canonical_form_survives_the_database_round_trip(session):
    """Details with non-ASCII text, nesting, floats and int-like keys hash the same after reading back."""
    event = audit.record(session=session, actor="user:张三", action="export", entity="report", entity_id=7,
                         details={"z": 1, "a": {"y": [1.25, None, True], "x": "中文"}, "10": "k"})
    session.flush()
    seal(session=session, full=True)
    session.expire_all()
    assert verify(session=session).ok
    row = session.execute(select(*audit_chain.EVENT_COLUMNS).where(EVENTS.c.id == event.id)).one()
    text_form = audit_chain.canonical(*row)
    assert '"user:张三"' in text_form and text_form.index('"10"') < text_form.index('"a"')
