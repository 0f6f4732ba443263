"""Benchmark of `weiwai import accounts` against a plain COPY of the same file.

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--sqlite-rows 100000] [--keep]

Generates (and caches under bench/out/) an overdue book of --rows accounts, creates a
fresh PostgreSQL database, migrates it, then:
  1. times a plain COPY of the file into an unindexed table with the same columns;
  2. times the import (validation, encryption, writes, commit) in a subprocess, so that
     its peak RSS is its own (the sealing workers are reported separately, from /proc);
  3. times a second import of the same file (nothing changes);
  4. times the plain COPY again (the machine is shared: two baselines show the noise);
and the same import into a fresh SQLite database with --sqlite-rows accounts.
Prints wall and CPU times, the ratio import / COPY and peak RSS. Never asserts timings.
The machine may be shared: CPU seconds (ours and the database backend's, from /proc, so
local PostgreSQL only) are printed next to wall seconds, being much less sensitive to
other load. Parallel index-build workers of PostgreSQL are not in the backend's CPU.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import resource
import secrets
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PG_ADMIN = os.environ.get("WEIWAI_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AS_OF = date(2026, 6, 30)

PLAIN_TABLE = """
CREATE TABLE plain_accounts (
    account_no text, debtor_name text, national_id text, mobile text, product text,
    original_amount numeric(18,2), principal_outstanding numeric(18,2), interest_outstanding numeric(18,2),
    fee_outstanding numeric(18,2), penalty_outstanding numeric(18,2), due_date date, credit_grade text,
    region text, contact_name text, contact_relation text, contact_phone text, address text,
    overdue_reason text, currency text, time_zone text
)
"""


def bench_environment() -> dict[str, str]:
    """Throw-away keys (the databases are created for this run and dropped after)."""
    return {
        "WEIWAI_DATA_KEYS": "bench:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "WEIWAI_ACTIVE_KEY_ID": "bench",
        "WEIWAI_BLIND_INDEX_KEY": secrets.token_urlsafe(48),
        "WEIWAI_SECRET_KEY": secrets.token_urlsafe(48),
        "WEIWAI_DEFAULT_LOCALE": "en",
    }


def accounts_file(rows: int) -> Path:
    sys.path.insert(0, str(HERE))
    from accounts_file import write_accounts_csv

    path = OUT / f"accounts_{rows}.csv"
    if not path.exists():
        started = time.perf_counter()
        write_accounts_csv(path, rows, as_of=AS_OF - timedelta(days=1))
        print(f"generated {path.name} in {time.perf_counter() - started:.1f} s")
    return path


def pg_url(database: str, driver: str = "postgresql") -> str:
    base = PG_ADMIN.rsplit("/", 1)[0]
    return f"{base}/{database}".replace("postgresql://", f"{driver}://", 1)


def create_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cpu_seconds_of(pid: int) -> float:
    """CPU time (user + system) a local process has used so far; 0 when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def plain_copy(database: str, path: Path) -> dict:
    """COPY of the file into a fresh unindexed table with the same columns: wall and CPU seconds."""
    import psycopg

    with psycopg.connect(pg_url(database)) as conn:
        conn.execute("DROP TABLE IF EXISTS plain_accounts")
        conn.execute(PLAIN_TABLE)
        conn.commit()
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        server_cpu, client_cpu = cpu_seconds_of(backend), time.process_time()
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY plain_accounts FROM STDIN (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as fh,
        ):
            while block := fh.read(1 << 20):
                copy.write(block)
        conn.commit()
        result = {
            "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - client_cpu + cpu_seconds_of(backend) - server_cpu,
        }
        conn.execute("DROP TABLE plain_accounts")
        conn.commit()
    return result


def run_import(url: str, path: Path, env: dict[str, str]) -> dict:
    """Run one import in a child process; returns what it measured about itself."""
    child = subprocess.run(
        [sys.executable, __file__, "--child", url, str(path)],
        env={**os.environ, **env, "WEIWAI_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        raise SystemExit(f"import failed:\n{child.stdout}\n{child.stderr}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def child(url: str, path: Path) -> None:
    """The measured import (runs in its own process)."""
    from weiwai.db import session_scope
    from weiwai.portfolio.importing import import_accounts

    stages: list[tuple[str, float]] = []
    started = time.perf_counter()
    cpu = time.process_time()

    def progress(stage: str, done: int, total: int | None) -> None:
        if not stages or stages[-1][0] != stage:
            stages.append((stage, time.perf_counter() - started))

    workers = WorkerWatch()
    with session_scope() as session:
        backend = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar() if "postgres" in url else 0
        server_cpu = cpu_seconds_of(backend) if backend else 0.0
        report = import_accounts(session=session, path=path, actor="bench", as_of=AS_OF, progress=progress)
        server_cpu = cpu_seconds_of(backend) - server_cpu if backend else 0.0
    seconds = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": time.process_time() - cpu,
                "workers_cpu_seconds": children.ru_utime + children.ru_stime,
                "server_cpu_seconds": server_cpu,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "workers_peak_rss_mb": workers.stop(),
                "created": report.created,
                "unchanged": report.unchanged,
                "stages": [(name, round(at, 1)) for name, at in stages],
            }
        )
    )


