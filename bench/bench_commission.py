"""Month-end commission on N payments, next to a plain SQL GROUP BY of the same rows.

Builds its own PostgreSQL database with generate_series (agencies, contracts, batches,
cases, N payments and their attributions; a few cases closed paid in full for fixed
fees), then, each in a child process of its own:

  baseline  SELECT agency, bucket, SUM(attributed) … GROUP BY agency, bucket
  bare      the same rows written into a scratch table without indexes or foreign keys
            (what writing the rows costs before the ledger's integrity)
  compute   weiwai.settlement.ledger.compute_commission(period) + commit, timed per statement
  rerun     the same again: every entry exists, nothing is written

and prints the wall times, compute ÷ baseline, where compute spent its time, and each
child's peak RSS (os.wait4). The baseline runs once untimed first so that the timed
runs see a warm cache.

    .venv/bin/python bench/bench_commission.py --payments 2000000
    WEIWAI_BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres  (default)

Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import time
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get("WEIWAI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PERIOD = "2024-01"
BENCH_ENV = {
    "WEIWAI_DATA_KEYS": "b1:" + base64.b64encode(b"b" * 32).decode(),
    "WEIWAI_ACTIVE_KEY_ID": "b1",
    "WEIWAI_BLIND_INDEX_KEY": "bench-blind-index-key-0123456789abcdef",
    "WEIWAI_SECRET_KEY": "bench-session-secret-0123456789abcdef",
}

BASELINE_SQL = """
SELECT a.agency_id, c.bucket, SUM(a.amount)
FROM payments p
JOIN payment_attributions a ON a.payment_id = p.id
JOIN cases c ON c.id = a.case_id
WHERE p.paid_at >= :start AND p.paid_at < :end AND a.kind IN ('case', 'grace')
GROUP BY a.agency_id, c.bucket
"""

BARE_SQL = """
CREATE TEMPORARY TABLE bare_entries (LIKE commission_entries INCLUDING DEFAULTS);
INSERT INTO bare_entries (agency_id, contract_id, case_id, payment_id, kind, source_key, period, base_amount, rate,
                          amount, created_at)
SELECT c.agency_id, c.contract_id, c.id, p.id, 'commission', 'commission:payment:' || p.id, '2024-01', a.amount,
       0.15, round(a.amount * 0.15, 2), now()
