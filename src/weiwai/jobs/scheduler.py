"""Running due jobs in the background of `weiwai serve`.

A daemon thread wakes every `poll_seconds` and runs the jobs due for today (in the
lender's time zone). Jobs that already ran today are skipped cheaply (one look-up each),
so polling often is harmless, and several server processes may poll at once: JobRun lets
only one of them run a job for a day. The scheduler is never started implicitly: the app's
lifespan starts it when the settings ask for it, and tests leave it off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date

from weiwai.jobs.runner import JobOutcome, run_due_jobs

log = logging.getLogger(__name__)


class BackgroundScheduler:
    def __init__(
        self,
        *,
        poll_seconds: float = 60.0,
        today: Callable[[], date] | None = None,
        run: Callable[..., list[JobOutcome]] = run_due_jobs,
    ) -> None:
        from weiwai.placements.common import local_today

        self.poll_seconds = poll_seconds
        self.today = today or local_today
        self.run = run
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="weiwai-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def tick(self) -> list[JobOutcome]:
        """Run what is due today; never raises (a scheduler that dies silently is worse)."""
        try:
            outcomes = self.run(run_for=self.today())
        except Exception:
            log.exception("running due jobs failed")
            return []
        for outcome in outcomes:
            if outcome.status in ("ran", "failed"):
                log.info("job %s for %s: %s %s", outcome.job, outcome.run_for, outcome.status,
                         outcome.error or outcome.result)
        return outcomes

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.poll_seconds)


_scheduler: BackgroundScheduler | None = None
_lock = threading.Lock()


def start_background_scheduler(*, poll_seconds: float = 60.0) -> BackgroundScheduler:
    """Start the process-wide scheduler (again a no-op while it runs)."""
    global _scheduler
    with _lock:
        if _scheduler is None or not _scheduler.running:
            _scheduler = BackgroundScheduler(poll_seconds=poll_seconds)
            _scheduler.start()
        return _scheduler


def stop_background_scheduler() -> None:
    """Stop it and wait for a running job to finish its transaction."""
    global _scheduler
    with _lock:
        if _scheduler is not None:
            _scheduler.stop()
        _scheduler = None
