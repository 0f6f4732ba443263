"""Field encryption (AES-256-GCM) and blind indexes (HMAC-SHA256) for personal data.

Stored envelope, one bytes value per field:
    b"\x01" | len(kid) (1 byte) | kid (ascii) | nonce (12 bytes) | ciphertext+tag
The key id travels with the value so that keys can be rotated value by value.
Associated data binds a ciphertext to its column ("debtors.national_id"), so a value
copied into another column does not decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENVELOPE_VERSION = 1
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored value could not be decrypted (unknown key id, tampering, wrong column)."""


@dataclass(frozen=True)
class Keyring:
    keys: Mapping[str, bytes]
    active_key_id: str
    blind_index_key: bytes

    def __post_init__(self) -> None:
        if self.active_key_id not in self.keys:
            raise ValueError(f"active key {self.active_key_id!r} is not in the keyring")
        for kid in self.keys:
            if not kid.isascii() or not 0 < len(kid) < 256:
                raise ValueError(f"key id {kid!r} must be 1-255 ascii characters")

    def _aead(self, kid: str) -> AESGCM:
        return _aesgcm(self.keys[kid])

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        kid = self.active_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead(kid).encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        kid_bytes = kid.encode("ascii")
        return bytes((ENVELOPE_VERSION, len(kid_bytes))) + kid_bytes + nonce + sealed

    def decrypt(self, envelope: bytes, *, context: str) -> str:
        kid, nonce, sealed = split_envelope(envelope)
        if kid not in self.keys:
            raise DecryptionError(f"unknown key id {kid!r}")
        try:
            return self._aead(kid).decrypt(nonce, sealed, context.encode()).decode("utf-8")
        except Exception as exc:  # InvalidTag: wrong key, tampered value or wrong column
            raise DecryptionError(f"value under key {kid!r} failed authentication") from exc

    def blind_index(self, normalised: str, *, context: str) -> str:
        """Deterministic keyed digest for exact look-ups, independent of the data key."""
        mac = hmac.new(self.blind_index_key, f"{context}\x00{normalised}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]


def split_envelope(envelope: bytes) -> tuple[str, bytes, bytes]:
    if len(envelope) < 2 or envelope[0] != ENVELOPE_VERSION:
        raise DecryptionError("not a weiwai envelope")
    kid_len = envelope[1]
    kid = envelope[2 : 2 + kid_len].decode("ascii")
    start = 2 + kid_len
    return kid, envelope[start : start + NONCE_BYTES], envelope[start + NONCE_BYTES :]


def key_id_of(envelope: bytes) -> str:
    return split_envelope(envelope)[0]


@lru_cache(maxsize=16)
def _aesgcm(key: bytes) -> AESGCM:
    return AESGCM(key)


_keyring: Keyring | None = None


def get_keyring() -> Keyring:
    """The process keyring, built from settings on first use."""
    global _keyring
    if _keyring is None:
        from weiwai.config import get_settings

        settings = get_settings()
        _keyring = Keyring(
            keys=settings.parsed_data_keys(),
            active_key_id=settings.active_key_id,
            blind_index_key=settings.blind_index_key.encode(),
        )
    return _keyring


def reset_keyring() -> None:
    global _keyring
    _keyring = None
