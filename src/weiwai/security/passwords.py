"""Password hashing with Argon2id (argon2-cffi's RFC 9106 low-memory profile).

Hashes are self-describing ($argon2id$v=19$m=…,t=…,p=…$salt$hash), so the parameters can
be raised later: `needs_rehash` tells a successful sign-in to store a fresh hash.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(type=Type.ID)


def hash_password(password: str) -> str:
    """An Argon2id hash of the password, with a fresh random salt."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the hash; False for a mismatch or a malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def spend_verification_time(password: str) -> None:
    """Verify against a decoy hash, so that an unknown username fails as slowly as a wrong password."""
    verify_password(_decoy_hash(), password)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return hash_password("decoy password of no user")
