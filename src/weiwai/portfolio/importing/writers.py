"""Bulk reads and writes for imports, inside the caller's transaction.

PostgreSQL gets COPY (CSV) through the session's own psycopg connection, so every
row lands in the transaction the caller will commit or roll back. SQLite gets
executemany on its sqlite3 connection. Frames are polars DataFrames whose column names
are the table's: Int64, String (money as "1234.56"), Date, Datetime in UTC, Boolean
and Binary columns are understood.

The ORM does not see these writes: the session is flushed before the first one and
expired after the last one, so objects loaded before an import are re-read.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
import itertools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import polars as pl
from sqlalchemy import Select, Table, false, func, select
from sqlalchemy.orm import Session

from weiwai.errors import Conflict, RuleViolation
from weiwai.i18n import _

CHUNK_ROWS = 50_000
# Above this many keys, reading the whole table and filtering in memory beats a huge IN list.
IN_LIST_LIMIT = 20_000
_LOCK_KEY = "weiwai.portfolio.import"
_temp_names = itertools.count(1)


def chunks(frame: pl.DataFrame, size: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    yield from frame.iter_slices(size)


class Store(ABC):
    """Bulk access to the database behind a session (use Store.for_session)."""

    dialect = ""

    def __init__(self, session: Session) -> None:
        session.flush()
        self.session = session
        self.connection = session.connection()
        self.driver = self.connection.connection.driver_connection

    @staticmethod
    def for_session(session: Session) -> Store:
        name = session.get_bind().dialect.name
        if name == "postgresql":
            return PostgresStore(session)
        if name == "sqlite":
            return SqliteStore(session)
        raise RuleViolation(_("imports support PostgreSQL and SQLite, not {name}").format(name=name))

    def finish(self) -> None:
        """Let the ORM see what was written behind its back."""
        self.session.expire_all()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo the writes of the block if it fails, whatever the caller does with the session next."""
        with self.session.begin_nested():
            # The session would issue SAVEPOINT only when it next needs the connection
            # itself, and the bulk writes below do not go through it: issue it now.
            self.session.connection()
            yield

    # Reads ---------------------------------------------------------------------------

    @abstractmethod
    def fetch(self, statement: Select) -> pl.DataFrame:
        """Run a SELECT; every column comes back as text (null stays null)."""
        ...

    def fetch_in(self, statement: Select, column, values: pl.Series) -> pl.DataFrame:
        """`statement` restricted to rows whose `column` is among `values`."""
        keys = values.drop_nulls().unique()
        if keys.len() == 0:
            return self.fetch(statement.where(false()))
        if keys.len() <= IN_LIST_LIMIT:
            return self.fetch(statement.where(column.in_(keys.to_list())))
        frame = self.fetch(statement)
        label = _label_of(statement, column)
        return frame.filter(pl.col(label).is_in(keys.cast(pl.String).implode()))

    def count(self, table: Table) -> int:
        return int(self.connection.execute(select(func.count()).select_from(table)).scalar_one())

    # Writes --------------------------------------------------------------------------

    @abstractmethod
    def lock(self) -> None:
        """Serialise imports: one at a time changes balances and debtors."""
        ...

    @abstractmethod
    def next_ids(self, table: Table, count: int) -> pl.Series:
        """`count` fresh primary keys for `table`."""
        ...

    @abstractmethod
    def insert(self, table: Table, frames: Iterable[pl.DataFrame]) -> int:
        """Insert the rows of every frame (streamed one frame at a time); returns the count."""
        ...

    @abstractmethod
    def update(
        self, table: Table, frame: pl.DataFrame, *, versioned: bool = False, keep_when_null: Sequence[str] = ()
    ) -> None:
        """Update rows by id with the frame's other columns.

        versioned: the frame carries the version it was read at; a row changed since
        (by anyone) raises Conflict, and the version of updated rows goes up by one.
        keep_when_null: columns whose stored value stays when the frame has null.
        """
        ...

    def _check_updated(self, table: Table, expected: int, updated: int) -> None:
        if updated != expected:
            raise Conflict(
                _("{count} row(s) of {table} changed while the import ran; nothing was written, try again").format(
                    count=expected - updated, table=table.name
                )
            )


