import pytest
from hypothesis import given
from hypothesis import strategies as st

from weiwai.security.crypto import DecryptionError, Keyring, key_id_of
from weiwai.security.masking import mask_address, mask_name, mask_national_id, mask_phone

RING = Keyring(keys={"a": b"a" * 32, "b": b"b" * 32}, active_key_id="b", blind_index_key=b"x" * 32)


@given(st.text(max_size=200))
def test_round_trip(text):
    envelope = RING.encrypt(text, context="debtors.address")
    assert RING.decrypt(envelope, context="debtors.address") == text


def test_key_id_travels_with_value_and_old_keys_still_decrypt():
    old = Keyring(keys={"a": b"a" * 32}, active_key_id="a", blind_index_key=b"x" * 32)
    envelope = old.encrypt("13812345678", context="debtor_phones.phone")
    assert key_id_of(envelope) == "a"
    assert RING.decrypt(envelope, context="debtor_phones.phone") == "13812345678"
    assert key_id_of(RING.encrypt("x", context="c")) == "b"


def test_ciphertext_does_not_contain_plaintext_and_is_randomised():
    a = RING.encrypt("110101199003071234", context="debtors.national_id")
    b = RING.encrypt("110101199003071234", context="debtors.national_id")
    assert a != b
    assert b"110101199003071234" not in a


def test_value_moved_to_another_column_does_not_decrypt():
    envelope = RING.encrypt("13812345678", context="debtor_phones.phone")
    with pytest.raises(DecryptionError):
        RING.decrypt(envelope, context="debtor_contacts.phone")


def test_tampered_value_is_refused():
    envelope = bytearray(RING.encrypt("13812345678", context="c"))
    envelope[-1] ^= 1
    with pytest.raises(DecryptionError):
        RING.decrypt(bytes(envelope), context="c")


def test_unknown_key_is_refused():
    other = Keyring(keys={"z": b"z" * 32}, active_key_id="z", blind_index_key=b"x" * 32)
    with pytest.raises(DecryptionError, match="unknown key"):
        RING.decrypt(other.encrypt("v", context="c"), context="c")


def test_blind_index_is_deterministic_keyed_and_contextual():
    assert RING.blind_index("13812345678", context="phone") == RING.blind_index("13812345678", context="phone")
    assert RING.blind_index("13812345678", context="phone") != RING.blind_index("13812345679", context="phone")
    assert RING.blind_index("13812345678", context="phone") != RING.blind_index("13812345678", context="nid")
    other = Keyring(keys={"a": b"a" * 32}, active_key_id="a", blind_index_key=b"y" * 32)
    assert other.blind_index("13812345678", context="phone") != RING.blind_index("13812345678", context="phone")


def test_masks():
    assert mask_national_id("110101199003071234") == "110***********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("张三") == "张*"
    assert mask_address("广东省深圳市南山区科技园路1号") == "广东省深圳市********"
