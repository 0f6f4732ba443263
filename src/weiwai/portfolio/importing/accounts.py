"""`import_accounts`: load the lender's overdue book into debtors, phones, contacts and
accounts, all of the file or none of it.

Steps: read and check the whole file (no database yet) → lock imports → compare with the
portfolio (one query for the accounts, one for their debtors) → refuse the file if it
contradicts the portfolio → then, table by table, look up what is new, seal the personal
data and write it in bulk → record the run. Rows whose fingerprint equals
Account.source_hash are not touched at all, which makes re-importing a file a no-op.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.config import get_settings
from weiwai.db import utcnow
from weiwai.errors import InputRejected, RowError
from weiwai.i18n import _
from weiwai.portfolio import personal_data
from weiwai.portfolio.importing import account_rows
from weiwai.portfolio.importing import validation as v
from weiwai.portfolio.importing.bulk_load import bulk_load_if_worthwhile
from weiwai.portfolio.importing.columns import (
    ACCOUNT_COLUMNS,
    ACCOUNT_EITHER_OF,
    match_columns,
)
from weiwai.portfolio.importing.readers import read_table
from weiwai.portfolio.importing.report import (
    ImportReport,
    ProgressCallback,
    Steps,
    file_sha256,
    record_run,
)
from weiwai.portfolio.importing.sealing import Sealer
from weiwai.portfolio.importing.writers import Store, chunks
from weiwai.portfolio.models import (
    Account,
    AccountBalanceChange,
    AccountStatus,
    BalanceChangeSource,
    Debtor,
    DebtorContact,
    DebtorPhone,
)

ACCOUNTS = Account.__table__
DEBTORS = Debtor.__table__
PHONES = DebtorPhone.__table__
CONTACTS = DebtorContact.__table__
HISTORY = AccountBalanceChange.__table__
# Statuses the import may set; written-off and closed accounts keep their status.
IMPORT_STATUSES = (AccountStatus.open.value, AccountStatus.paid_off.value)
DEBTOR_FLAGS = ("deceased", "bankrupt", "in_litigation", "disputed", "cease_contact", "vulnerable")


def import_accounts(
    *,
    session: Session,
    path: Path,
    actor: str,
    as_of: date | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Load an accounts file (CSV/XLSX); InputRejected, with nothing written, if any row is wrong."""
    settings = get_settings()
    steps = Steps(progress)
    started_at = utcnow()
    path = Path(path)
    as_of = as_of or datetime.now(ZoneInfo(settings.default_time_zone)).date()

    with ThreadPoolExecutor(max_workers=1) as background:
        sha256 = background.submit(file_sha256, path)  # hashing releases the GIL: free while polars reads
        steps.start(_("Reading {file}").format(file=path.name))
        table = read_table(path)
        columns = match_columns(table.headers, ACCOUNT_COLUMNS, file=table.file, either_of=ACCOUNT_EITHER_OF)
        warnings = list(table.warnings)
        if columns.ignored:
            warnings.append(_("ignored unknown column(s): {names}").format(names=", ".join(columns.ignored)))
        # Worker processes (for large files) start now, while the rows are checked.
        with Sealer(rows=table.frame.height) as sealer:
            steps.start(_("Checking rows"))
            rows = account_rows.check_accounts(table, columns, as_of=as_of, settings=settings)
            steps.start(_("Comparing with the portfolio"), total=rows.height)
            key = account_rows.fingerprint_key(sealer.keyring)
            rows = rows.with_columns(
                sealer.fingerprints(account_rows.fingerprint_texts(rows), key, advance=steps.advance)
            )
            store = Store.for_session(session)
            store.lock()
            plan = _plan(store, sealer, rows, file=table.file, headers=columns.headers, steps=steps)
            now = utcnow()
            with bulk_load_if_worthwhile(store, new_rows=plan.new_accounts.height, steps=steps):
                _write_debtors(store, sealer, plan, now=now, steps=steps)
                _write_phones(store, sealer, plan, now=now, steps=steps)
                _write_contacts(store, sealer, plan, now=now, steps=steps)
                _write_accounts(store, plan, now=now, actor=actor, reference=table.file, steps=steps)
        store.finish()
        report = ImportReport(
            kind="accounts",
            file=table.file,
            rows=rows.height,
            created=plan.new_accounts.height,
            updated=plan.changed_accounts.height,
            unchanged=plan.unchanged,
            warnings=tuple(warnings),
        )
        return record_run(session=session, report=report, sha256=sha256.result(), started_at=started_at, actor=actor)


