"""Jobs of closing and evaluation, run daily by weiwai.jobs."""

from __future__ import annotations

from weiwai.jobs.registry import register
from weiwai.reports.scorecards import scorecards_job

# After expiry (10), promises and month-end commission: scorecards count what they did.
register("scorecards", scorecards_job, order=90)
