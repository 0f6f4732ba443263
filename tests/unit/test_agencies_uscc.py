"""Unified social credit codes (GB 32100-2015): check character, normalisation, refusals."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weiwai.agencies.uscc import ALPHABET, make_uscc, normalise_uscc, uscc_check_char

DIGITS = "0123456789"
# Bodies of 17 characters in the code's alphabet, with the division code (3rd-8th) in digits.
bodies = st.builds(
    lambda head, division, tail: head + division + tail,
    st.text(alphabet=ALPHABET, min_size=2, max_size=2),
    st.text(alphabet=DIGITS, min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=9, max_size=9),
)


def test_a_real_code_in_the_published_format_is_accepted():
    # Tencent Technology (Shenzhen) Co., Ltd., as printed on its business licence.
    assert uscc_check_char("91440300708461136") == "T"
    assert normalise_uscc("91440300708461136T") == "91440300708461136T"


def test_normalising_removes_spaces_and_upper_cases():
    assert normalise_uscc(" 9144 0300 7084 6113 6t ") == "91440300708461136T"


def test_the_alphabet_leaves_out_easily_misread_letters():
    assert len(ALPHABET) == 31
    assert not set("IOZSV") & set(ALPHABET)


@given(bodies)
def test_made_codes_are_valid_and_canonical(body):
    code = make_uscc(body)
    assert len(code) == 18 and code.startswith(body)
    assert normalise_uscc(code) == code
    assert normalise_uscc(code.lower()) == code


@given(bodies, st.integers(min_value=0, max_value=17), st.sampled_from(ALPHABET))
def test_any_single_character_change_is_refused(body, position, replacement):
    code = make_uscc(body)
    if code[position] == replacement:
        replacement = ALPHABET[(ALPHABET.index(replacement) + 1) % len(ALPHABET)]
    changed = code[:position] + replacement + code[position + 1:]
    with pytest.raises(ValueError):
        normalise_uscc(changed)


@given(bodies, st.integers(min_value=0, max_value=17), st.sampled_from("IOZSV*-"))
def test_characters_outside_the_alphabet_are_refused(body, position, bad):
    code = make_uscc(body)
    with pytest.raises(ValueError):
        normalise_uscc(code[:position] + bad + code[position + 1:])


@pytest.mark.parametrize(
    "text,reason",
    [
        ("91440300708461136", "18 characters, this one has 17"),
        ("91440300708461136TT", "this one has 19"),
        ("91440300708461136X", "should be T"),
        ("9144030070846113IT", "character 17 (I) is not allowed"),
        ("91A40300708461136T", "administrative division code"),
    ],
)
def test_refusals_say_what_is_wrong(text, reason):
    from weiwai.i18n import using_locale

    with using_locale("en"), pytest.raises(ValueError, match=re.escape(reason)):
        normalise_uscc(text)


def test_make_uscc_refuses_a_body_of_the_wrong_length_or_alphabet():
    with pytest.raises(ValueError):
        make_uscc("9144030070846113")
    with pytest.raises(ValueError):
        make_uscc("9144030070846113O")
