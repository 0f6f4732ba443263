"""Two agencies asking for the last slot of a debtor at the same moment: only one gets it (PostgreSQL).

Each worker runs in its own connection and transaction and commits, released together by a
barrier; the debtor row lock (SELECT … FOR UPDATE) makes the second check wait for the
first one's reservation and count it.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factories_collection import make_account, make_agency, make_case, make_contract, make_world
from factories_compliance import judge  # noqa: F401  (autouse)
from weiwai.collection import service
from weiwai.collection.models import CollectionAction
from weiwai.collection.schemas import ActionCreate
from weiwai.compliance import checks
from weiwai.compliance.enforcement import ContactNotAllowed
from weiwai.compliance.models import ContactReservation

pytestmark = pytest.mark.postgres_only

DAY = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def engine_pg(backend, fresh_db_url):
    from weiwai.db import make_engine

    engine = make_engine(fresh_db_url)
    yield engine
    engine.dispose()


def seed(engine, agencies: int, conversations: int):
    """One debtor with a case at each of `agencies` agencies, `conversations` conversations today already."""
    with Session(engine, expire_on_commit=False) as session:
        world = make_world(session)
        cases = [world.case]
        for _ in range(agencies - 1):
            agency = make_agency(session)
            cases.append(make_case(session, contract=make_contract(session, agency=agency),
                                   account=make_account(session, debtor=world.debtor)))
        for minute in range(conversations):
            session.add(CollectionAction(
                case_id=world.case.id, account_id=world.account.id, agency_id=world.agency.id, channel="phone",
                occurred_at=DAY - timedelta(hours=1, minutes=minute), party="debtor", outcome="right_party_contact",
                phone_bidx=world.debtor.phones[0].phone_bidx, recorded_by="seed", recorded_at=DAY))
        session.commit()
        return [(case.case_no, case.agency_id, case.id) for case in cases], world.debtor.phones[0].id


def race(engine, jobs):
    barrier = threading.Barrier(len(jobs))

    def run(job):
        with Session(engine) as session:
            barrier.wait()
            try:
                result = job(session)
                session.commit()
                return result
            except Exception as exc:  # asserted on by the test
                session.rollback()
                return exc

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def test_two_agencies_cannot_both_reserve_the_last_slot(engine_pg):
    cases, phone_id = seed(engine_pg, agencies=2, conversations=2)

    def asker(case_no, agency_id):
        def job(session):
            result = checks.check_contact(session=session, principal=service.acting_as(agency_id), case_no=case_no,
                                          channel="phone", party="debtor", phone_id=phone_id, at=DAY, reserve=True)
            return result.decision.allowed, result.reservation_token
        return job

    for _round in range(3):
        results = race(engine_pg, [asker(case_no, agency_id) for case_no, agency_id, _id in cases])
        assert not [r for r in results if isinstance(r, Exception)], results
        assert sorted(allowed for allowed, _token in results) == [False, True]
        with Session(engine_pg) as session:
            tokens = [token for _allowed, token in results if token]
            session.query(ContactReservation).filter(ContactReservation.token.in_(tokens)).update(
                {"released_at": DAY}, synchronize_session=False)
            session.commit()


def test_concurrent_actions_of_two_agencies_do_not_exceed_the_daily_limit(engine_pg):
    cases, phone_id = seed(engine_pg, agencies=4, conversations=1)

    def logger(case_id, agency_id):
        def job(session):
            data = ActionCreate(channel="phone", occurred_at=DAY, party="debtor", outcome="right_party_contact",
                                phone_id=phone_id, line_ref="LINE-1")
            return service.record_action(session=session, case_id=case_id, data=data, actor="t",
                                         agency_id=agency_id, at=DAY + timedelta(hours=1)).action.id
        return job

    results = race(engine_pg, [logger(case_id, agency_id) for _no, agency_id, case_id in cases])
    refused = [r for r in results if isinstance(r, ContactNotAllowed)]
    assert len(refused) == 2 and all(isinstance(r, int) for r in results if r not in refused), results
    with Session(engine_pg) as session:
        assert session.scalar(select(func.count()).select_from(CollectionAction)) == 3
