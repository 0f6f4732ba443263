"""Entrustment records, impact assessments, deletion dues and certificates, retention purges."""

from __future__ import annotations

from weiwai.db import Base  # noqa: F401
