"""Screening and placing N accounts with 20 agencies, next to one INSERT … SELECT.

Builds its own PostgreSQL database with generate_series: N debtors and open accounts
(placeholder bytes where personal data would be sealed: the benchmark measures placement,
not import), with some deceased, bankrupt, disputed… debtors, open complaints, in-house
holds, 2 % already placed and 0.5 % recently returned (cooling-off); 20 active agencies
with usable contracts, some limited to early or late buckets or to some regions, whose
case capacities bind (together they can take about 70 % of the eligible accounts).

Then, each in a child process of its own (peak RSS from os.wait4) on a fresh copy of the
built database (CREATE DATABASE … TEMPLATE, vacuumed and checkpointed), so that no run
sees the rows, dead tuples or dirty pages of another:

  baseline   INSERT INTO cases … SELECT with the same filter and a round-robin agency,
             LIMIT the free capacity (what weiwai places), timed
  placement  weiwai's preview_placement, create_batch (draft, commit) and confirm_batch
             (all cases and their history, commit), each timed

--runs times each (default 2; the best of each counts), and prints the times,
create+confirm ÷ baseline, preview+create+confirm ÷ baseline and the peak RSS.

    .venv/bin/python bench/bench_placement.py --accounts 1000000
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
AS_OF = "2024-03-01"
BENCH_ENV = {
    "WEIWAI_DATA_KEYS": "b1:" + base64.b64encode(b"b" * 32).decode(),
    "WEIWAI_ACTIVE_KEY_ID": "b1",
    "WEIWAI_BLIND_INDEX_KEY": "bench-blind-index-key-0123456789abcdef",
    "WEIWAI_SECRET_KEY": "bench-session-secret-0123456789abcdef",
}
RULES = {"dpd": {"min": 1, "max": 360}, "balance": {"min": "100.00"}}
STRATEGY = {"name": "equal_count", "seed": 1}
REGIONS = ["北京", "天津", "上海", "江苏", "浙江", "安徽", "福建", "山东", "河南", "湖北",
           "湖南", "广东", "广西", "重庆", "四川", "贵州", "云南", "陕西"]
REGIONS_SQL = "ARRAY[" + ", ".join(f"'{r}'" for r in REGIONS) + "]"
ALL_BUCKETS = '["M1","M2","M3","M4","M5","M6","M7+"]'

BUILD = [
    f"""INSERT INTO agencies (id, code, legal_name, uscc, regions_served, capacity_cases, capacity_balance, status,
                             version, created_at, updated_at)
       SELECT g, 'PA' || lpad(g::text, 2, '0'), '基准催收' || g, lpad(g::text, 18, '9'),
              to_json({REGIONS_SQL}), :capacity_base + (g * 7919) % :capacity_spread, 1e11, 'active', 1, now(), now()
       FROM generate_series(1, :agencies) g""",
    # Agencies 1-4 take only early buckets, the last four only late ones, 5-8 only some regions.
    f"""INSERT INTO contracts (id, contract_no, agency_id, status, starts_on, ends_on, signed_on,
                              confidentiality_signed_on, fee_schedule, permitted_channels, permitted_buckets,
                              permitted_regions, placement_days, post_recall_grace_days, retention_days,
                              reporting_cadence, entrustment_purpose, entrustment_duration,
                              entrustment_processing_method, entrustment_data_categories,
                              entrustment_protection_measures, handover_fields, version, created_at, updated_at)
       SELECT g, 'PC' || g, g, 'active', '2023-01-01', '2026-12-31', '2023-01-01', '2023-01-01', '{{}}', '["phone"]',
              CASE WHEN g <= 4 THEN '["M1","M2","M3"]'::json
                   WHEN g > :agencies - 4 THEN '["M4","M5","M6","M7+"]'::json
                   ELSE '{ALL_BUCKETS}'::json END,
              CASE WHEN g BETWEEN 5 AND 8 THEN to_json(({REGIONS_SQL})[1:9]) ELSE '[]'::json END,
              60 + g, 7, 30, 'weekly', 'bench', 'bench', 'bench', '["name"]', 'bench', '{{}}', 1, now(), now()
       FROM generate_series(1, :agencies) g""",
    """INSERT INTO screening_rule_sets (id, name, version, rules, sha256, created_by, created_at)
       VALUES (1, 'earlier', 1, '{}', repeat('0', 64), 'bench', now())""",
    """INSERT INTO placement_batches (id, batch_no, status, rule_set_id, strategy, as_of, summary, created_by,
                                      created_at)
       VALUES (1, 'B20240101-1', 'active', 1, '{}', '2024-01-01', '{}', 'bench', now())""",
    f"""INSERT INTO debtors (id, name, national_id_enc, national_id_bidx, region, time_zone, credit_grade, deceased,
                            bankrupt, in_litigation, disputed, cease_contact, vulnerable, created_at, updated_at)
       SELECT g, '基准', '\\x00'::bytea, md5(g::text), ({REGIONS_SQL})[1 + (g * 31) % 18], 'Asia/Shanghai',
              (ARRAY['A','B','C','D','E'])[1 + (g * 13) % 5], g % 211 = 0, g % 307 = 0, g % 401 = 0,
              g % 503 = 0, g % 601 = 0, g % 97 = 0, now(), now()
       FROM generate_series(1, :accounts) g""",
    """INSERT INTO accounts (id, account_no, debtor_id, product, currency, original_amount, principal_outstanding,
                             interest_outstanding, fee_outstanding, penalty_outstanding, due_date, status,
                             credit_balance, version, created_at, updated_at)
       SELECT g, 'AC' || lpad(g::text, 10, '0'), g, (ARRAY['消费贷','现金贷','信用卡分期','车贷','装修贷'])[1 + g % 5],
              'CNY', 60000, 50 + (g::bigint * 104729 % 4990000) / 100.0, (g % 500) / 10.0, 0, 0,
              CAST(:as_of AS date) - (1 + (g::bigint * 7919) % 400)::int, 'open', 0, 1, now(), now()
       FROM generate_series(1, :accounts) g""",
    # 2 % already with an agency; 0.5 % returned five days ago (cooling-off for that agency).
    """INSERT INTO cases (case_no, batch_id, account_id, agency_id, contract_id, status, bucket, dpd, balance_band,
                          region, credit_grade, balance_placed, principal_placed, placed_at, period_ends_on,
                          extended_count, ended_at, close_reason, version)
       SELECT 'C20240101-1-' || lpad(g::text, 8, '0'), 1, g, g % :agencies + 1, g % :agencies + 1,
              CASE WHEN g % 50 = 0 THEN 'working' ELSE 'closed' END, 'M2', 45, '5k-10k', '浙江', 'C', 8000, 8000,
              '2024-01-01T10:00:00+08', '2024-03-31', 0,
              CASE WHEN g % 50 = 0 THEN NULL ELSE timestamptz '2024-02-25T10:00:00+08' END,
              CASE WHEN g % 50 = 0 THEN NULL ELSE 'returned' END, 1
       FROM generate_series(1, :accounts) g WHERE g % 50 = 0 OR g % 200 = 3""",
    """INSERT INTO complaints (complaint_no, source, account_id, category, summary, received_at, status, recorded_by,
                               created_at)
       SELECT 'PCP' || g, 'debtor', g, 'harassment', 'bench', now(), 'open', 'bench', now()
       FROM generate_series(1, :accounts) g WHERE g % 331 = 0""",
    """INSERT INTO in_house_holds (account_id, until, reason, created_by, created_at)
       SELECT g, NULL, 'bench', 'bench', now() FROM generate_series(1, :accounts) g WHERE g % 337 = 0""",
]
SEQUENCES = ["agencies", "contracts", "screening_rule_sets", "placement_batches", "debtors", "accounts"]

# The same selection in one statement: the rules' filter and exclusions, a round-robin agency.
BASELINE = """
INSERT INTO cases (case_no, batch_id, account_id, agency_id, contract_id, status, bucket, dpd, balance_band, region,
                   credit_grade, balance_placed, principal_placed, arm, placed_at, period_ends_on, extended_count,
                   version)
