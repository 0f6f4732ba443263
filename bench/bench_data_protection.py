"""Data protection at portfolio scale (issue 6), on PostgreSQL.

Builds a demo book of N accounts (the lender's import path), places it with the demo's
agencies (no handover yet), then times, each on the same database:

  package    the largest agency's first handover package: rows read, personal data
             decrypted and masked per the contract, number references created, canaries
             planted, XLSX + CSV + manifest written, the release recorded
  trace      `weiwai leaks trace` on that package's CSV, and on a copy re-ordered with
             columns dropped (the canaries name agency and package)
  view       the masked debtor view an agency's collector gets (GET /cases/{no}/debtor's
             service), per case: decrypt, mask by policy, number refs, audit event
  audit      A audit events recorded (bulk), then sealed into the hash chain, then verified
  rotate     every sealed value re-encrypted under a new key (`weiwai keys rotate`)

    .venv/bin/python bench/bench_data_protection.py --accounts 50000 --audit-events 500000
    WEIWAI_BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres  (default)

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import base64
import csv
import os
import random
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ADMIN_URL = os.environ.get("WEIWAI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
KEYS = {"b1": base64.b64encode(b"1" * 32).decode(), "b2": base64.b64encode(b"2" * 32).decode()}


def _environment(url: str, work: Path, active: str = "b1") -> None:
    os.environ.update({
        "WEIWAI_DATABASE_URL": url,
        "WEIWAI_DEMO_MODE": "true",  # the demo's users; keys are the benchmark's own
        "WEIWAI_DEMO_KEY_FILE": str(work / "demo-keys.json"),
        "WEIWAI_DATA_KEYS": ",".join(f"{kid}:{key}" for kid, key in KEYS.items()),
        "WEIWAI_ACTIVE_KEY_ID": active,
        "WEIWAI_BLIND_INDEX_KEY": "bench-blind-index-key-0123456789abcdef",
        "WEIWAI_SECRET_KEY": "bench-session-secret-0123456789abcdef",
        "WEIWAI_COMPLIANCE_ENFORCEMENT": "record",
    })
    from weiwai.config import reset_settings
    from weiwai.security.crypto import reset_keyring

    reset_settings()
    reset_keyring()


@contextmanager
def timed(label: str, results: dict[str, float]):
    start = time.perf_counter()
    yield
    results[label] = time.perf_counter() - start
    print(f"  {label:<34} {results[label]:9.2f} s", flush=True)


def _create_database() -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"weiwai_bench_dp_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def build_book(*, accounts: int, work: Path, results: dict[str, float]) -> None:
    from weiwai.clock import today_local
    from weiwai.db import session_scope
    from weiwai.demo import cycle
    from weiwai.demo.seed import seed_demo

    day = today_local()
    cycle._hand_over = lambda **_kwargs: None  # the benchmark times the first package itself
    with timed(f"build: seed {accounts} accounts", results), session_scope() as session:
        seed_demo(session=session, accounts=accounts, seed=11, as_of=day)
    with timed("build: place the book", results), session_scope() as session:
        cycle.run_cycle(session=session, today=day, days=0, seed=11, work_dir=work / "cycle")


def largest_contract() -> tuple[str, int]:
    from sqlalchemy import func, select

    from weiwai.agencies.models import Contract
    from weiwai.db import session_scope
    from weiwai.placements.models import OPEN_CASE_STATUSES, Case

    with session_scope() as session:
        contract_id, count = session.execute(
            select(Case.contract_id, func.count()).where(Case.status.in_([str(s) for s in OPEN_CASE_STATUSES]))
            .group_by(Case.contract_id).order_by(func.count().desc()).limit(1)
        ).one()
        return session.get(Contract, contract_id).contract_no, count


def bench_package(*, work: Path, results: dict[str, float]) -> Path:
    from weiwai.db import session_scope
    from weiwai.handover.package import file_names
    from weiwai.handover.service import create_package

    contract_no, cases = largest_contract()
    with timed(f"package: {cases} cases", results), session_scope() as session:
        package = create_package(session=session, contract_no=contract_no, out_dir=work / "packages",
                                 actor="bench")
        package_no, canaries, directory = package.package_no, package.canary_count, Path(package.directory)
    results["package_rows"] = cases
    print(f"  {'':<34} {cases / results[f'package: {cases} cases']:9.0f} rows/s, {canaries} canaries")
    return directory / file_names(package_no)[1]


def _reshuffled(source: Path, target: Path) -> Path:
    """The leaked file as a thief might pass it on: rows shuffled, half the columns gone, renamed."""
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    random.Random(5).shuffle(body)
    keep = [index for index in range(len(header)) if index % 2 == 0]
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"col{index}" for index in keep])
        writer.writerows([[row[index] for index in keep] for row in body])
    return target


def bench_trace(*, csv_path: Path, work: Path, results: dict[str, float]) -> None:
    from weiwai.db import session_scope
    from weiwai.privacy.leaks import trace_file

    for label, path in (("trace: the package CSV", csv_path),
                        ("trace: shuffled, half the columns", _reshuffled(csv_path, work / "leaked.csv"))):
        with timed(label, results), session_scope() as session:
            result = trace_file(session=session, path=path, actor="bench")
        best = result.packages[0] if result.packages else None
        print(f"  {'':<34} -> {best.package_no if best else 'nothing'} ({best.agency_code if best else ''}), "
              f"{len(result.packages)} package(s) named")


def bench_view(*, cases: int, results: dict[str, float]) -> None:
    from sqlalchemy import select

    from weiwai.db import session_scope
    from weiwai.placements.models import OPEN_CASE_STATUSES, Case
    from weiwai.portfolio.number_refs import case_debtor
    from weiwai.security.models import Role, User
    from weiwai.web.deps import Principal

    with session_scope() as session:
        collector = session.scalars(select(User).where(User.role == Role.collector)).first()
        case_nos = session.scalars(select(Case.case_no).where(
            Case.agency_id == collector.agency_id, Case.status.in_([str(s) for s in OPEN_CASE_STATUSES])
        ).limit(cases)).all()
        # The collector's manager: a collector reaches only the cases assigned to them.
        manager = session.scalars(select(User).where(User.role == Role.agency_manager,
                                                     User.agency_id == collector.agency_id)).first()
        principal = Principal(user_id=manager.id, username=manager.username, role=Role(manager.role),
                              agency_id=manager.agency_id)
    label = f"view: {len(case_nos)} masked debtor views"
    with timed(label, results):
        for case_no in case_nos:  # one transaction each, as the API does
            with session_scope() as session:
                case_debtor(session=session, principal=principal, case_no=case_no)
    print(f"  {'':<34} {len(case_nos) / results[label]:9.0f} views/s")


def bench_audit(*, events: int, results: dict[str, float]) -> None:
    from sqlalchemy import insert

    from weiwai.db import session_scope
    from weiwai.security import audit_chain
    from weiwai.security.models import AuditEvent

    batch = 10_000
    with timed(f"audit: record {events} events", results):
        for start in range(0, events, batch):
            with session_scope() as session:
                session.execute(insert(AuditEvent), [
                    {"actor": f"user:bench{i % 50}", "action": "debtor.view", "entity": "case",
                     "entity_id": f"C{i:09d}", "details": {"case_no": f"C{i:09d}", "n": i}}
                    for i in range(start, min(start + batch, events))
                ])
    with timed("audit: seal the chain", results), session_scope() as session:
        sealed = audit_chain.seal(session=session)
    print(f"  {'':<34} {sealed / results['audit: seal the chain']:9.0f} events/s sealed ({sealed})")
    with timed("audit: verify the chain", results), session_scope() as session:
        report = audit_chain.verify(session=session)
    print(f"  {'':<34} {report.checked / results['audit: verify the chain']:9.0f} events/s verified "
          f"(ok={report.ok})")


def bench_rotate(*, url: str, work: Path, results: dict[str, float]) -> None:
    from weiwai.db import new_session, reset_engine
    from weiwai.security import keys

    _environment(url, work, active="b2")
    reset_engine()
    with timed("rotate: every sealed value to b2", results):
        report = keys.rotate(session_factory=new_session, batch_size=2000)
    values = sum(column.examined for column in report.columns.values())
    print(f"  {'':<34} {values / results['rotate: every sealed value to b2']:9.0f} values/s ({values} values)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--audit-events", type=int, default=500_000)
    parser.add_argument("--views", type=int, default=2_000)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args()
    url = _create_database()
    results: dict[str, float] = {}
    print(f"database {url.rsplit('/', 1)[-1]}; {args.accounts} accounts")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            _environment(url, work)
            from weiwai.migrate import upgrade

            upgrade(url)
            build_book(accounts=args.accounts, work=work, results=results)
            csv_path = bench_package(work=work, results=results)
            bench_trace(csv_path=csv_path, work=work, results=results)
            bench_view(cases=args.views, results=results)
            bench_audit(events=args.audit_events, results=results)
            bench_rotate(url=url, work=work, results=results)
    finally:
        if not args.keep:
            _drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
