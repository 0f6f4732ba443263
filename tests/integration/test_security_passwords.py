"""Argon2id password hashes: verify, refuse, and know when to rehash."""

from argon2 import PasswordHasher

from weiwai.security.passwords import hash_password, needs_rehash, verify_password


def test_hash_is_argon2id_salted_and_verifies():
    first = hash_password("correct horse battery staple")
    second = hash_password("correct horse battery staple")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert "correct horse" not in first
    assert verify_password(first, "correct horse battery staple")
    assert not verify_password(first, "correct horse battery stapler")


def test_malformed_hash_does_not_verify():
    assert not verify_password("not-a-hash", "anything")
    assert not verify_password("", "anything")


def test_hash_with_other_parameters_needs_rehash():
    assert not needs_rehash(hash_password("a long enough password"))
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("a long enough password")
    assert needs_rehash(weaker)
    assert verify_password(weaker, "a long enough password")