FROM payments p
JOIN payment_attributions a ON a.payment_id = p.id
JOIN cases c ON c.id = a.case_id
WHERE p.paid_at >= :start AND p.paid_at < :end AND a.kind IN ('case', 'grace')
"""
# How the compute child labels the statements it times (by how they begin).
PHASES = (
    ("SELECT cases.batch_id, cases.agency_id, sum(payment_attributions", "cohort recovery rates"),
    ("CREATE TEMPORARY TABLE commission_charged", "already charged (scratch)"),
    ("WITH written", "commission entries INSERT … SELECT"),
    ("SELECT cases.id, cases.agency_id", "fixed-fee cases"),
    ("INSERT INTO commission_entries", "fixed-fee entries"),
)

# Data, built in SQL. :agencies, :batches, :accounts, :payments are bound.
BUILD = [
    """INSERT INTO agencies (id, code, legal_name, uscc, regions_served, capacity_cases, capacity_balance, status,
                             version, created_at, updated_at)
       SELECT g, 'BA' || g, '基准催收' || g, lpad(g::text, 18, '9'), '["浙江"]', 1000000, 1e10, 'active', 1,
              now(), now()
       FROM generate_series(1, :agencies) g""",
    """INSERT INTO contracts (id, contract_no, agency_id, status, starts_on, ends_on, signed_on,
                              confidentiality_signed_on, fee_schedule, permitted_channels, permitted_buckets,
                              permitted_regions, placement_days, post_recall_grace_days, retention_days,
                              reporting_cadence, entrustment_purpose, entrustment_duration,
                              entrustment_processing_method, entrustment_data_categories,
                              entrustment_protection_measures, handover_fields, version, created_at, updated_at)
       SELECT g, 'BC' || g, g, 'active', '2023-01-01', '2026-12-31', '2023-01-01', '2023-01-01',
              json_build_object('currency', 'CNY',
                  'rates_by_bucket', json_build_object('M1', 0.08 + g * 0.001, 'M2', 0.12, 'M3', 0.16, 'M4', 0.2,
                                                       'M5', 0.24, 'M6', 0.28, 'M7+', 0.32),
                  'recovery_tiers', json_build_array(json_build_object('min_recovery_rate', 0.05, 'bonus_rate', 0.01),
                                                     json_build_object('min_recovery_rate', 0.2, 'bonus_rate', 0.03)),
                  'fixed_fee_per_closed_case', 30),
              '["phone"]', '["M1","M2","M3","M4","M5","M6","M7+"]', '[]', 90, 7, 30, 'weekly',
              'bench', 'bench', 'bench', '["name"]', 'bench', '{}', 1, now(), now()
       FROM generate_series(1, :agencies) g""",
    """INSERT INTO screening_rule_sets (id, name, version, rules, sha256, created_by, created_at)
       VALUES (1, 'bench', 1, '{}', repeat('0', 64), 'bench', now())""",
    """INSERT INTO placement_batches (id, batch_no, status, rule_set_id, strategy, as_of, summary, created_by,
                                      created_at)
       SELECT g, 'BB' || g, 'active', 1, '{}', '2023-12-01', '{}', 'bench', now()
       FROM generate_series(1, :batches) g""",
    """INSERT INTO debtors (id, name, national_id_enc, national_id_bidx, region, time_zone, credit_grade, deceased,
                            bankrupt, in_litigation, disputed, cease_contact, vulnerable, created_at, updated_at)
       SELECT g, '基准', '\\x00'::bytea, md5(g::text), '浙江', 'Asia/Shanghai', 'C', false, false, false, false,
              false, false, now(), now()
       FROM generate_series(1, :accounts) g""",
    # Every twentieth account is paid off (its case closes paid in full in January).
    """INSERT INTO accounts (id, account_no, debtor_id, product, currency, original_amount, principal_outstanding,
                             interest_outstanding, fee_outstanding, penalty_outstanding, due_date, status,
                             credit_balance, version, created_at, updated_at)
       SELECT g, 'BA' || lpad(g::text, 10, '0'), g, 'cash_loan', 'CNY', 8000,
              CASE WHEN g % 20 = 0 THEN 0 ELSE 5000 END, 0, 0, 0, '2023-09-01',
              CASE WHEN g % 20 = 0 THEN 'paid_off' ELSE 'open' END, 0, 1, now(), now()
       FROM generate_series(1, :accounts) g""",
    """INSERT INTO cases (id, case_no, batch_id, account_id, agency_id, contract_id, status, bucket, dpd,
                          balance_band, region, credit_grade, balance_placed, principal_placed, placed_at,
                          period_ends_on, extended_count, ended_at, close_reason, version)
       SELECT g, 'BK' || lpad(g::text, 10, '0'), g % :batches + 1, g, g % :agencies + 1, g % :agencies + 1,
              CASE WHEN g % 20 = 0 THEN 'closed' ELSE 'working' END,
              (ARRAY['M1','M2','M3','M4','M5','M6','M7+'])[g % 7 + 1], 45, '5k-10k', '浙江', 'C', 8000, 8000,
              '2023-12-01T00:00:00+08', '2024-03-31', 0,
              CASE WHEN g % 20 = 0 THEN timestamptz '2024-01-20T12:00:00+08' END,
              CASE WHEN g % 20 = 0 THEN 'paid_in_full' END, 1
       FROM generate_series(1, :accounts) g""",
    """INSERT INTO case_status_changes (case_id, from_status, to_status, reason, changed_by, changed_at)
       SELECT g, 'paid', 'closed', 'bench', 'bench', '2024-01-20T12:00:00+08'
       FROM generate_series(20, :accounts, 20) g""",
    # N payments spread over January (local time); one in twenty is the lender's own (direct).
    """INSERT INTO payments (id, txn_id, account_id, amount, paid_at, channel, status, applied_fee, applied_penalty,
                             applied_interest, applied_principal, applied_credit, imported_at)
       SELECT g, 'BT' || lpad(g::text, 12, '0'), g % :accounts + 1, 20 + (g % 997) + (g % 100) / 100.0,
              timestamptz '2024-01-01T00:00:00+08' + (g::bigint * 2678399 / :payments) * interval '1 second',
              'bank', 'posted',
              0, 0, 0, 20 + (g % 997) + (g % 100) / 100.0, 0, now()
       FROM generate_series(1, :payments) g""",
    """INSERT INTO payment_attributions (payment_id, kind, case_id, agency_id, amount, attributed_at)
       SELECT p.id, CASE WHEN p.id % 20 = 7 THEN 'direct' ELSE 'case' END,
              CASE WHEN p.id % 20 = 7 THEN NULL ELSE c.id END, CASE WHEN p.id % 20 = 7 THEN NULL ELSE c.agency_id END,
              p.amount, now()
       FROM payments p JOIN cases c ON c.account_id = p.account_id""",
]
SEQUENCES = ["agencies", "contracts", "placement_batches", "debtors", "accounts", "cases", "payments"]


def _create_database() -> str:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"weiwai_bench_commission_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def build(url: str, *, payments: int, accounts: int, agencies: int, batches: int) -> float:
    from weiwai.migrate import upgrade

    upgrade(url)
    started = time.perf_counter()
    engine = create_engine(url)
    params = {"payments": payments, "accounts": accounts, "agencies": agencies, "batches": batches}
    with engine.begin() as conn:
        for statement in BUILD:
            names = [name for name in params if f":{name}" in statement]
            conn.execute(text(statement), {name: params[name] for name in names})
        for table in SEQUENCES:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


# --- children ---------------------------------------------------------------------------


def child_baseline(url: str) -> dict:
    from weiwai.settlement.periods import period_bounds

    start, end = period_bounds(PERIOD)
    engine = create_engine(url)
    with engine.connect() as conn:
        began = time.perf_counter()
        rows = conn.execute(text(BASELINE_SQL), {"start": start, "end": end}).all()
        seconds = time.perf_counter() - began
    engine.dispose()
    return {"seconds": seconds, "groups": len(rows), "recovered": str(sum(row[2] for row in rows))}


def child_bare(url: str) -> dict:
    from weiwai.settlement.periods import period_bounds

    start, end = period_bounds(PERIOD)
    engine = create_engine(url)
    with engine.begin() as conn:
        create, insert = BARE_SQL.strip().split(";\n", 1)
        conn.execute(text(create))
        began = time.perf_counter()
        rows = conn.execute(text(insert), {"start": start, "end": end}).rowcount
        seconds = time.perf_counter() - began
    engine.dispose()
    return {"seconds": seconds, "rows": rows}


def child_compute(url: str) -> dict:
    from collections import defaultdict

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from weiwai.db import session_scope
    from weiwai.settlement.ledger import compute_commission

    phases: dict[str, float] = defaultdict(float)

    @event.listens_for(Engine, "before_cursor_execute")
    def _started(conn, _cursor, _statement, _parameters, _context, _executemany):
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(Engine, "after_cursor_execute")
    def _finished(conn, _cursor, statement, _parameters, _context, _executemany):
        label = next((name for prefix, name in PHASES if statement.lstrip().startswith(prefix)), "other statements")
        phases[label] += time.perf_counter() - conn.info["bench_started"]

    began = time.perf_counter()
    with session_scope() as session:
        run = compute_commission(session=session, period=PERIOD)
        committing = time.perf_counter()
    phases["commit"] = time.perf_counter() - committing
    return {"seconds": time.perf_counter() - began, "phases": dict(phases), **run.as_dict()}


def _run_child(kind: str, url: str) -> tuple[dict, int]:
    """Run one measurement in a fresh interpreter; returns its result and peak RSS (KiB)."""
    env = {**os.environ, **BENCH_ENV, "WEIWAI_DATABASE_URL": url}
    process = subprocess.Popen([sys.executable, __file__, "--child", kind, "--url", url], env=env,
                               stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{kind} child failed with exit code {process.returncode}")
    return json.loads(output), usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=2_000_000)
    parser.add_argument("--accounts", type=int, default=None, help="default: payments ÷ 5")
    parser.add_argument("--agencies", type=int, default=10)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--child", choices=["baseline", "bare", "compute"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child = {"baseline": child_baseline, "bare": child_bare, "compute": child_compute}[args.child]
        result = child(args.url)
        print(json.dumps(result))
        return

    accounts = args.accounts or max(1, args.payments // 5)
    url = _create_database()
    try:
        built = build(url, payments=args.payments, accounts=accounts, agencies=args.agencies, batches=args.batches)
        print(f"data: {args.payments:,} payments, {accounts:,} accounts/cases, {args.agencies} agencies, "
              f"{args.batches} batches — built in {built:.1f} s")
        _run_child("baseline", url)  # warm the cache for both timed runs
        baseline, baseline_rss = _run_child("baseline", url)
        bare, _bare_rss = _run_child("bare", url)
        compute, compute_rss = _run_child("compute", url)
        rerun, rerun_rss = _run_child("compute", url)
        ratio = compute["seconds"] / baseline["seconds"]
        print(f"baseline GROUP BY agency × bucket: {baseline['seconds']:.2f} s "
              f"({baseline['groups']} groups, {baseline['recovered']} recovered), "
              f"peak RSS {baseline_rss / 1024:.0f} MiB")
        print(f"compute_commission {PERIOD}: {compute['seconds']:.2f} s "
              f"({compute['commission_entries']:,} commission entries {compute['commission_amount']}, "
              f"{compute['fixed_fee_entries']:,} fixed fees {compute['fixed_fee_amount']}), "
              f"peak RSS {compute_rss / 1024:.0f} MiB")
        for label, seconds in sorted(compute["phases"].items(), key=lambda item: -item[1]):
            print(f"    {label}: {seconds:.2f} s")
        print(f"for comparison, the same {bare['rows']:,} rows written into a table without indexes or foreign keys: "
              f"{bare['seconds']:.2f} s")
        print(f"re-run (all entries exist): {rerun['seconds']:.2f} s, {rerun['commission_entries']} new, "
              f"peak RSS {rerun_rss / 1024:.0f} MiB")
        print(f"ratio compute ÷ baseline: {ratio:.2f}× (target ≤ 2×)")
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            _drop_database(url)


if __name__ == "__main__":
    main()
