"""Agency information-security reviews: checklists, reviews and findings."""

from __future__ import annotations

from weiwai.db import Base  # noqa: F401