class WorkerWatch:
    """Peak RSS of the import's worker processes, from /proc (VmHWM), sampled while they live.

    getrusage(RUSAGE_CHILDREN) would report the parent's size instead: a spawned child is
    forked before it execs, and counts the parent's pages for that instant.
    """

    def __init__(self) -> None:
        import threading

        self.peak_kb = 0
        self._running = True
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        me = os.getpid()
        while self._running:
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    text = status.read_text()
                except OSError:
                    continue
                if f"\nPPid:\t{me}\n" in text and "VmHWM" in text:
                    self.peak_kb = max(self.peak_kb, int(text.split("VmHWM:")[1].split()[0]))
            time.sleep(0.5)

    def stop(self) -> float:
        self._running = False
        self._thread.join()
        return self.peak_kb / 1024


def total_cpu(result: dict) -> float:
    return result["cpu_seconds"] + result["workers_cpu_seconds"] + result["server_cpu_seconds"]


def describe(label: str, result: dict) -> None:
    print(
        f"{label}: {result['seconds']:.1f} s wall; CPU {total_cpu(result):.1f} s = importing process "
        f"{result['cpu_seconds']:.1f} + sealing workers {result['workers_cpu_seconds']:.1f} + database backend "
        f"{result['server_cpu_seconds']:.1f}; peak RSS {result['peak_rss_mb']:.0f} MB "
        f"(each sealing worker at most {result['workers_peak_rss_mb']:.0f} MB); "
        f"created {result['created']}, unchanged {result['unchanged']}"
    )
    print("    stages (s from start): " + ", ".join(f"{name} @{at}" for name, at in result["stages"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="accounts in the PostgreSQL run (0: skip)")
    parser.add_argument("--sqlite-rows", type=int, default=100_000, help="accounts in the SQLite run (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return

    env = bench_environment()
    print(
        f"{date.today()} · {platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}"
        f" · load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    if args.rows:
        postgres_run(args.rows, env, keep=args.keep)
    if args.sqlite_rows:
        sqlite_run(args.sqlite_rows, env, keep=args.keep)
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def postgres_run(rows: int, env: dict[str, str], *, keep: bool) -> None:
    from weiwai.migrate import upgrade

    path = accounts_file(rows)
    print(f"file: {path.name}, {path.stat().st_size / 2**20:.0f} MB, {rows} accounts")
    database = f"weiwai_bench_import_{os.getpid()}"
    create_database(database)
    try:
        upgrade(pg_url(database, "postgresql+psycopg"))
        path.read_bytes()  # the same warm file cache for every contender
        copy_before = plain_copy(database, path)
        print(
            f"PostgreSQL plain COPY into an unindexed table: {copy_before['seconds']:.1f} s wall, "
            f"{copy_before['cpu_seconds']:.1f} s CPU (client + backend)"
        )
        first = run_import(pg_url(database, "postgresql+psycopg"), path, env)
        describe("PostgreSQL import, empty database", first)
        again = run_import(pg_url(database, "postgresql+psycopg"), path, env)
        describe("PostgreSQL import of the same file again", again)
        copy_after = plain_copy(database, path)
        print(f"PostgreSQL plain COPY again: {copy_after['seconds']:.1f} s wall, {copy_after['cpu_seconds']:.1f} s CPU")
        wall = min(copy_before["seconds"], copy_after["seconds"])
        cpu = min(copy_before["cpu_seconds"], copy_after["cpu_seconds"])
        print(
            f"ratio import / COPY: {first['seconds'] / wall:.1f}x wall, {total_cpu(first) / cpu:.1f}x CPU (target 3x);"
            f" re-import / COPY: {again['seconds'] / wall:.1f}x wall, {total_cpu(again) / cpu:.1f}x CPU"
        )
    finally:
        if not keep:
            drop_database(database)


def sqlite_run(rows: int, env: dict[str, str], *, keep: bool) -> None:
    from weiwai.migrate import upgrade

    path = accounts_file(rows)
    database_file = OUT / f"bench_import_{os.getpid()}.db"
    url = f"sqlite:///{database_file}"
    upgrade(url)
    try:
        describe(f"SQLite import of {rows} accounts", run_import(url, path, env))
    finally:
        if not keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{database_file}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