@dataclass
class _Plan:
    new_accounts: pl.DataFrame  # checked rows + account_id (allocated) + debtor_id
    changed_accounts: pl.DataFrame  # checked rows + account_id + stored state (old_*, version, stored_status)
    unchanged: int
    touched: pl.DataFrame  # new and changed rows, with debtor_id
    new_debtors: pl.DataFrame  # debtor_id (allocated), national_id, national_id_bidx + debtor fields
    changed_debtors: pl.DataFrame  # id + debtor fields


# Comparing ------------------------------------------------------------------------------


def _plan(
    store: Store, sealer: Sealer, rows: pl.DataFrame, *, file: str, headers: dict[str, str], steps: Steps
) -> _Plan:
    """Compare the file with the portfolio; InputRejected if the file contradicts it."""
    new_accounts, changed_accounts, unchanged = _classify(store, rows)
    touched = (
        pl.concat([new_accounts, changed_accounts.select(new_accounts.columns)], how="vertical")
        if changed_accounts.height
        else new_accounts
    )

    people = touched.select("national_id").unique(maintain_order=True)
    steps.start(_("Looking up debtors"), total=people.height)
    people = people.with_columns(
        sealer.national_id_indexes(people["national_id"], advance=steps.advance).alias("national_id_bidx")
    )
    _refuse_moved_accounts(changed_accounts.join(people, on="national_id"), file=file, headers=headers)

    known = store.fetch_in(
        select(Debtor.national_id_bidx, Debtor.id.label("debtor_id")),
        Debtor.national_id_bidx,
        people["national_id_bidx"],
    ).with_columns(pl.col("debtor_id").cast(pl.Int64))
    people = people.join(known, on="national_id_bidx", how="left")
    new_people = people.filter(pl.col("debtor_id").is_null())
    new_people = new_people.with_columns(store.next_ids(DEBTORS, new_people.height).alias("debtor_id"))
    known_people = people.filter(pl.col("debtor_id").is_not_null())
    debtor_ids = pl.concat([known_people, new_people], how="vertical").select("national_id", "debtor_id")

    # Debtor fields come from the debtor's last row in the file, changed or not (address:
    # the last one given).
    their_rows = rows.filter(pl.col("national_id").is_in(people["national_id"].implode())) if unchanged else rows
    fields = their_rows.group_by("national_id", maintain_order=True).agg(
        pl.col("debtor_name", "region", "credit_grade", "time_zone").last(),
        pl.col("address").drop_nulls().last(),
    )

    def debtor_of(frame: pl.DataFrame) -> pl.Series:
        return frame.select("national_id").join(debtor_ids, on="national_id", how="left", maintain_order="left")[
            "debtor_id"
        ]

    return _Plan(
        new_accounts=new_accounts.with_columns(
            debtor_of(new_accounts), store.next_ids(ACCOUNTS, new_accounts.height).alias("account_id")
        ),
        changed_accounts=changed_accounts,
        unchanged=unchanged,
        touched=touched.with_columns(debtor_of(touched)),
        new_debtors=new_people.join(fields, on="national_id", how="left"),
        changed_debtors=known_people.join(fields, on="national_id", how="left").select(
            pl.col("debtor_id").alias("id"), "debtor_name", "region", "credit_grade", "time_zone", "address"
        ),
    )


