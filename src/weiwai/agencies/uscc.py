"""Unified social credit codes (统一社会信用代码), GB 32100-2015.

Eighteen characters: registration authority (1), entity type (1), administrative
division code (6 digits), entity identifier (9), check character (1). The alphabet has
31 characters; I, O, Z, S and V are left out because they are easily misread as
1, 0, 2, 5 and U. The check character makes every single-character substitution
detectable, since each weight is non-zero modulo the prime 31.
"""

from __future__ import annotations

from weiwai.i18n import _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
_DIVISION = slice(2, 8)


def uscc_check_char(first17: str) -> str:
    """The check character for the first 17 characters of a code (already upper case)."""
    if len(first17) != LENGTH - 1:
        raise ValueError(_("the first part of a unified social credit code has 17 characters"))
    total = 0
    for position, (char, weight) in enumerate(zip(first17, WEIGHTS, strict=True), start=1):
        if char not in _VALUE:
            raise ValueError(_invalid_char_reason(char, position))
        total += _VALUE[char] * weight
    return ALPHABET[(31 - total % 31) % 31]


def normalise_uscc(text: str) -> str:
    """The code in canonical form (upper case, no spaces), or ValueError saying what is wrong."""
    code = "".join(str(text).split()).upper()
    if len(code) != LENGTH:
        raise ValueError(
            _("a unified social credit code has 18 characters, this one has {count}").format(count=len(code))
        )
    _check_body(code[: LENGTH - 1])
    check = code[-1]
    if check not in _VALUE:
        raise ValueError(_invalid_char_reason(check, LENGTH))
    expected = uscc_check_char(code[: LENGTH - 1])
    if check != expected:
        raise ValueError(
            _("check character is {found} but should be {expected}: a character is mistyped").format(
                found=check, expected=expected
            )
        )
    return code


def make_uscc(body17: str) -> str:
    """A valid code made from its first 17 characters by appending the check character."""
    body = "".join(str(body17).split()).upper()
    if len(body) != LENGTH - 1:
        raise ValueError(_("the first part of a unified social credit code has 17 characters"))
    _check_body(body)
    return body + uscc_check_char(body)


def _check_body(body: str) -> None:
    for position, char in enumerate(body, start=1):
        if char not in _VALUE:
            raise ValueError(_invalid_char_reason(char, position))
    if not body[_DIVISION].isdigit():
        raise ValueError(
            _("characters 3 to 8 are the administrative division code and must be digits, not {found}").format(
                found=body[_DIVISION]
            )
        )


def _invalid_char_reason(char: str, position: int) -> str:
    return _(
        "character {position} ({char}) is not allowed: only digits and upper-case letters except I, O, Z, S, V"
    ).format(position=position, char=char)
