"""Data-key providers and key rotation of the sealed (`*_enc`) columns.

Keys come from a `KeyProvider`: the settings (`WEIWAI_DATA_KEYS`, `WEIWAI_ACTIVE_KEY_ID`,
the default, used by the running app), a JSON file, or any other source such as a KMS,
which only has to implement the same two members (`keys()` and `active_key_id`).

Rotation re-encrypts, batch by batch, every sealed value that is not under the active key.
Each batch is its own transaction and every value is always under *some* key of the
keyring, so an interrupted rotation leaves everything readable; rerunning skips the values
already under the active key and so resumes where it stopped. Blind indexes (`*_bidx`) use
the separate blind-index key and are never touched: look-ups keep working.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from weiwai.errors import RuleViolation
from weiwai.portfolio import personal_data
from weiwai.security.crypto import DecryptionError, Keyring, get_keyring, key_id_of


@runtime_checkable
class KeyProvider(Protocol):
    """Where data keys come from. A KMS-backed provider implements exactly this."""

    @property
    def active_key_id(self) -> str: ...

    def keys(self) -> dict[str, bytes]:
        """Every key that may still decrypt stored values, by key id (32 bytes each)."""
        ...


class SettingsKeyProvider:
    """The default: `WEIWAI_DATA_KEYS` ("kid:base64,kid2:base64") and `WEIWAI_ACTIVE_KEY_ID`."""

    def __init__(self, settings=None) -> None:
        if settings is None:
            from weiwai.config import get_settings

            settings = get_settings()
        self._settings = settings

    @property
    def active_key_id(self) -> str:
        return self._settings.active_key_id

    def keys(self) -> dict[str, bytes]:
        return self._settings.parsed_data_keys()


class FileKeyProvider:
    """A JSON file `{"active": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}}`."""

    def __init__(self, path: Path | str) -> None:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            self._active = str(data["active"])
            encoded = dict(data["keys"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"key file {path}: {exc}") from exc
        self._keys: dict[str, bytes] = {}
        for kid, value in encoded.items():
            try:
                key = base64.b64decode(value, validate=True)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"key file {path}: key {kid!r} is not valid base64") from exc
            if len(key) != 32:
                raise ValueError(f"key file {path}: key {kid!r} must be 32 bytes (AES-256), got {len(key)}")
            self._keys[str(kid)] = key

    @property
    def active_key_id(self) -> str:
        return self._active

    def keys(self) -> dict[str, bytes]:
        return dict(self._keys)


def keyring_from(provider: KeyProvider, *, blind_index_key: bytes | None = None) -> Keyring:
    """A keyring over the provider's keys; the blind-index key stays the settings' one by default."""
    if blind_index_key is None:
        from weiwai.config import get_settings

        blind_index_key = get_settings().blind_index_key.encode()
    return Keyring(keys=provider.keys(), active_key_id=provider.active_key_id, blind_index_key=blind_index_key)


# --- the sealed columns ----------------------------------------------------------------


@dataclass(frozen=True)
class SealedColumn:
    table: str
    id_column: str
    column: str
    context: str  # the associated data personal_data seals the column with

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"

    def sa_table(self) -> Table:
        import weiwai.portfolio.models  # noqa: F401  (registers the tables)
        from weiwai.db import Base

        return Base.metadata.tables[self.table]


# Every `*_enc` column, with the same context personal_data uses to seal and open it.
SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn("debtors", "id", "national_id_enc", personal_data.NATIONAL_ID),
    SealedColumn("debtors", "id", "address_enc", personal_data.ADDRESS),
    SealedColumn("debtor_phones", "id", "phone_enc", personal_data.DEBTOR_PHONE),
    SealedColumn("debtor_contacts", "id", "phone_enc", personal_data.CONTACT_PHONE),
)


# --- rotation -------------------------------------------------------------------------


@dataclass
class ColumnRotation:
    examined: int = 0
    reencrypted: int = 0
    # Changed by someone else between our read and our write (and so already under a new envelope).
    skipped_concurrent: int = 0


@dataclass
class RotationReport:
    active_key_id: str
    columns: dict[str, ColumnRotation] = field(default_factory=dict)

    @property
    def examined(self) -> int:
        return sum(c.examined for c in self.columns.values())

    @property
    def reencrypted(self) -> int:
        return sum(c.reencrypted for c in self.columns.values())

    def as_dict(self) -> dict:
        return {
            "active_key_id": self.active_key_id,
            "examined": self.examined,
            "reencrypted": self.reencrypted,
            "columns": {
                name: {"examined": c.examined, "reencrypted": c.reencrypted, "skipped_concurrent": c.skipped_concurrent}
                for name, c in self.columns.items()
            },
        }


# progress(column name, values examined so far in that column, values in that column)
Progress = Callable[[str, int, int], None]


def _rotate_batch(session: Session, spec: SealedColumn, rows, keyring: Keyring, result: ColumnRotation) -> None:
    """Re-encrypt the rows of one batch that are not under the active key (in `session`)."""
    table = spec.sa_table()
    id_col, col = table.c[spec.id_column], table.c[spec.column]
    for row_id, envelope in rows:
        if envelope is None:
            continue
        envelope = bytes(envelope)
        if key_id_of(envelope) == keyring.active_key_id:
            continue
        try:
            plain = keyring.decrypt(envelope, context=spec.context)
        except DecryptionError as exc:
            raise RuleViolation(
                f"{spec.name} of row {row_id} cannot be decrypted ({exc}); is its key missing from the keyring?",
                code="key_rotation_failed",
            ) from exc
        new = keyring.encrypt(plain, context=spec.context)
        # Compare-and-swap: a value rewritten meanwhile (by the app, under the active key) is left alone.
        written = session.execute(update(table).where(id_col == row_id, col == envelope).values({spec.column: new}))
        if written.rowcount == 1:
            result.reencrypted += 1
        else:
            result.skipped_concurrent += 1


def rotate(
    *,
    session_factory: Callable[[], Session],
    batch_size: int = 1000,
    progress: Progress | None = None,
    keyring: Keyring | None = None,
    columns: tuple[SealedColumn, ...] = SEALED_COLUMNS,
) -> RotationReport:
    """Re-encrypt every sealed value under the keyring's active key, one transaction per batch."""
    if batch_size < 1:
        raise RuleViolation("batch size must be at least 1", code="invalid_batch_size")
    keyring = keyring or get_keyring()
    if keyring.active_key_id not in keyring.keys:
        raise RuleViolation(f"active key {keyring.active_key_id!r} is not in the keyring", code="unknown_active_key")
    report = RotationReport(active_key_id=keyring.active_key_id)
    for spec in columns:
        result = report.columns.setdefault(spec.name, ColumnRotation())
        table = spec.sa_table()
        id_col, col = table.c[spec.id_column], table.c[spec.column]
        with session_factory() as session:
            total = session.scalar(select(func.count()).select_from(table).where(col.is_not(None))) or 0
        if progress:
            progress(spec.name, 0, total)
        last_id = None
        while True:
            with session_factory() as session:
                query = select(id_col, col).where(col.is_not(None)).order_by(id_col).limit(batch_size)
                if last_id is not None:
                    query = query.where(id_col > last_id)
                rows = session.execute(query).all()
                if not rows:
                    break
                _rotate_batch(session, spec, rows, keyring, result)
                session.commit()
            last_id = rows[-1][0]
            result.examined += len(rows)
            if progress:
                progress(spec.name, result.examined, max(total, result.examined))
    return report


def status(*, session: Session, columns: tuple[SealedColumn, ...] = SEALED_COLUMNS) -> dict[str, dict[str, int]]:
    """How many values each key id holds, per sealed column: {column: {kid: count}}."""
    counts: dict[str, dict[str, int]] = {}
    for spec in columns:
        col = spec.sa_table().c[spec.column]
        per_kid: Counter[str] = Counter()
        for (envelope,) in session.execute(select(col).where(col.is_not(None)).execution_options(yield_per=2000)):
            try:
                per_kid[key_id_of(bytes(envelope))] += 1
            except (DecryptionError, UnicodeDecodeError):
                per_kid["?"] += 1
        counts[spec.name] = dict(sorted(per_kid.items()))
    return counts
