"""A raw dump of the database holds no debtor's national ID, phone number or address in clear.

The book is the demo's: generated files imported through the lender's import path, then a
short outsourcing cycle (placement, handover packages, actions, payments, recalls), a
reveal and a package of masked and full fields. Then every byte the database keeps is
searched for every value of the files: the SQLite file (after a checkpoint, WAL
included) and a plain `pg_dump` of the PostgreSQL database.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from weiwai.clock import today_local
from weiwai.demo.cycle import run_cycle
from weiwai.demo.seed import seed_demo
from weiwai.portfolio.models import Debtor
from weiwai.portfolio.service import get_debtor

ACCOUNTS = 150
# Personal data the lender keeps only sealed (PIPL art. 28: sensitive personal information).
SEALED_COLUMNS = ("national_id", "mobile", "contact_phone", "address")
# Kept in clear on purpose (the agency's case list needs them): the search's positive control.
CLEAR_COLUMNS = ("account_no",)


def _plaintexts(accounts_csv: Path) -> dict[str, set[str]]:
    values: dict[str, set[str]] = {column: set() for column in SEALED_COLUMNS + CLEAR_COLUMNS}
    with accounts_csv.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            for column in SEALED_COLUMNS + CLEAR_COLUMNS:
                if row[column]:
                    values[column].add(row[column])
    return values


def _build_book(url: str, work: Path) -> dict[str, set[str]]:
    engine = create_engine(url)
    day = today_local()
    files = work / "files"
    with Session(engine) as session, session.begin():
        seed_demo(session=session, accounts=ACCOUNTS, seed=7, as_of=day, files_dir=files,
                  payments_until=day - timedelta(days=9))
        run_cycle(session=session, today=day, days=8, seed=7, work_dir=work / "cycle")
        debtor_id = session.scalars(select(Debtor.id).order_by(Debtor.id)).first()
        revealed = get_debtor(session=session, debtor_id=debtor_id, reveal=True, actor="dump-test",
                              reason="raw dump test: a reveal must not leave clear text behind")
        assert revealed.revealed
    engine.dispose()
    return _plaintexts(files / "accounts.csv")


def _sqlite_bytes(url: str) -> bytes:
    engine = create_engine(url)
    with engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    path = Path(make_url(url).database)
    blobs = [path.read_bytes()]
    for suffix in ("-wal", "-journal"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            blobs.append(extra.read_bytes())
    return b"\n".join(blobs)


def _pg_dump_bytes(url: str) -> bytes:
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is not installed; the PostgreSQL dump cannot be checked")
    parsed = make_url(url)
    result = subprocess.run(
        ["pg_dump", "--no-owner", "--format=plain", "-h", parsed.host or "127.0.0.1", "-p",
         str(parsed.port or 5432), "-U", parsed.username or "postgres", parsed.database],
        capture_output=True, check=True, timeout=300,
    )
    return result.stdout


def test_no_plaintext_personal_data_in_a_raw_dump(backend, fresh_db_url, demo_mode, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # handover packages of the cycle are written under the work dir
    plaintexts = _build_book(fresh_db_url, tmp_path)
    assert all(len(values) > 20 for values in plaintexts.values()), plaintexts.keys()

    dump = _sqlite_bytes(fresh_db_url) if backend == "sqlite" else _pg_dump_bytes(fresh_db_url)
    # The search sees what is kept in clear: every account number is in the dump.
    assert all(value.encode("utf-8") in dump for value in plaintexts.pop("account_no"))

    found = {
        column: sorted(value for value in values if value.encode("utf-8") in dump)
        for column, values in plaintexts.items()
    }
    assert found == {column: [] for column in SEALED_COLUMNS}, (
        f"clear-text personal data in the {backend} dump: "
        + "; ".join(f"{column}: {len(values)} e.g. {values[:2]}" for column, values in found.items() if values)
    )
