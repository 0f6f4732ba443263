"""(being built) Scheduled jobs, registered with weiwai.jobs.registry."""

from __future__ import annotations
