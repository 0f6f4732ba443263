"""The machinery behind large imports: bulk-load mode, worker processes, optimistic checks."""

from datetime import date

import polars as pl
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from weiwai.errors import Conflict
from weiwai.i18n import using_locale
from weiwai.portfolio import personal_data
from weiwai.portfolio.identity import national_id_check_char
from weiwai.portfolio.importing import accounts as accounts_module
from weiwai.portfolio.importing import bulk_load, import_accounts, sealing
from weiwai.portfolio.importing.writers import Store
from weiwai.portfolio.models import Account, Debtor, DebtorContact, DebtorPhone

HEADER = (
    "account_no,debtor_name,national_id,mobile,product,original_amount,principal_outstanding,"
    "interest_outstanding,fee_outstanding,penalty_outstanding,due_date,credit_grade,region,"
    "contact_name,contact_relation,contact_phone,address"
)


@pytest.fixture(autouse=True)
def english():
    with using_locale("en"):
        yield


def national_id(serial: int) -> str:
    first17 = f"32010219770707{serial:03d}"
    return first17 + national_id_check_char(first17)


def book(tmp_path, count: int, name="book.csv"):
    lines = [HEADER] + [
        f"B{i:04d},客户{i},{national_id(i)},1390000{i:04d},车贷,9000,{1000 + i},10,0,0,2026-04-01,C,江苏,"
        f"联系人{i},朋友,1370000{i:04d},南京市玄武区{i}号"
        for i in range(count)
    ]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def schema_snapshot(session) -> set[tuple]:
    indexes = session.execute(
        text("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")
    ).all()
    constraints = session.execute(
        text(
            "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid), k.convalidated FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema()"
        )
    ).all()
    return {tuple(row) for row in indexes} | {tuple(row) for row in constraints}


@pytest.mark.postgres_only  # bulk-load mode is for PostgreSQL
def test_bulk_load_rebuilds_every_index_and_constraint(session, backend, tmp_path, monkeypatch):
    monkeypatch.setattr(bulk_load, "BULK_LOAD_MIN_ROWS", 1)
    before = schema_snapshot(session)
    stages = []
    report = import_accounts(
        session=session,
        path=book(tmp_path, 30),
        actor="tester",
        as_of=date(2026, 6, 30),
        progress=lambda stage, done, total: stages.append(stage),
    )
    assert "Rebuilding indexes" in stages
    assert report.created == 30
    assert schema_snapshot(session) == before
    assert session.scalar(select(func.count()).select_from(DebtorPhone)) == 30
    # The rebuilt unique constraints hold: a second import of the same rows is a no-op, and
    # a duplicate blind index is refused by the database itself.
    assert (
        import_accounts(session=session, path=book(tmp_path, 30), actor="tester", as_of=date(2026, 6, 30)).unchanged
        == 30
    )
    existing = session.scalars(select(Debtor)).first()
    with pytest.raises(IntegrityError, match="uq_debtors_national_id_bidx"), session.begin_nested():
        session.add(
            Debtor(
                name="x", national_id_enc=b"x", national_id_bidx=existing.national_id_bidx, region="x", credit_grade="x"
            )
        )
        session.flush()


