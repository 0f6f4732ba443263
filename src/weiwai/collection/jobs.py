"""The daily promise evaluation job, run by weiwai.jobs."""

from __future__ import annotations

from weiwai.collection.promise_service import evaluate_promises_job
from weiwai.jobs.registry import register

# After attribution (20): a promise is judged against every payment already attributed.
register("evaluate_promises", evaluate_promises_job, order=25)
