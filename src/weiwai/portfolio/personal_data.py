"""Sealing and opening the personal data of the portfolio.

One context string per stored field: it is both the AES-GCM associated data and the
blind-index domain, so values cannot be swapped between columns.
"""

from __future__ import annotations

from weiwai.security.crypto import Keyring, get_keyring
from weiwai.security.masking import mask_address, mask_national_id, mask_phone

NATIONAL_ID = "debtors.national_id"
ADDRESS = "debtors.address"
DEBTOR_PHONE = "debtor_phones.phone"
CONTACT_PHONE = "debtor_contacts.phone"
# Phones share one blind-index domain, so a number is found whoever it belongs to.
PHONE_INDEX = "phone"

MASKS = {NATIONAL_ID: mask_national_id, ADDRESS: mask_address, DEBTOR_PHONE: mask_phone, CONTACT_PHONE: mask_phone}


def seal(value: str, context: str, keyring: Keyring | None = None) -> bytes:
    return (keyring or get_keyring()).encrypt(value, context=context)


def open_value(envelope: bytes, context: str, *, reveal: bool, keyring: Keyring | None = None) -> str:
    """Decrypt and return the value masked, or whole when the caller asked to reveal."""
    plain = (keyring or get_keyring()).decrypt(envelope, context=context)
    return plain if reveal else MASKS[context](plain)


def national_id_index(national_id: str, keyring: Keyring | None = None) -> str:
    return (keyring or get_keyring()).blind_index(national_id, context=NATIONAL_ID)


def phone_index(phone: str, keyring: Keyring | None = None) -> str:
    return (keyring or get_keyring()).blind_index(phone, context=PHONE_INDEX)
