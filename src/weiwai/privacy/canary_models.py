"""Canary records planted in handover packages, and their later sightings."""

from __future__ import annotations

from weiwai.db import Base  # noqa: F401