def _classify(store: Store, rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(new rows, changed rows with their stored state, number of unchanged rows).

    Only the account number and fingerprint of every stored account are read; the rest of
    the stored state only for the accounts that changed. New rows are the file's own
    frame when the portfolio is empty, so a first load copies nothing.
    """
    stored = store.fetch_in(
        select(Account.account_no, Account.id.label("account_id"), Account.source_hash.label("stored_hash")),
        Account.account_no,
        rows["account_no"],
    ).with_columns(pl.col("account_id").cast(pl.Int64))
    matched = (
        rows.select("account_no", "source_hash").with_row_index("position").join(stored, on="account_no", how="inner")
    )
    changed = matched.filter(pl.col("stored_hash").is_null() | (pl.col("stored_hash") != pl.col("source_hash")))
    new_rows = rows.filter(~pl.col("account_no").is_in(stored["account_no"].implode())) if stored.height else rows
    changed_rows = rows[changed["position"]].with_columns(changed["account_id"])
    changed_rows = changed_rows.join(_stored_state(store, changed["account_id"]), on="account_id", how="left")
    return new_rows, changed_rows, matched.height - changed.height


def _stored_state(store: Store, account_ids: pl.Series) -> pl.DataFrame:
    """What an update compares with: balances, due date, version, status, the debtor's ID index."""
    statement = select(
        Account.id.label("account_id"),
        Account.version,
        Account.status.label("stored_status"),
        Debtor.national_id_bidx.label("stored_bidx"),
        Account.principal_outstanding.label("old_principal"),
        Account.interest_outstanding.label("old_interest"),
        Account.fee_outstanding.label("old_fee"),
        Account.penalty_outstanding.label("old_penalty"),
        Account.due_date.label("old_due_date"),
    ).join(Debtor, Debtor.id == Account.debtor_id)
    stored = store.fetch_in(statement, Account.id, account_ids.cast(pl.String))
    money = {name: v.amount_fen() for name in ("old_principal", "old_interest", "old_fee", "old_penalty")}
    return v.parse_columns(stored, {**money, "old_due_date": v.calendar_date()}).with_columns(
        pl.col("account_id", "version").cast(pl.Int64)
    )


def _refuse_moved_accounts(changed: pl.DataFrame, *, file: str, headers: dict[str, str]) -> None:
    moved = changed.filter(pl.col("national_id_bidx") != pl.col("stored_bidx"))
    if moved.height:
        reason = _("this account belongs to another debtor in the portfolio; its national ID cannot change")
        raise InputRejected(
            errors=[
                RowError(file, row, headers.get("national_id", "national_id"), national_id, reason)
                for row, national_id in moved.select(v.ROW, "national_id").head(v.MAX_ERRORS).iter_rows()
            ]
        )


# Writing --------------------------------------------------------------------------------


def _insert(store: Store, table, parts, *, stage: str, total: int, steps: Steps) -> None:
    """Insert frames as they come (sealing may be producing them meanwhile), with progress."""
    steps.start(stage, total=total)

    def counted():
        for part in parts:
            yield part
            steps.advance(part.height)

    store.insert(table, counted())


def _write_debtors(store: Store, sealer: Sealer, plan: _Plan, *, now: datetime, steps: Steps) -> None:
    new = plan.new_debtors

    def rows():
        for chunk, national_id, address in zip(
            chunks(new, sealer.chunk_values),
            sealer.sealed_chunks(new["national_id"], personal_data.NATIONAL_ID),
            sealer.sealed_chunks(new["address"], personal_data.ADDRESS),
            strict=True,
        ):
            yield chunk.select(
                pl.col("debtor_id").alias("id"),
                pl.col("debtor_name").alias("name"),
                pl.lit(national_id).alias("national_id_enc"),
                pl.col("national_id_bidx"),
                pl.lit(address).alias("address_enc"),
                pl.col("region", "time_zone", "credit_grade"),
                *[pl.lit(False).alias(flag) for flag in DEBTOR_FLAGS],
                pl.lit(now).alias("created_at"),
                pl.lit(now).alias("updated_at"),
            )

    _insert(store, DEBTORS, rows(), stage=_("Encrypting and writing debtors"), total=new.height, steps=steps)
    plan.new_debtors = new = new.clear()  # written: let its memory go before the phones are looked up
    changed = plan.changed_debtors
    if changed.height:
        store.update(
            DEBTORS,
            changed.select(
                pl.col("id"),
                pl.col("debtor_name").alias("name"),
                pl.lit(sealer.sealed(changed["address"], personal_data.ADDRESS)).alias("address_enc"),
                pl.col("region", "time_zone", "credit_grade"),
                pl.lit(now).alias("updated_at"),
            ),
            keep_when_null=("address_enc",),
        )


def _with_phone_index(sealer: Sealer, frame: pl.DataFrame, phone: str, steps: Steps) -> pl.DataFrame:
    distinct = frame.select(phone).unique(maintain_order=True)
    distinct = distinct.with_columns(sealer.phone_indexes(distinct[phone], advance=steps.advance).alias("phone_bidx"))
    return frame.join(distinct, on=phone, how="left")


def _write_phones(store: Store, sealer: Sealer, plan: _Plan, *, now: datetime, steps: Steps) -> None:
    """Mobiles not yet known for their debtor; a debtor's first phone becomes primary."""
    steps.start(_("Looking up phone numbers"), total=plan.touched.height)
    candidates = plan.touched.select("debtor_id", "mobile").unique(maintain_order=True)
    candidates = _with_phone_index(sealer, candidates, "mobile", steps).unique(
        ["debtor_id", "phone_bidx"], maintain_order=True
    )
    known = store.fetch_in(
        select(DebtorPhone.debtor_id, DebtorPhone.phone_bidx), DebtorPhone.debtor_id, plan.changed_debtors["id"]
    ).with_columns(pl.col("debtor_id").cast(pl.Int64))
    fresh = candidates.join(known, on=["debtor_id", "phone_bidx"], how="anti")
    has_phone = pl.col("debtor_id").is_in(known["debtor_id"].unique().implode())
    fresh = fresh.with_columns(
        store.next_ids(PHONES, fresh.height).alias("id"),
        (~has_phone & (pl.int_range(pl.len()).over("debtor_id") == 0)).alias("is_primary"),
    )
    parts = (
        chunk.select(
            pl.col("id", "debtor_id"),
            pl.lit(sealed).alias("phone_enc"),
            pl.col("phone_bidx", "is_primary"),
            pl.lit(now).alias("created_at"),
        )
        for chunk, sealed in zip(
            chunks(fresh, sealer.chunk_values),
            sealer.sealed_chunks(fresh["mobile"], personal_data.DEBTOR_PHONE),
            strict=True,
        )
    )
    _insert(store, PHONES, parts, stage=_("Encrypting and writing phone numbers"), total=fresh.height, steps=steps)


def _write_contacts(store: Store, sealer: Sealer, plan: _Plan, *, now: datetime, steps: Steps) -> None:
    """Contact persons whose phone is not yet known for their debtor (first mention wins)."""
    candidates = plan.touched.filter(pl.col("contact_phone").is_not_null()).select(
        "debtor_id", "contact_name", "contact_relation", "contact_phone"
    )
    steps.start(_("Looking up contacts"), total=candidates.height)
    candidates = _with_phone_index(sealer, candidates, "contact_phone", steps).unique(
        ["debtor_id", "phone_bidx"], keep="first", maintain_order=True
    )
    known = store.fetch_in(
        select(DebtorContact.debtor_id, DebtorContact.phone_bidx), DebtorContact.debtor_id, plan.changed_debtors["id"]
    ).with_columns(pl.col("debtor_id").cast(pl.Int64))
    fresh = candidates.join(known, on=["debtor_id", "phone_bidx"], how="anti")
    fresh = fresh.with_columns(store.next_ids(CONTACTS, fresh.height).alias("id"))
    parts = (
        chunk.select(
            pl.col("id", "debtor_id"),
            pl.col("contact_name").alias("name"),
            pl.col("contact_relation").alias("relation"),
            pl.lit(sealed).alias("phone_enc"),
            pl.col("phone_bidx"),
            pl.lit(now).alias("created_at"),
        )
        for chunk, sealed in zip(
            chunks(fresh, sealer.chunk_values),
            sealer.sealed_chunks(fresh["contact_phone"], personal_data.CONTACT_PHONE),
            strict=True,
        )
    )
    _insert(store, CONTACTS, parts, stage=_("Encrypting and writing contacts"), total=fresh.height, steps=steps)


def _total_fen(prefix: str = "") -> pl.Expr:
    names = ("principal", "interest", "fee", "penalty")
    if prefix:
        return pl.sum_horizontal([pl.col(f"{prefix}{name}") for name in names])
    return pl.sum_horizontal([pl.col(f"{name}_outstanding") for name in names])


def _account_values() -> list[pl.Expr]:
    """Account columns from a checked row (money as text, for an exact NUMERIC)."""
    return [
        pl.col("product"),
        pl.col("currency"),
        *[v.fen_text(pl.col(name)).alias(name) for name in account_rows.AMOUNTS],
        pl.col("due_date"),
        pl.col("overdue_reason"),
        pl.col("source_hash"),
    ]


def _write_accounts(store: Store, plan: _Plan, *, now: datetime, actor: str, reference: str, steps: Steps) -> None:
    computed_status = (
        pl.when(_total_fen() == 0)
        .then(pl.lit(AccountStatus.paid_off.value))
        .otherwise(pl.lit(AccountStatus.open.value))
    )

    new_accounts = plan.new_accounts.lazy().select(
        pl.col("account_id").alias("id"),
        pl.col("account_no"),
        pl.col("debtor_id"),
        *_account_values(),
        computed_status.alias("status"),
        pl.lit("0.00").alias("credit_balance"),
        pl.lit(1).alias("version"),
        pl.lit(now).alias("created_at"),
        pl.lit(now).alias("updated_at"),
    )
    _insert(
        store,
        ACCOUNTS,
        chunks(new_accounts.collect()),
        stage=_("Writing accounts"),
        total=plan.new_accounts.height,
        steps=steps,
    )

    changed = plan.changed_accounts
    if changed.height:
        store.update(
            ACCOUNTS,
            changed.select(
                pl.col("account_id").alias("id"),
                pl.col("version"),
                *_account_values(),
                pl.when(pl.col("stored_status").is_in(IMPORT_STATUSES))
                .then(computed_status)
                .otherwise(pl.col("stored_status"))
                .alias("status"),
                pl.lit(now).alias("updated_at"),
            ),
            versioned=True,
        )

    balance_moved = (
        (pl.col("principal_outstanding") != pl.col("old_principal"))
        | (pl.col("interest_outstanding") != pl.col("old_interest"))
        | (pl.col("fee_outstanding") != pl.col("old_fee"))
        | (pl.col("penalty_outstanding") != pl.col("old_penalty"))
        | (pl.col("due_date") != pl.col("old_due_date")).fill_null(pl.col("due_date").is_not_null())
    )
    history_columns = ["account_id", *account_rows.OUTSTANDING, "due_date"]
    history = pl.concat(
        [
            plan.new_accounts.select(*history_columns, _total_fen().alias("delta")),
            changed.filter(balance_moved).select(*history_columns, (_total_fen() - _total_fen("old_")).alias("delta")),
        ],
        how="vertical",
    )
    history = history.select(
        store.next_ids(HISTORY, history.height).alias("id"),
        pl.col("account_id"),
        pl.lit(BalanceChangeSource.import_.value).alias("source"),
        pl.lit(reference[:200]).alias("reference"),
        *[v.fen_text(pl.col(name)).alias(name) for name in account_rows.OUTSTANDING],
        pl.col("due_date"),
        v.fen_text(pl.col("delta")).alias("delta_total"),
        pl.lit(now).alias("changed_at"),
        pl.lit(actor).alias("changed_by"),
    )
    _insert(store, HISTORY, chunks(history), stage=_("Writing balance history"), total=history.height, steps=steps)