def _label_of(statement: Select, column) -> str:
    for selected in statement.selected_columns:
        if selected.key == column.key or getattr(selected, "element", None) is column:
            return selected.key
    return column.key


def _set_clause(columns: Sequence[str], keep_when_null: Sequence[str], value_of, *, target: str = "") -> str:
    parts = []
    for column in columns:
        value = value_of(column)
        stored = f"{target}.{column}" if target else column
        parts.append(f"{column} = COALESCE({value}, {stored})" if column in keep_when_null else f"{column} = {value}")
    return ", ".join(parts)


class PostgresStore(Store):
    dialect = "postgresql"

    def lock(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK_KEY,))

    def execute(self, sql: str, params: Sequence | None = None) -> int:
        """Run one statement on the session's connection; returns the row count."""
        with self.driver.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def execute_scalar(self, sql: str, params: Sequence | None = None):
        with self.driver.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def rows(self, sql: str, params: Sequence | None = None) -> list[tuple]:
        with self.driver.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _copy_out(self, sql: str) -> bytes:
        buffer = io.BytesIO()
        with (
            self.driver.cursor() as cursor,
            cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER true)") as copy,
        ):
            for block in copy:
                buffer.write(block)
        return buffer.getvalue()

    def fetch(self, statement: Select) -> pl.DataFrame:
        sql = str(statement.compile(dialect=self.connection.dialect, compile_kwargs={"literal_binds": True}))
        data = self._copy_out(sql)
        return (
            pl.read_csv(io.BytesIO(data), infer_schema=False, raise_if_empty=False)
            if data
            else pl.DataFrame({column.key: pl.Series([], dtype=pl.String) for column in statement.selected_columns})
        )

    def next_ids(self, table: Table, count: int) -> pl.Series:
        if count == 0:
            return pl.Series("id", [], dtype=pl.Int64)
        # Resolved once: as an argument of nextval() it would be looked up for every row.
        name = self.execute_scalar("SELECT pg_get_serial_sequence(%s, 'id')", (table.name,))
        sequence = f"'{name}'::regclass"
        first, last = self.rows(
            f"SELECT min(id), max(id) FROM (SELECT nextval({sequence}) AS id FROM generate_series(1, %s)) AS drawn",
            (count,),
        )[0]
        if last - first + 1 == count:  # the usual case: nobody else drew numbers meanwhile
            return pl.int_range(first, last + 1, dtype=pl.Int64, eager=True).alias("id")
        # Interleaved with another session: draw again and fetch every number (the
        # first draw leaves a gap in the sequence, which is harmless).
        drawn = self.execute_scalar(
            f"SELECT string_agg(nextval({sequence})::text, ',') FROM generate_series(1, %s)", (count,)
        )
        return pl.Series("id", drawn.split(",")).cast(pl.Int64)

    def insert(self, table: Table, frames: Iterable[pl.DataFrame]) -> int:
        remaining = (frame for frame in frames if frame.height)
        first = next(remaining, None)
        if first is None:
            return 0
        total = 0
        with (
            self.driver.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({', '.join(first.columns)}) FROM STDIN (FORMAT csv)") as copy,
        ):
            for frame in itertools.chain([first], remaining):
                copy.write(_as_csv(frame))
                total += frame.height
        return total

    def update(
        self, table: Table, frame: pl.DataFrame, *, versioned: bool = False, keep_when_null: Sequence[str] = ()
    ) -> None:
        if frame.height == 0:
            return
        temp = f"weiwai_import_{table.name}_{next(_temp_names)}"
        columns = list(frame.columns)
        self.execute(
            f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS SELECT {', '.join(columns)} FROM {table.name} WITH NO DATA"
        )
        with (
            self.driver.cursor() as cursor,
            cursor.copy(f"COPY {temp} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy,
        ):
            for chunk in chunks(frame):
                copy.write(_as_csv(chunk))
        targets = [column for column in columns if column not in ("id", "version")]
        assignments = _set_clause(targets, keep_when_null, lambda column: f"u.{column}", target="t")
        if versioned:
            assignments += ", version = t.version + 1"
        condition = "t.id = u.id" + (" AND t.version = u.version" if versioned else "")
        updated = self.execute(f"UPDATE {table.name} AS t SET {assignments} FROM {temp} AS u WHERE {condition}")
        self.execute(f"DROP TABLE {temp}")
        self._check_updated(table, frame.height, updated)


def _as_csv(frame: pl.DataFrame) -> bytes:
    """CSV as PostgreSQL's COPY reads it: bytea as \\x-hex, timestamps with offset."""
    conversions = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Binary:
            conversions.append(pl.concat_str(pl.lit("\\x"), pl.col(name).bin.encode("hex")).alias(name))
        elif isinstance(dtype, pl.Datetime):
            conversions.append(pl.col(name).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00"))
        elif dtype == pl.Boolean:  # "t"/"f": a million rows of "false" is megabytes the server must parse
            conversions.append(pl.col(name).replace_strict({True: "t", False: "f"}, return_dtype=pl.String))
    if conversions:
        frame = frame.with_columns(conversions)
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False)
    return buffer.getvalue()


class SqliteStore(Store):
    dialect = "sqlite"

    def lock(self) -> None:
        # An empty write takes SQLite's write lock now, so that no other import commits
        # between what this one reads and what it writes.
        self.driver.execute("UPDATE import_runs SET id = id WHERE 0 = 1")

    def fetch(self, statement: Select) -> pl.DataFrame:
        result = self.connection.execute(statement)
        names = list(result.keys())
        rows = [tuple(None if value is None else _sqlite_text(value) for value in row) for row in result]
        return pl.DataFrame(rows, schema={name: pl.String for name in names}, orient="row")

    def next_ids(self, table: Table, count: int) -> pl.Series:
        # Safe because lock() holds SQLite's write lock for the rest of the transaction.
        start = self.driver.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}").fetchone()[0] + 1
        return pl.int_range(start, start + count, dtype=pl.Int64, eager=True).alias("id")

    def insert(self, table: Table, frames: Iterable[pl.DataFrame]) -> int:
        total = 0
        for frame in frames:
            if frame.height == 0:
                continue
            placeholders = ", ".join("?" for _ in frame.columns)
            self.driver.executemany(
                f"INSERT INTO {table.name} ({', '.join(frame.columns)}) VALUES ({placeholders})",
                _as_sqlite(frame).iter_rows(),
            )
            total += frame.height
        return total

    def update(
        self, table: Table, frame: pl.DataFrame, *, versioned: bool = False, keep_when_null: Sequence[str] = ()
    ) -> None:
        if frame.height == 0:
            return
        targets = [column for column in frame.columns if column not in ("id", "version")]
        assignments = _set_clause(targets, keep_when_null, lambda column: "?")
        if versioned:
            assignments += ", version = version + 1"
        condition = "id = ?" + (" AND version = ?" if versioned else "")
        ordered = frame.select(*targets, "id", *(["version"] if versioned else []))
        updated = 0
        for chunk in chunks(ordered):
            cursor = self.driver.executemany(
                f"UPDATE {table.name} SET {assignments} WHERE {condition}", _as_sqlite(chunk).iter_rows()
            )
            updated += cursor.rowcount
        self._check_updated(table, frame.height, updated)


def _sqlite_text(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _as_sqlite(frame: pl.DataFrame) -> pl.DataFrame:
    """Values as SQLAlchemy stores them in SQLite: ISO dates, naive UTC timestamps, 0/1."""
    conversions = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:
            conversions.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            conversions.append(pl.col(name).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
        elif dtype == pl.Boolean:
            conversions.append(pl.col(name).cast(pl.Int8))
    return frame.with_columns(conversions) if conversions else frame
