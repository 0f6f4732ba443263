"""Settings, read from WEIWAI_* environment variables (and .env) when first asked for.

Secrets have no usable default: outside demo mode, placeholder or missing keys are
refused at start-up. In demo mode a key file is generated next to the database and
the operator is told so.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "placeholder", "dev", "test"}
DEFAULT_SQLITE_PATH = Path("var/weiwai.db")


class BucketBand(BaseModel):
    """One delinquency bucket: an inclusive range of days past due."""

    label: str
    min_dpd: int = Field(ge=0)
    max_dpd: int | None = None  # None = open-ended (M7+)


DEFAULT_BUCKETS = [
    BucketBand(label="M1", min_dpd=1, max_dpd=30),
    BucketBand(label="M2", min_dpd=31, max_dpd=60),
    BucketBand(label="M3", min_dpd=61, max_dpd=90),
    BucketBand(label="M4", min_dpd=91, max_dpd=120),
    BucketBand(label="M5", min_dpd=121, max_dpd=150),
    BucketBand(label="M6", min_dpd=151, max_dpd=180),
    BucketBand(label="M7+", min_dpd=181, max_dpd=None),
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEIWAI_", env_file=".env", extra="ignore")

    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    demo_mode: bool = False
    # Data-encryption keys: "kid1:base64key,kid2:base64key"; 32-byte keys (AES-256).
    data_keys: str = ""
    active_key_id: str = ""
    # Key for the blind index (HMAC-SHA256) used for exact look-ups of encrypted values.
    blind_index_key: str = ""
    # Signs session cookies.
    secret_key: str = ""
    # Where demo mode keeps the keys it generated.
    demo_key_file: Path = Path("var/demo-keys.json")
    default_time_zone: str = "Asia/Shanghai"
    default_currency: str = "CNY"
    default_locale: str = "zh_CN"
    buckets: list[BucketBand] = Field(default_factory=lambda: list(DEFAULT_BUCKETS))
    # Order in which a payment pays off the balance components.
    payment_waterfall: list[str] = Field(
        default_factory=lambda: ["fee", "penalty", "interest", "principal"]
    )
    host: str = "127.0.0.1"
    port: int = 8000
    session_max_age_seconds: int = 8 * 3600
    # A signed-in session also ends after this long without a request.
    session_idle_seconds: int = Field(default=30 * 60, gt=0)
    # Send the session cookie over HTTPS only. Unset: on, except in demo mode (plain HTTP).
    cookie_secure: bool | None = None
    # Password sign-in attempts one client address may fail within login_window_seconds.
    login_failures_per_client: int = Field(default=20, gt=0)
    login_window_seconds: int = Field(default=15 * 60, gt=0)
    # The compliance pack contacts are judged by (CN, US or UK; weiwai/compliance/packs/), and
    # what happens to an action the check would deny: refused, or recorded as a violation
    # (for actions an agency's own dialer reports after the fact).
    compliance_pack: str = "CN"
    # How messages name the lender, and the only repayment accounts and links a template may
    # carry (CN-07): anything else in a template is flagged as a non-official account.
    lender_name: str = ""
    official_repayment_channels: list[str] = Field(default_factory=list)
    compliance_enforcement: Literal["refuse", "record"] = "refuse"
    # How long a slot reserved by a pre-contact check stays taken without an action using it.
    contact_reservation_minutes: int = Field(default=15, gt=0, le=24 * 60)
    # Run due jobs (expiry, promises, month end, scorecards) in the server's background.
    # `weiwai serve` turns this on unless told --no-jobs; tests and other commands leave it off.
    run_jobs: bool = False
    jobs_poll_seconds: float = Field(default=60.0, gt=0)
    # Complaints, agency reviews and collector qualifications (weiwai.compliance: complaints,
    # reviews, qualifications; docs/complaints.md). Days a complaint must be answered in, per source.
    complaint_response_days: dict[str, int] = Field(
        default_factory=lambda: {"regulator": 5, "lender": 10, "debtor": 15}
    )
    # CN-11: no new placement when an agency's last review is older than this (or failed).
    agency_review_max_age_days: int = Field(default=365, gt=0)
    # CN-11: a contract ending within this many days needs a pre_expiry review.
    pre_expiry_review_days: int = Field(default=60, gt=0)
    # CN-10: collectors log actions and check contacts only with current qualifications.
    collector_qualifications_required: bool = True
    # The server seals new audit events into the hash chain this often (0: only after each
    # request and in the daily job; docs/audit.md).
    audit_seal_interval_seconds: float = Field(default=30.0, ge=0)
    # Rate limits (docs/security.md): reveals of personal data and number-reference
    # resolutions one person may make within the window; beyond it 429 with Retry-After.
    reveal_limit_per_window: int = Field(default=30, gt=0)
    number_ref_limit_per_window: int = Field(default=60, gt=0)
    rate_limit_window_seconds: int = Field(default=3600, gt=0)
    qualification_valid_days: int = Field(default=365, gt=0)
    # Canary records planted in each handover package (weiwai.privacy.canaries, docs/leaks.md):
    # max(canary_min, ceil(rows / canary_rows_per_canary)), at most canary_max.
    canary_min: int = Field(default=2, ge=1, le=100)
    canary_rows_per_canary: int = Field(default=2000, gt=0)
    canary_max: int = Field(default=25, ge=1, le=1000)
    # Information-security reviews of agencies (weiwai.privacy.infosec, docs/infosec-reviews.md).
    infosec_review_interval_months: int = Field(default=12, gt=0, le=60)
    infosec_remediation_days: dict[str, int] = Field(
        default_factory=lambda: {"critical": 14, "high": 30, "medium": 60, "low": 90}
    )

    @field_validator("buckets")
    @classmethod
    def _buckets_are_contiguous(cls, bands: list[BucketBand]) -> list[BucketBand]:
        if not bands:
            raise ValueError("at least one bucket band is required")
        expected = bands[0].min_dpd
        for i, band in enumerate(bands):
            if band.min_dpd != expected:
                raise ValueError(f"bucket {band.label} should start at {expected} DPD")
            if band.max_dpd is None:
                if i != len(bands) - 1:
                    raise ValueError(f"only the last bucket may be open-ended ({band.label})")
                break
            if band.max_dpd < band.min_dpd:
                raise ValueError(f"bucket {band.label} ends before it starts")
            expected = band.max_dpd + 1
        return bands

    @field_validator("payment_waterfall")
    @classmethod
    def _waterfall_is_complete(cls, order: list[str]) -> list[str]:
        if sorted(order) != ["fee", "interest", "penalty", "principal"]:
            raise ValueError("payment_waterfall must list fee, penalty, interest, principal once each")
        return order

    @model_validator(mode="after")
    def _secrets_present(self) -> "Settings":
        if self.demo_mode:
            _fill_demo_secrets(self)
        problems = []
        if not self.parsed_data_keys():
            problems.append("WEIWAI_DATA_KEYS")
        if self.blind_index_key.lower() in PLACEHOLDER_SECRETS or len(self.blind_index_key) < 32:
            problems.append("WEIWAI_BLIND_INDEX_KEY (at least 32 characters)")
        if self.secret_key.lower() in PLACEHOLDER_SECRETS or len(self.secret_key) < 32:
            problems.append("WEIWAI_SECRET_KEY (at least 32 characters)")
        if problems:
            raise ValueError(
                "missing or placeholder secrets: " + ", ".join(problems)
                + ". Set them, or run with WEIWAI_DEMO_MODE=true to generate demo keys."
            )
        if not self.active_key_id:
            # With no explicit choice the last key listed encrypts new values.
            object.__setattr__(self, "active_key_id", list(self.parsed_data_keys())[-1])
        if self.active_key_id not in self.parsed_data_keys():
            raise ValueError(f"WEIWAI_ACTIVE_KEY_ID {self.active_key_id!r} is not among WEIWAI_DATA_KEYS")
        return self

    def parsed_data_keys(self) -> dict[str, bytes]:
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in self.data_keys.split(","))):
            kid, _, encoded = item.partition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except ValueError as exc:
                raise ValueError(f"data key {kid!r} is not valid base64") from exc
            if len(key) != 32:
                raise ValueError(f"data key {kid!r} must be 32 bytes (AES-256), got {len(key)}")
            if encoded.lower() in PLACEHOLDER_SECRETS:
                raise ValueError(f"data key {kid!r} is a placeholder")
            keys[kid] = key
        return keys

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _fill_demo_secrets(settings: Settings) -> None:
    """Load the demo key file, creating it with fresh random keys the first time."""
    path = settings.demo_key_file
    if path.exists():
        stored = json.loads(path.read_text())
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        stored = {
            "data_keys": "demo1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
            "active_key_id": "demo1",
            "blind_index_key": secrets.token_urlsafe(48),
            "secret_key": secrets.token_urlsafe(48),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(stored, fh)
        settings.__dict__["generated_demo_keys"] = True
    for name in ("data_keys", "active_key_id", "blind_index_key", "secret_key"):
        if not getattr(settings, name):
            object.__setattr__(settings, name, stored[name])


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import time)."""
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests and CLI options that change the environment)."""
    get_settings.cache_clear()
    from weiwai import db

    db.reset_engine()
