"""API under load: agency systems logging collection actions with their tokens (issue 4),
and asking the pre-contact check (issue 5).

    .venv/bin/python bench/bench_api.py [--seconds 60] [--clients 64] [--workers 2]

1. Builds a PostgreSQL database of its own (`weiwai db upgrade`, then `weiwai demo`: a
   generated book, agencies, users and a simulated 45-day cycle, so there are open cases
   with real debtors and phones), issues one API token per agency holding open cases,
   and creates the baseline's table.
2. Starts the server under uvicorn with N workers (bench_api_app.py: the real app plus a
   bare endpoint doing one INSERT).
3. Runs C concurrent keep-alive clients for S seconds against
   `POST /api/v1/cases/{case_no}/actions` (Bearer token, unique Idempotency-Key, a phone
   call with no answer on one of the agency's open cases, on a recorded line, at a lawful
   time of the latest local day: every action passes the compliance check), then the same
   clients for S seconds against `POST /bench/bare` with the same body, then S seconds of
   `POST /api/v1/contact-checks` on the same cases. Each phase has a 5 s warm-up.
4. Checks afterwards that every accepted action is in the database exactly once (by its
   id and by its Idempotency-Key) and that nothing else was written.

The clients are asyncio connections with the httptools parser (the one uvicorn uses), so
the load generator costs as little CPU as possible; it shares the machine with the server
and PostgreSQL, equally in both phases. Prints its figures; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import time
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import httptools
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("WEIWAI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BENCH_ENV = {
    "WEIWAI_DATA_KEYS": "b1:" + base64.b64encode(b"b" * 32).decode(),
    "WEIWAI_ACTIVE_KEY_ID": "b1",
    "WEIWAI_BLIND_INDEX_KEY": "bench-blind-index-key-0123456789abcdef",
    "WEIWAI_SECRET_KEY": "bench-session-secret-0123456789abcdef",
    "WEIWAI_RUN_JOBS": "false",
    "WEIWAI_COOKIE_SECURE": "false",
    # The demo book comes with demo users, which exist only in demo mode; the keys above are used as given.
    "WEIWAI_DEMO_MODE": "true",
    "WEIWAI_DEMO_KEY_FILE": "/tmp/weiwai-bench-api-keys.json",
}
WARM_UP_SECONDS = 5.0
BENCH_SCOPES = {"cases.read", "actions.read", "actions.write", "compliance.check"}


# --------------------------------------------------------------------------- database


def make_database(name: str) -> str:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def weiwai_cli(env: dict, *args: str) -> None:
    subprocess.run([str(ROOT / ".venv/bin/weiwai"), *args], env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


@dataclass
class Target:
    token: str
    agency_code: str
    cases: list[tuple[str, int]]  # (case_no, phone_id)


def prepare(url: str, env: dict, accounts: int, *, reuse: bool = False) -> list[Target]:
    """Seed the demo book (unless reusing one), then one token per agency with open cases, and the bare table."""
    if not reuse:
        weiwai_cli(env, "db", "upgrade")
        started = time.perf_counter()
        weiwai_cli(env, "demo", "--accounts", str(accounts), "--out", "/tmp/weiwai-bench-api-demo")
        print(f"seeded the demo book ({accounts:,} accounts, 45-day cycle) in {time.perf_counter() - started:.0f} s")

    os.environ.update(env)
    from weiwai.config import reset_settings
    from weiwai.db import reset_engine, session_scope
    from weiwai.security.tokens import issue_token

    reset_settings()
    reset_engine()
    targets: list[Target] = []
    with session_scope() as session:
        rows = session.execute(text("""
            SELECT a.id AS agency_id, a.code, c.case_no, MIN(p.id) AS phone_id
            FROM cases c JOIN agencies a ON a.id = c.agency_id AND a.status = 'active'
            JOIN accounts ac ON ac.id = c.account_id
            JOIN debtor_phones p ON p.debtor_id = ac.debtor_id
            WHERE c.status IN ('placed', 'working', 'promised')
            GROUP BY a.id, a.code, c.case_no ORDER BY a.id, c.case_no""")).all()
        by_agency: dict[int, Target] = {}
        for row in rows:
            if row.agency_id not in by_agency:
                issued = issue_token(session=session, agency_id=row.agency_id, name="bench load", actor="bench",
                                     lifetime=timedelta(days=1), scopes=BENCH_SCOPES)
                by_agency[row.agency_id] = Target(token=issued.secret, agency_code=row.code, cases=[])
            by_agency[row.agency_id].cases.append((row.case_no, row.phone_id))
        targets = list(by_agency.values())
        session.execute(text("CREATE TABLE IF NOT EXISTS bench_bare (id bigserial PRIMARY KEY, payload text NOT NULL, "
                             "created_at timestamptz NOT NULL DEFAULT now())"))
    reset_engine()
    return targets


# --------------------------------------------------------------------------- server


def start_server(env: dict, port: int, workers: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/uvicorn"), "--factory", "bench_api_app:create", "--app-dir", str(ROOT / "bench"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
         "--log-level", "warning"],
        env=env, cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _body = asyncio.run(_one_get(port, "/healthz"))
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("the server did not come up within 60 s")


async def _one_get(port: int, path: str) -> tuple[int, bytes]:
    conn = await Connection.open(port)
    try:
        return await conn.request("GET", path, {}, b"")
    finally:
        conn.close()


# --------------------------------------------------------------------------- load


class _Response:
    def __init__(self) -> None:
        self.body = bytearray()
        self.done = False

    def on_body(self, chunk: bytes) -> None:
        self.body.extend(chunk)

    def on_message_complete(self) -> None:
        self.done = True


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        self.reader, self.writer, self.port = reader, writer, port

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, port)

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        response = _Response()
        parser = httptools.HttpResponseParser(response)
        while not response.done:
            chunk = await self.reader.read(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            parser.feed_data(chunk)
        return parser.get_status_code(), bytes(response.body)

    def close(self) -> None:
        self.writer.close()


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    accepted: dict[str, int] = field(default_factory=dict)  # idempotency key -> action id
    warm_up_accepted: dict[str, int] = field(default_factory=dict)
    allowed: int = 0  # checks answered "allowed"
    seconds: float = 0.0

    def add(self, status: int, latency: float) -> None:
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1


LOCAL = ZoneInfo("Asia/Shanghai")


def lawful_window(days_ago: int = 0) -> tuple[datetime, datetime]:
    """The latest stretch of a local day, already past, in which the CN pack allows calls.

    Actions are logged after they happen, and the compliance check judges them at the time
    they happened: outside 22:00-08:00 in the debtor's zone (the demo's debtors live in
    Asia/Shanghai). Spreading the calls over one local day also meets the per-number cap
    (6 attempts a day) when the book has enough open cases.
    """
    now = datetime.now(LOCAL)
    day = (now.date() if now.hour >= 11 else now.date() - timedelta(days=1)) - timedelta(days=days_ago)
    # 10:01 in Shanghai is 08:01 in Urumqi: lawful in every zone the demo's debtors live in.
    start = datetime.combine(day, dtime(10, 1), LOCAL)
    end = min(datetime.combine(day, dtime(21, 58), LOCAL), now - timedelta(minutes=1))
    return start.astimezone(UTC), end.astimezone(UTC)


def set_window(days_ago: int) -> None:
    global WINDOW
    WINDOW = lawful_window(days_ago)


WINDOW = lawful_window()


def action_body(phone_id: int) -> bytes:
    start, end = WINDOW
    occurred = (start + (end - start) * random.random()).isoformat()
    return json.dumps({"channel": "phone", "occurred_at": occurred, "outcome": "no_answer",
                       "phone_id": phone_id, "line_ref": "LINE-BENCH-01"}).encode()


def check_body(case_no: str, phone_id: int) -> bytes:
    start, end = WINDOW
    at = (start + (end - start) * random.random()).isoformat()
    return json.dumps({"case_no": case_no, "channel": "phone", "party": "debtor", "phone_id": phone_id,
                       "at": at, "line_ref": "LINE-BENCH-01"}).encode()


async def client(
    number: int, clients: int, port: int, targets: list[Target], phase: Phase, kind: str, until: float,
    run_id: str,
) -> None:
    target = targets[number % len(targets)]
    stride = max(1, clients // len(targets))
    position = number // len(targets)
    conn = await Connection.open(port)
    sequence = 0
    try:
        while time.perf_counter() < until:
            case_no, phone_id = target.cases[(position + sequence * stride) % len(target.cases)]
            sequence += 1
            body = action_body(phone_id)
            key = f"{run_id}-{number}-{sequence}"
            if kind == "actions":
                path = f"/api/v1/cases/{case_no}/actions"
                headers = {"Authorization": f"Bearer {target.token}", "Idempotency-Key": key,
                           "Content-Type": "application/json"}
            elif kind == "checks":
                path, body = "/api/v1/contact-checks", check_body(case_no, phone_id)
                headers = {"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"}
            else:
                path, headers = "/bench/bare", {"Content-Type": "application/json"}
            started = time.perf_counter()
            try:
                status, payload = await conn.request("POST", path, headers, body)
            except (OSError, ConnectionError) as exc:
                phase.errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = await Connection.open(port)
                continue
            phase.add(status, time.perf_counter() - started)
            if status == 201 and kind == "actions":
                phase.accepted[key] = json.loads(payload)["id"]
            elif kind == "checks" and status == 200:
                phase.allowed += json.loads(payload)["allowed"]
            elif status != 201 and len(phase.errors) < 20:
                phase.errors.append(f"{status}: {payload[:300].decode(errors='replace')}")
    finally:
        conn.close()


async def run_phase(kind: str, seconds: float, clients: int, port: int, targets: list[Target]) -> Phase:
    run_id = uuid.uuid4().hex[:8]
    warm_up = Phase(kind + " warm-up")
    warm_until = time.perf_counter() + WARM_UP_SECONDS
    await asyncio.gather(*(client(n, clients, port, targets, warm_up, kind, warm_until, run_id + "w")
                           for n in range(clients)))
    phase = Phase(kind)
    phase.warm_up_accepted = warm_up.accepted
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(client(n, clients, port, targets, phase, kind, until, run_id)
                           for n in range(clients)))
    phase.seconds = time.perf_counter() - started
    return phase


def summarise(phase: Phase) -> dict:
    ordered = sorted(phase.latencies)

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")

    ok = sum(count for status, count in phase.statuses.items() if status in (200, 201))
    return {
        "requests": len(ordered), "accepted": ok,
        "errors": len(ordered) - ok + sum(1 for e in phase.errors if not e[:3].isdigit()),
        "throughput": ok / phase.seconds if phase.seconds else 0.0,
        "p50": percentile(0.50), "p95": percentile(0.95), "p99": percentile(0.99),
        "max": ordered[-1] * 1000 if ordered else float("nan"),
        "mean": statistics.fmean(ordered) * 1000 if ordered else float("nan"),
    }


# --------------------------------------------------------------------------- checks


def verify(url: str, phase: Phase, targets: list[Target]) -> dict:
    """Every accepted action exists exactly once, under its key and its id; nothing more was written
    by this run's tokens."""
    actors = [f"token:{target.token[3:15]}" for target in targets]
    engine = create_engine(url)
    everything = {**phase.warm_up_accepted, **phase.accepted}
    keys = list(everything)
    ids = list(everything.values())
    with engine.connect() as conn:
        conn.execute(text("CREATE TEMP TABLE accepted (key text PRIMARY KEY, action_id bigint NOT NULL)"))
        for start in range(0, len(keys), 5000):
            conn.execute(text("INSERT INTO accepted VALUES (:key, :action_id)"),
                         [{"key": k, "action_id": everything[k]} for k in keys[start:start + 5000]])
        found_ids = conn.execute(text(
            "SELECT count(*) FROM collection_actions a JOIN accepted x ON x.action_id = a.id")).scalar_one()
        key_rows = conn.execute(text(
            "SELECT count(*) FROM idempotency_records r JOIN accepted x ON x.key = r.key")).scalar_one()
        written = conn.execute(text(
            "SELECT count(*) FROM collection_actions WHERE recorded_by = ANY(:actors)"), {"actors": actors}).scalar_one()
        recorded_keys = conn.execute(text(
            "SELECT count(*) FROM idempotency_records WHERE owner = ANY(:actors)"), {"actors": actors}).scalar_one()
        uses = conn.execute(text(
            "SELECT count(*) FROM api_token_uses WHERE prefix = ANY(:prefixes)"),
            {"prefixes": [actor.removeprefix("token:") for actor in actors]}).scalar_one()
    engine.dispose()
    return {"accepted": len(keys), "distinct_ids": len(set(ids)), "ids_found": found_ids, "keys_found": key_rows,
            "token_actions_in_db": written, "keys_in_db": recorded_keys, "token_uses_logged": uses}


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--accounts", type=int, default=12000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database", default="weiwai_bench_api")
    parser.add_argument("--days-ago", type=int, default=0,
                        help="Log the calls on this many days before the latest lawful day (to rerun on a reused book "
                             "without meeting the daily caps of the previous run).")
    parser.add_argument("--reuse", action="store_true",
                        help="Reuse the database a previous run seeded (its actions of the day count towards the caps).")
    args = parser.parse_args()
    set_window(args.days_ago)

    if args.reuse:
        url = make_url(ADMIN_URL).set(database=args.database).render_as_string(hide_password=False)
    else:
        url = make_database(args.database)
    env = {**os.environ, **BENCH_ENV, "WEIWAI_DATABASE_URL": url}
    targets = prepare(url, env, args.accounts, reuse=args.reuse)
    cases = sum(len(t.cases) for t in targets)
    print(f"{len(targets)} agencies with tokens, {cases:,} open cases; {args.clients} clients, "
          f"{args.workers} uvicorn workers, {args.seconds:.0f} s per phase")

    server = start_server(env, args.port, args.workers)
    try:
        actions = asyncio.run(run_phase("actions", args.seconds, args.clients, args.port, targets))
        bare = asyncio.run(run_phase("bare", args.seconds, args.clients, args.port, targets))
        checks = asyncio.run(run_phase("checks", args.seconds, args.clients, args.port, targets))
    finally:
        server.terminate()
        server.wait(timeout=30)

    rows = {"log action (token, checks, idempotency)": summarise(actions), "bare endpoint (one INSERT)": summarise(bare),
            "pre-contact check (POST /contact-checks)": summarise(checks)}
    print(f"\n{'endpoint':<42} {'requests':>9} {'errors':>7} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'p99 ms':>7} {'max ms':>7}")
    for name, s in rows.items():
        print(f"{name:<42} {s['requests']:>9,} {s['errors']:>7} {s['throughput']:>8.1f} {s['p50']:>7.1f} "
              f"{s['p95']:>7.1f} {s['p99']:>7.1f} {s['max']:>7.1f}")
    ratio = rows["log action (token, checks, idempotency)"]["throughput"] / rows["bare endpoint (one INSERT)"]["throughput"]
    print(f"\nthroughput ratio actions / bare: {ratio:.1%}  (target >= 50 %)")
    print(f"pre-contact checks answered 'allowed': {checks.allowed:,} of {sum(checks.statuses.values()):,}")
    for phase in (actions, bare, checks):
        if phase.errors:
            print(f"{phase.name}: first errors: {phase.errors[:5]}")
    check = verify(url, actions, targets)
    print("exactly-once check:", json.dumps(check))
    exact = check["accepted"] > 0 and (check["accepted"] == check["distinct_ids"] == check["ids_found"] == check["keys_found"]
             == check["token_actions_in_db"] == check["keys_in_db"])
    print("every accepted action present exactly once:", "yes" if exact else "NO")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
