"""Validation and normalisation of mainland-China identity data: national IDs and mobiles."""

from __future__ import annotations

import re
from datetime import date

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")  # ASCII digits only (\d would take any script)
# Mainland mobile numbers: 11 digits starting 13-19 (all current carrier ranges).
_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")


def national_id_check_char(first17: str) -> str:
    """GB 11643-1999 check character (ISO 7064 MOD 11-2) for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalise_national_id(text: str) -> str:
    """Strip spaces and upper-case a trailing x; raise ValueError with a reason if invalid."""
    value = text.strip().replace(" ", "").upper()
    if len(value) != 18:
        raise ValueError("a national ID has 18 characters")
    if not _ID_RE.match(value):
        raise ValueError("a national ID is 17 digits and a digit or X")
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValueError("the birth date inside the national ID is not a real date") from None
    if national_id_check_char(value[:17]) != value[17]:
        raise ValueError("national ID check digit does not match")
    return value


def normalise_mobile(text: str) -> str:
    """Accept 13812345678, +86 138 1234 5678, 86-138-1234-5678; return 11 digits."""
    value = re.sub(r"[\s\-()]", "", text.strip())
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    elif value.startswith("86") and len(value) == 13:
        value = value[2:]
    if not _MOBILE_RE.match(value):
        raise ValueError("not a mainland mobile number (11 digits starting 13-19)")
    return value