SELECT 'CBASE-' || rn, 1, id, agency, agency, 'placed',
       CASE WHEN dpd <= 30 THEN 'M1' WHEN dpd <= 60 THEN 'M2' WHEN dpd <= 90 THEN 'M3' WHEN dpd <= 120 THEN 'M4'
            WHEN dpd <= 150 THEN 'M5' WHEN dpd <= 180 THEN 'M6' ELSE 'M7+' END,
       dpd,
       CASE WHEN total < 2000 THEN '0-2k' WHEN total < 5000 THEN '2k-5k' WHEN total < 10000 THEN '5k-10k'
            WHEN total < 30000 THEN '10k-30k' WHEN total < 100000 THEN '30k-100k' ELSE '100k+' END,
       region, credit_grade, total, principal, 'baseline', now(), CAST(:as_of AS date) + 90, 0, 1
FROM (
  SELECT a.id, d.region, d.credit_grade, a.principal_outstanding AS principal,
         a.principal_outstanding + a.interest_outstanding + a.fee_outstanding + a.penalty_outstanding AS total,
         CAST(:as_of AS date) - a.due_date AS dpd,
         (row_number() OVER (ORDER BY a.id) - 1) % :agencies + 1 AS agency,
         row_number() OVER (ORDER BY a.id) AS rn
  FROM accounts a JOIN debtors d ON d.id = a.debtor_id
  WHERE a.status = 'open' AND a.due_date < CAST(:as_of AS date) AND CAST(:as_of AS date) - a.due_date BETWEEN 1 AND 360
    AND a.principal_outstanding + a.interest_outstanding + a.fee_outstanding + a.penalty_outstanding >= 100
    AND NOT d.deceased AND NOT d.bankrupt AND NOT d.in_litigation AND NOT d.disputed AND NOT d.cease_contact
    AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.account_id = a.id AND c.status IN ('placed', 'working', 'promised'))
    AND NOT EXISTS (SELECT 1 FROM complaints p WHERE p.account_id = a.id AND p.status IN ('open', 'investigating'))
    AND NOT EXISTS (SELECT 1 FROM complaints p WHERE p.debtor_id = a.debtor_id AND p.status IN ('open', 'investigating'))
    AND NOT EXISTS (SELECT 1 FROM in_house_holds h WHERE h.account_id = a.id AND h.lifted_at IS NULL
                    AND (h.until IS NULL OR h.until >= CAST(:as_of AS date)))
  ORDER BY a.id
  LIMIT :limit
) chosen
"""


def _create_database(template: str | None = None) -> str:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"weiwai_bench_placement_{uuid.uuid4().hex[:8]}"
    copy_of = f' TEMPLATE "{make_url(template).database}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy_of}'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def build(url: str, *, accounts: int, agencies: int) -> tuple[float, int]:
    """The data set; returns the build time and the agencies' free case capacity."""
    from weiwai.migrate import upgrade

    upgrade(url)
    started = time.perf_counter()
    # Capacities average about 0.7 × 0.83 (the share that passes the rules) of the book.
    average = max(1, int(accounts * 0.83 * 0.7 / agencies))
    params = {"accounts": accounts, "agencies": agencies, "as_of": AS_OF,
              "capacity_base": average // 2, "capacity_spread": average}
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in BUILD:
            conn.execute(text(statement), {name: value for name, value in params.items() if f":{name}" in statement})
        for table in SEQUENCES:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    engine.dispose()
    _vacuum(url)
    return time.perf_counter() - started, _free_capacity(url)


def _free_capacity(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        free = conn.execute(text(
            "SELECT sum(capacity_cases) - (SELECT count(*) FROM cases WHERE status = 'working') FROM agencies"
        )).scalar_one()
    engine.dispose()
    return int(free)


def _vacuum(url: str) -> None:
    """Clean up and flush, so that each timed run starts from the same state of the server."""
    engine = create_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        conn.execute(text("CHECKPOINT"))
    engine.dispose()


# --- children ---------------------------------------------------------------------------


def child_baseline(url: str, agencies: int, limit: int) -> dict:
    engine = create_engine(url)
    with engine.connect() as conn:
        transaction = conn.begin()
        began = time.perf_counter()
        inserted = conn.execute(text(BASELINE), {"as_of": AS_OF, "agencies": agencies, "limit": limit}).rowcount
        seconds = time.perf_counter() - began
        transaction.rollback()
    engine.dispose()
    return {"seconds": seconds, "cases": inserted}


def child_placement(url: str) -> dict:
    from datetime import date

    from weiwai.db import session_scope
    from weiwai.placements.batches import confirm_batch, create_batch, preview_placement
    from weiwai.placements.screening import ScreeningRules
    from weiwai.placements.screening_service import save_rule_set
    from weiwai.placements.strategy import StrategySpec

    rules, strategy, as_of = ScreeningRules.model_validate(RULES), StrategySpec.model_validate(STRATEGY), \
        date.fromisoformat(AS_OF)
    times = {}
    began = time.perf_counter()
    with session_scope() as session:
        preview = preview_placement(session=session, rules=rules, strategy=strategy, as_of=as_of)
        session.rollback()
    times["preview"] = time.perf_counter() - began
    began = time.perf_counter()
    with session_scope() as session:
        rule_set, _created = save_rule_set(session=session, rules=rules, name="bench", actor="bench")
        batch_no = create_batch(session=session, rule_set=rule_set, strategy=strategy, as_of=as_of,
                                actor="bench").batch_no
    times["create"] = time.perf_counter() - began
    began = time.perf_counter()
    with session_scope() as session:
        cases = confirm_batch(session=session, batch_no=batch_no, actor="bench").summary["cases"]
    times["confirm"] = time.perf_counter() - began
    return {**times, "screened": preview.screened, "eligible": preview.eligible, "allocated": preview.allocated,
            "cases": cases, "unallocated": {r.code: r.count for r in preview.unallocated}}


def _run_child(args: list[str], url: str) -> tuple[dict, int]:
    """Run one measurement in a fresh interpreter; returns its result and peak RSS (KiB)."""
    env = {**os.environ, **BENCH_ENV, "WEIWAI_DATABASE_URL": url}
    process = subprocess.Popen([sys.executable, __file__, "--url", url, *args], env=env, stdout=subprocess.PIPE,
                               text=True)
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"child {args} failed")
    return json.loads(output), usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--agencies", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="URL", help="a database built and kept by an earlier run (--keep)")
    parser.add_argument("--runs", type=int, default=2, help="timed runs of each kind; the best counts")
    parser.add_argument("--child", choices=["baseline", "placement"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "baseline":
        print(json.dumps(child_baseline(args.url, args.agencies, args.limit)))
        return
    if args.child == "placement":
        print(json.dumps(child_placement(args.url)))
        return

    url = args.reuse or _create_database()
    try:
        if args.reuse:
            free = _free_capacity(url)
        else:
            built, free = build(url, accounts=args.accounts, agencies=args.agencies)
            print(f"data: {args.accounts:,} accounts, {args.agencies} agencies with {free:,} free case capacity "
                  f"— built in {built:.1f} s")
        baseline_args = ["--child", "baseline", "--agencies", str(args.agencies), "--limit", str(free)]
        baselines = [_on_a_copy(url, baseline_args) for _ in range(args.runs)]
        placements = [_on_a_copy(url, ["--child", "placement"]) for _ in range(args.runs)]
        baseline, baseline_rss = min(baselines, key=lambda run: run[0]["seconds"])
        placement, placement_rss = min(placements, key=lambda run: run[0]["create"] + run[0]["confirm"])
        both = placement["create"] + placement["confirm"]
        everything = placement["preview"] + both
        timed = ", ".join(f"{run['seconds']:.2f}" for run, _rss in baselines)
        print(f"baseline INSERT … SELECT: {baseline['seconds']:.2f} s ({baseline['cases']:,} cases; runs {timed} s), "
              f"peak RSS {baseline_rss / 1024:.0f} MiB")
        print(f"weiwai: screened {placement['screened']:,}, eligible {placement['eligible']:,}, "
              f"allocated {placement['allocated']:,}, cases {placement['cases']:,}; unallocated {placement['unallocated']}")
        for run, rss in placements:
            print(f"  preview {run['preview']:.2f} s, create {run['create']:.2f} s, confirm {run['confirm']:.2f} s; "
                  f"peak RSS {rss / 1024:.0f} MiB")
        print(f"best of {args.runs}: (create + confirm) ÷ baseline: {both / baseline['seconds']:.2f}× (target ≤ 2×); "
              f"(preview + create + confirm) ÷ baseline: {everything / baseline['seconds']:.2f}×; "
              f"peak RSS {max(rss for _run, rss in placements) / 1024:.0f} MiB")
    finally:
        if args.keep or args.reuse:
            print(f"kept: {url}")
        else:
            _drop_database(url)


def _on_a_copy(url: str, child_args: list[str]) -> tuple[dict, int]:
    """Run a child on a fresh copy of the built database, so no run sees another's rows."""
    copy = _create_database(template=url)
    try:
        _vacuum(copy)
        return _run_child(child_args, copy)
    finally:
        _drop_database(copy)


if __name__ == "__main__":
    main()
