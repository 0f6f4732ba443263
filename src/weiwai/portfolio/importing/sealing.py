"""The per-value work of an import, for whole columns: blind indexes, sealed envelopes
and row fingerprints.

AES-GCM and HMAC have to run once per value (through weiwai.portfolio.personal_data),
at one to three microseconds each: about 15 s of CPU for a million-row book. On a large
file that work is spread over worker processes (spawned, so they share nothing with
the polars threads of this one), chunk by chunk; results come back as polars Series,
so no column ever exists as a million Python objects. Small files are done in process,
where starting workers would cost more than it saves.

Spawned workers import the caller's main module, so a script that imports a large file
must keep its work under `if __name__ == "__main__":` (the `weiwai` command, the web
server and pytest do). Should the workers die anyway, the work is finished in process.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Self

import polars as pl

from weiwai.portfolio import personal_data
from weiwai.security.crypto import Keyring, get_keyring

CHUNK_VALUES = 25_000
# Below this many rows an import seals in process; above it, in WORKERS processes.
POOL_MIN_ROWS = 50_000
WORKERS = min(2, os.cpu_count() or 1)

Advance = Callable[[int], None]

NATIONAL_ID_INDEX = "national_id_index"
PHONE_INDEX = "phone_index"
SEAL = "seal"
FINGERPRINT = "fingerprint"

_worker_keyring: Keyring | None = None
log = logging.getLogger(__name__)


def _init_worker(keyring: Keyring) -> None:
    global _worker_keyring
    _worker_keyring = keyring


def _compute(kind: str, values: pl.Series, argument: str | bytes, keyring: Keyring) -> pl.Series:
    """One chunk of work; runs in a worker or in process."""
    items = values.to_list()
    if kind == NATIONAL_ID_INDEX:
        result = [None if v is None else personal_data.national_id_index(v, keyring) for v in items]
        return pl.Series(values.name, result, dtype=pl.String)
    if kind == PHONE_INDEX:
        result = [None if v is None else personal_data.phone_index(v, keyring) for v in items]
        return pl.Series(values.name, result, dtype=pl.String)
    if kind == SEAL:
        result = [None if v is None else personal_data.seal(v, argument, keyring) for v in items]
        return pl.Series(values.name, result, dtype=pl.Binary)
    if kind == FINGERPRINT:
        digest = hashlib.blake2b
        result = [digest(v.encode(), key=argument, digest_size=16).hexdigest() for v in items]
        return pl.Series(values.name, result, dtype=pl.String)
    raise ValueError(f"unknown kind of work {kind!r}")


def _compute_in_worker(task: tuple[str, pl.Series, str | bytes]) -> pl.Series:
    kind, values, argument = task
    assert _worker_keyring is not None, "worker started without a keyring"
    return _compute(kind, values, argument, _worker_keyring)


def _ready() -> bool:
    return _worker_keyring is not None


class Sealer:
    """Column-wide crypto for one import; use as a context manager (it may own worker processes)."""

    def __init__(self, *, rows: int, keyring: Keyring | None = None) -> None:
        self.keyring = keyring or get_keyring()
        self.chunk_values = CHUNK_VALUES  # the size of the pieces sealed_chunks yields
        self._pool: Executor | None = None
        if rows >= POOL_MIN_ROWS and WORKERS > 1:
            self._pool = ProcessPoolExecutor(
                max_workers=WORKERS,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.keyring,),
            )
            # Start the workers now, so that they are ready by the time the rows are checked.
            self._warming = [self._pool.submit(_ready) for _ in range(WORKERS)]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _give_up_workers(self, error: BaseException) -> None:
        if self._pool is not None:
            log.warning("import workers stopped (%s); sealing in process instead", error)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _run(self, kind: str, values: pl.Series, argument: str | bytes, advance: Advance | None) -> pl.Series:
        size = self.chunk_values
        chunks = [values.slice(start, size) for start in range(0, values.len(), size)]
        parts: list[pl.Series] = []

        def done(part: pl.Series) -> None:
            parts.append(part)
            if advance:
                advance(part.len())

        if self._pool is not None and len(chunks) > 1:
            try:
                for part in self._pool.map(_compute_in_worker, [(kind, chunk, argument) for chunk in chunks]):
                    done(part)
            except BrokenProcessPool as error:
                self._give_up_workers(error)
        for chunk in chunks[len(parts) :]:
            done(_compute(kind, chunk, argument, self.keyring))
        if not parts:
            dtype = pl.Binary if kind == SEAL else pl.String
            return pl.Series(values.name, [], dtype=dtype)
        return pl.concat(parts, rechunk=True)

    def sealed_chunks(self, values: pl.Series, context: str) -> Iterator[pl.Series]:
        """`values` sealed chunk by chunk (chunk_values each), computed a few chunks ahead.

        For writing while sealing: workers seal the next chunks while the caller writes
        this one, and only a few chunks of envelopes exist at a time.
        """
        size = self.chunk_values
        upcoming = iter([values.slice(start, size) for start in range(0, values.len(), size)])
        ahead: deque[tuple[pl.Series, Future]] = deque()

        def submit() -> None:
            if self._pool is None:
                return
            chunk = next(upcoming, None)
            if chunk is not None:
                ahead.append((chunk, self._pool.submit(_compute_in_worker, (SEAL, chunk, context))))

        for _ in range(2 * WORKERS):
            submit()
        while ahead:
            chunk, future = ahead.popleft()
            try:
                part = future.result()
            except BrokenProcessPool as error:
                self._give_up_workers(error)
                part = _compute(SEAL, chunk, context, self.keyring)
            submit()
            yield part
        for chunk in upcoming:  # without workers: a small file, or workers that stopped
            yield _compute(SEAL, chunk, context, self.keyring)

    def national_id_indexes(self, values: pl.Series, *, advance: Advance | None = None) -> pl.Series:
        """The blind index of each (normalised) national ID."""
        return self._run(NATIONAL_ID_INDEX, values, "", advance)

    def phone_indexes(self, values: pl.Series, *, advance: Advance | None = None) -> pl.Series:
        """The blind index of each (normalised) phone number."""
        return self._run(PHONE_INDEX, values, "", advance)

    def sealed(self, values: pl.Series, context: str, *, advance: Advance | None = None) -> pl.Series:
        """Each value sealed (AES-GCM envelope) for the column `context`; null stays null."""
        return self._run(SEAL, values, context, advance)

    def fingerprints(self, texts: pl.Series, key: bytes, *, advance: Advance | None = None) -> pl.Series:
        """Keyed BLAKE2b-128 (hex) of each text."""
        return self._run(FINGERPRINT, texts, key, advance)
