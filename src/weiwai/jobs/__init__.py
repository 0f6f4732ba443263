"""Scheduled jobs: the registry others add to, the once-per-day runner and the scheduler."""
