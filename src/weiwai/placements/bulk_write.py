"""Writing a batch's cases in bulk, never row by row through the ORM.

PostgreSQL gets the rows by COPY … FROM STDIN (CSV, in slices so memory stays flat);
SQLite by one executemany. The first status of every case is then recorded by one
INSERT … SELECT over the batch's cases, inside the same transaction.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
from sqlalchemy import String, insert, literal, select
from sqlalchemy.orm import Session

from weiwai.db import UtcDateTime
from weiwai.placements.models import Case, CaseStatus, CaseStatusChange

CASE_COLUMNS = (
    "case_no", "batch_id", "account_id", "agency_id", "contract_id", "status", "bucket", "dpd", "balance_band",
    "region", "credit_grade", "balance_placed", "principal_placed", "arm", "placed_at", "period_ends_on",
    "extended_count", "version",
)
COPY_SLICE = 200_000


def insert_cases(session: Session, cases: pl.DataFrame) -> int:
    """Insert new cases (status placed). `cases` has the columns built by batches._case_rows:
    money as balance_fen / principal_fen, placed_at one aware timestamp for all."""
    if cases.height == 0:
        return 0
    # Pending ORM changes (the batch row) must reach the database before the raw COPY.
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        _copy(session, cases)
    else:
        _executemany(session, cases)
    return cases.height


def insert_first_history(session: Session, *, batch_id: int, actor: str, at: datetime, reason: str) -> None:
    """One 'placed' history row for every case of the batch."""
    chosen = select(
        Case.id,
        literal(None, String),
        literal(CaseStatus.placed.value, String),
        literal(reason, String),
        literal(actor, String),
        literal(at, UtcDateTime),
    ).where(Case.batch_id == batch_id)
    session.execute(
        insert(CaseStatusChange).from_select(
            ["case_id", "from_status", "to_status", "reason", "changed_by", "changed_at"], chosen
        )
    )


def _money_text(fen: pl.Expr) -> pl.Expr:
    return pl.format("{}.{}", fen // 100, (fen % 100).cast(pl.String).str.zfill(2))


def _copy(session: Session, cases: pl.DataFrame) -> None:
    placed_at = cases["placed_at"][0].astimezone(UTC).isoformat()
    text = cases.select(
        "case_no", "batch_id", "account_id", "agency_id", "contract_id",
        status=pl.lit(CaseStatus.placed.value),
        bucket="bucket", dpd="dpd", balance_band="balance_band", region="region", credit_grade="credit_grade",
        balance_placed=_money_text(pl.col("balance_fen")),
        principal_placed=_money_text(pl.col("principal_fen")),
        arm="arm",
        placed_at=pl.lit(placed_at),
        period_ends_on=pl.col("period_ends_on").cast(pl.String),
        extended_count=pl.lit(0),
        version=pl.lit(1),
    )
    driver = session.connection().connection.driver_connection
    statement = f"COPY cases ({', '.join(CASE_COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for start in range(0, text.height, COPY_SLICE):
            buffer = io.BytesIO()
            text.slice(start, COPY_SLICE).write_csv(buffer, include_header=False)
            copy.write(buffer.getvalue())


def _executemany(session: Session, cases: pl.DataFrame) -> None:
    cent = Decimal("0.01")
    rows = [
        {
            "case_no": row["case_no"], "batch_id": row["batch_id"], "account_id": row["account_id"],
            "agency_id": row["agency_id"], "contract_id": row["contract_id"], "status": CaseStatus.placed.value,
            "bucket": row["bucket"], "dpd": row["dpd"], "balance_band": row["balance_band"],
            "region": row["region"], "credit_grade": row["credit_grade"],
            "balance_placed": Decimal(row["balance_fen"]) * cent,
            "principal_placed": Decimal(row["principal_fen"]) * cent,
            "arm": row["arm"], "placed_at": row["placed_at"], "period_ends_on": row["period_ends_on"],
            "extended_count": 0, "version": 1,
        }
        for row in cases.iter_rows(named=True)
    ]
    session.execute(insert(Case.__table__), rows)
