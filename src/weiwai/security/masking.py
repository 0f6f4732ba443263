"""Default masks for personal data shown to people who did not ask to reveal it."""

from __future__ import annotations


def mask_national_id(value: str) -> str:
    """110101199003071234 -> 110***********1234 (region prefix and last four)."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """13812345678 -> 138****5678."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_address(value: str) -> str:
    """Keep the first six characters (province and city), hide the rest."""
    visible = 6
    if len(value) <= visible:
        return value[:2] + "*" * max(len(value) - 2, 0)
    return value[:visible] + "*" * min(len(value) - visible, 8)


def mask_name(value: str) -> str:
    """张三丰 -> 张*丰; 张三 -> 张*."""
    if len(value) <= 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