@pytest.mark.postgres_only  # bulk-load mode is for PostgreSQL
def test_a_failed_bulk_load_leaves_schema_and_tables_as_they_were(session, backend, tmp_path, monkeypatch):
    monkeypatch.setattr(bulk_load, "BULK_LOAD_MIN_ROWS", 1)
    before = schema_snapshot(session)

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(accounts_module, "_write_accounts", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        import_accounts(session=session, path=book(tmp_path, 5), actor="tester", as_of=date(2026, 6, 30))
    assert schema_snapshot(session) == before
    assert session.scalar(select(func.count()).select_from(Debtor)) == 0


def test_a_failure_while_writing_leaves_nothing_half_written(session, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(accounts_module, "_write_contacts", fail)
    with pytest.raises(RuntimeError):
        import_accounts(session=session, path=book(tmp_path, 5), actor="tester", as_of=date(2026, 6, 30))
    assert session.scalar(select(func.count()).select_from(Debtor)) == 0
    assert session.scalar(select(func.count()).select_from(DebtorPhone)) == 0


def test_worker_processes_seal_like_the_importing_process(session, tmp_path, monkeypatch):
    monkeypatch.setattr(sealing, "POOL_MIN_ROWS", 1)
    monkeypatch.setattr(sealing, "CHUNK_VALUES", 3)
    report = import_accounts(session=session, path=book(tmp_path, 8), actor="tester", as_of=date(2026, 6, 30))
    assert report.created == 8
    for debtor in session.scalars(select(Debtor).order_by(Debtor.id)):
        serial = int(debtor.name.removeprefix("客户"))
        assert personal_data.open_value(debtor.national_id_enc, personal_data.NATIONAL_ID, reveal=True) == national_id(
            serial
        )
        assert debtor.national_id_bidx == personal_data.national_id_index(national_id(serial))
        assert (
            personal_data.open_value(debtor.address_enc, personal_data.ADDRESS, reveal=True)
            == f"南京市玄武区{serial}号"
        )
        [phone] = debtor.phones
        assert phone.phone_bidx == personal_data.phone_index(f"1390000{serial:04d}")
        [contact] = session.scalars(select(DebtorContact).where(DebtorContact.debtor_id == debtor.id)).all()
        assert (
            personal_data.open_value(contact.phone_enc, personal_data.CONTACT_PHONE, reveal=True)
            == f"1370000{serial:04d}"
        )


def test_sealer_in_process_and_in_workers_agree(monkeypatch):
    monkeypatch.setattr(sealing, "CHUNK_VALUES", 2)
    values = pl.Series("v", ["13800000000", None, "13800000001", "13800000002", "13800000003"])
    with sealing.Sealer(rows=0) as local, sealing.Sealer(rows=sealing.POOL_MIN_ROWS) as pooled:
        assert local.phone_indexes(values).to_list() == pooled.phone_indexes(values).to_list()
        sealed = pooled.sealed(values, personal_data.DEBTOR_PHONE)
        opened = [
            None if v is None else personal_data.open_value(v, personal_data.DEBTOR_PHONE, reveal=True)
            for v in sealed.to_list()
        ]
        assert opened == values.to_list()


def test_an_account_changed_meanwhile_is_a_conflict(session, tmp_path):
    import_accounts(session=session, path=book(tmp_path, 2), actor="tester", as_of=date(2026, 6, 30))
    stored = session.scalars(select(Account).order_by(Account.id)).all()
    store = Store.for_session(session)
    stale = pl.DataFrame({"id": [stored[0].id, stored[1].id], "version": [1, 7], "product": ["x", "y"]})
    with pytest.raises(Conflict), store.savepoint():
        store.update(Account.__table__, stale, versioned=True)
    session.expire_all()
    assert [a.product for a in session.scalars(select(Account).order_by(Account.id))] == ["车贷", "车贷"]


@pytest.mark.postgres_only  # sequences are PostgreSQL's
def test_ids_drawn_while_another_session_draws_are_fetched_one_by_one(session, backend, monkeypatch):
    store = Store.for_session(session)
    real_rows = store.rows
    monkeypatch.setattr(
        store, "rows", lambda sql, params=None: [(1, 100)] if "min(id)" in sql else real_rows(sql, params)
    )
    ids = store.next_ids(Debtor.__table__, 3)
    assert ids.len() == 3 and ids.n_unique() == 3
    assert ids.min() > 0


@pytest.mark.postgres_only  # bulk-load mode is for PostgreSQL
def test_a_busy_portfolio_refuses_bulk_load_instead_of_waiting(session, backend, engine, tmp_path, monkeypatch):
    monkeypatch.setattr(bulk_load, "BULK_LOAD_MIN_ROWS", 1)
    monkeypatch.setattr(bulk_load, "LOCK_TIMEOUT", "200ms")
    with engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM accounts"))  # holds a lock until its transaction ends
        with pytest.raises(Conflict):
            import_accounts(session=session, path=book(tmp_path, 3), actor="tester", as_of=date(2026, 6, 30))
        reader.rollback()
    assert session.scalar(select(func.count()).select_from(Debtor)) == 0
    assert session.execute(text("SHOW lock_timeout")).scalar() == "0"
