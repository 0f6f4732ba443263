"""What every rule document kept as versioned data shares (screening rules, queue policies).

A rule document is a frozen Pydantic model; its canonical form spells out every default,
so that two documents meaning the same thing have the same SHA-256, which is how a new
version is told from a resubmission of the current one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel


class CanonicalDocument(BaseModel):
    def canonical(self) -> dict[str, Any]:
        """The document with every default spelled out: equal documents give equal dicts."""
        return self.model_dump(mode="json")

    def canonical_json(self) -> str:
        return json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()
