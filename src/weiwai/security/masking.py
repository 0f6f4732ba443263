"""Masks for personal data shown to people who did not ask to reveal it.

`mask_chars` is the one primitive: keep a few leading and trailing characters, stars in
between, and never the whole value (a value too short to hide anything is all stars).
The named masks are the default shapes built on it (weiwai.security.masking_policy uses
them for the default rules and `mask_chars` for a contract's own shapes).
"""

from __future__ import annotations


def mask_chars(value: str, *, keep_start: int, keep_end: int = 0, max_stars: int | None = None) -> str:
    """Keep `keep_start` leading and `keep_end` trailing characters; at least one is always hidden.

    `max_stars` caps the stars shown (so that the length of a long value does not show).
    """
    if keep_start < 0 or keep_end < 0:
        raise ValueError("keep_start and keep_end must not be negative")
    length = len(value)
    hidden = length - keep_start - keep_end
    if hidden < 1:
        return "*" * length
    stars = hidden if max_stars is None else min(hidden, max_stars)
    return value[:keep_start] + "*" * stars + (value[length - keep_end:] if keep_end else "")


def mask_national_id(value: str) -> str:
    """110101199003071234 -> 110***********1234 (region prefix and last four)."""
    return mask_chars(value, keep_start=3, keep_end=4)


def mask_phone(value: str) -> str:
    """13812345678 -> 138****5678."""
    return mask_chars(value, keep_start=3, keep_end=4)


ADDRESS_KEEP = 6
ADDRESS_MAX_STARS = 8


def mask_address(value: str) -> str:
    """Keep the first six characters (province and city), hide the rest."""
    if len(value) <= ADDRESS_KEEP:
        return mask_chars(value, keep_start=2)
    return mask_chars(value, keep_start=ADDRESS_KEEP, max_stars=ADDRESS_MAX_STARS)


def mask_name(value: str) -> str:
    """张三丰 -> 张*丰; 张三 -> 张*; a one-character name is all stars."""
    if len(value) <= 2:
        return mask_chars(value, keep_start=1)
    return mask_chars(value, keep_start=1, keep_end=1)
