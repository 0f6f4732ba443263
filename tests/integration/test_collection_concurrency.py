"""Concurrent logging on PostgreSQL: one idempotency key, one action, whatever the race.

SQLite lets one writer at a time in and would only show its own locking; these tests run
on PostgreSQL, each worker in its own connection and transaction.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factories_collection import make_world
from weiwai.collection import service
from weiwai.collection.models import CollectionAction
from weiwai.collection.schemas import ActionCreate
from weiwai.errors import Conflict
from weiwai.placements.models import CaseStatus, CaseStatusChange

AT = datetime(2024, 3, 5, 4, 0, tzinfo=UTC)
WORKERS = 6


# The races need concurrent writers, which SQLite serialises: PostgreSQL only.
# The collection log's mechanics, not the compliance rules (tested in test_compliance_*).
pytestmark = [pytest.mark.postgres_only, pytest.mark.usefixtures("record_compliance")]


@pytest.fixture
def engine_pg(backend, fresh_db_url):
    from weiwai.db import make_engine

    engine = make_engine(fresh_db_url)
    yield engine
    engine.dispose()


def seed(engine, count=1):
    with Session(engine, expire_on_commit=False) as session:
        worlds = [make_world(session) for _ in range(count)]
        session.commit()
    return [(w.case.id, w.debtor.phones[0].id) for w in worlds]


def race(engine, jobs):
    """Run each job in its own session at the same moment; return results or exceptions."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        with Session(engine) as session:
            barrier.wait()
            try:
                result = job(session)
                session.commit()
                return result
            except Exception as exc:  # collected and asserted on by the test
                session.rollback()
                return exc

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def action(phone_id, key):
    return ActionCreate(channel="phone", occurred_at=AT, party="debtor", outcome="no_answer", phone_id=phone_id,
                        idempotency_key=key)


def count(engine, model, **where):
    with Session(engine) as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query)


def test_one_key_sent_concurrently_creates_one_action(engine_pg):
    [(case_id, phone_id)] = seed(engine_pg)

    def job(session):
        logged = service.record_action(session=session, case_id=case_id, data=action(phone_id, "race-1"),
                                       actor="user:c", at=AT)
        return logged.action.id, logged.created

    results = race(engine_pg, [job] * WORKERS)
    assert not [r for r in results if isinstance(r, Exception)]
    assert len({action_id for action_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert count(engine_pg, CollectionAction, case_id=case_id) == 1


def test_one_key_on_two_cases_concurrently_is_one_action_and_one_conflict(engine_pg):
    (first, first_phone), (second, second_phone) = seed(engine_pg, 2)

    def on(case_id, phone_id):
        def job(session):
            return service.log_action(session=session, case_id=case_id, data=action(phone_id, "race-2"),
                                      actor="user:c", at=AT).id
        return job

    results = race(engine_pg, [on(first, first_phone), on(second, second_phone)])
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert sum(isinstance(r, int) for r in results) == 1
    assert count(engine_pg, CollectionAction, idempotency_key="race-2") == 1


def test_concurrent_first_actions_move_the_case_once(engine_pg):
    [(case_id, phone_id)] = seed(engine_pg)
    jobs = [
        (lambda key: lambda session: service.log_action(
            session=session, case_id=case_id, data=action(phone_id, key), actor="user:c", at=AT).id)(f"k{n}")
        for n in range(WORKERS)
    ]
    results = race(engine_pg, jobs)
    assert not [r for r in results if isinstance(r, Exception)]
    assert count(engine_pg, CollectionAction, case_id=case_id) == WORKERS
    assert count(engine_pg, CaseStatusChange, case_id=case_id) == 1
    with Session(engine_pg) as session:
        assert session.scalar(select(CaseStatusChange.to_status).where(
            CaseStatusChange.case_id == case_id)) == CaseStatus.working
