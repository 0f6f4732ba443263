"""Audit chain: how fast events are sealed and verified (prints figures; docs/audit.md).

    .venv/bin/python bench/bench_audit_chain.py [N] [postgres-url]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from weiwai.db import make_engine, utcnow
from weiwai.migrate import upgrade
from weiwai.security.audit_chain import seal, verify
from weiwai.security.models import AuditEvent


def run(url: str, n: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    start = utcnow() - timedelta(minutes=5)
    rows = [{"occurred_at": start + timedelta(microseconds=i), "actor": f"user:u{i % 50}", "action": "reveal",
             "entity": "debtor", "entity_id": str(i), "details": {"fields": ["phone", "address"], "reason": "核实身份"}}
            for i in range(n)]
    with Session(engine) as session:
        for i in range(0, n, 10_000):
            session.execute(insert(AuditEvent.__table__), rows[i:i + 10_000])
        session.commit()
    with Session(engine) as session:
        t0 = time.perf_counter()
        sealed = seal(session=session, full=True)
        session.commit()
        t1 = time.perf_counter()
    with Session(engine) as session:
        t2 = time.perf_counter()
        result = verify(session=session)
        t3 = time.perf_counter()
    assert result.ok and sealed == n, result
    print(f"{engine.dialect.name:10} {n:>8} events  seal {n / (t1 - t0):>9,.0f}/s ({t1 - t0:.2f} s)  "
          f"verify {n / (t3 - t2):>9,.0f}/s ({t3 - t2:.2f} s)")
    engine.dispose()


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", count)
    if len(sys.argv) > 2:
        run(sys.argv[2], count)
