"""The month-end job of the commission ledger, run by weiwai.jobs."""

from __future__ import annotations

from weiwai.jobs.registry import month_start, register
from weiwai.settlement.service import month_end_commission

# After expiry (10) and the day's attribution (20), so that the month being closed is
# complete; before the scorecards (90), which count commission in net back.
register("month_end_commission", month_end_commission, order=30, due=month_start)
