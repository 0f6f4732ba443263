"""The vectorised field checks against the scalar rules they mirror."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from weiwai.i18n import using_locale
from weiwai.money import parse_amount
from weiwai.portfolio.identity import (
    national_id_check_char,
    normalise_mobile,
    normalise_national_id,
)
from weiwai.portfolio.importing import validation as v


@pytest.fixture(autouse=True)
def english():
    with using_locale("en"):
        yield


def run(check, values, **kwargs):
    """(value, reason) per input, through the polars checks."""
    return v.check_series(check(**kwargs), values)


def one(check, value, **kwargs):
    return run(check, [value], **kwargs)[0]


# National IDs -----------------------------------------------------------------------

birth_dates = st.dates(min_value=date(1930, 1, 1), max_value=date(2008, 12, 31))
valid_ids = st.builds(
    lambda area, birth, sequence: _with_check(f"{area:06d}{birth:%Y%m%d}{sequence:03d}"),
    st.integers(min_value=110000, max_value=659999),
    birth_dates,
    st.integers(min_value=0, max_value=999),
)


def _with_check(first17: str) -> str:
    return first17 + national_id_check_char(first17)


@given(st.lists(valid_ids, min_size=1, max_size=30))
def test_valid_national_ids_pass(ids):
    assert run(v.national_id, ids) == [(value, None) for value in ids]


@given(valid_ids, st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=9))
def test_any_single_character_corruption_fails(national_id, position, shift):
    alphabet = "0123456789X" if position == 17 else "0123456789"
    current = alphabet.index(national_id[position])
    corrupted = national_id[:position] + alphabet[(current + shift) % len(alphabet)] + national_id[position + 1 :]
    assert corrupted != national_id
    _value, problem = one(v.national_id, corrupted)
    assert problem is not None


@given(st.lists(st.text(alphabet="0123456789Xx -", min_size=0, max_size=22), max_size=40))
def test_national_id_agrees_with_the_scalar_rule(texts):
    """Anything accepted here is accepted, identically normalised, by identity.normalise_national_id."""
    for text, (value, problem) in zip(texts, run(v.national_id, texts), strict=True):
        if text.strip() == "":
            assert problem is None and value is None
        elif problem is None:
            assert normalise_national_id(text) == value
        else:
            # The vectorised rule is stricter only about implausible birth dates.
            try:
                normalised = normalise_national_id(text)
            except ValueError:
                continue
            birth = date(int(normalised[6:10]), int(normalised[10:12]), int(normalised[12:14]))
            assert birth < v.EARLIEST_DATE or birth > date.today()


def test_national_id_reasons():
    assert one(v.national_id, "1101011990030712")[1] == "a national ID has 18 characters"
    assert one(v.national_id, "11010119900307123A")[1] == "a national ID is 17 digits and a digit or X"
    assert (
        one(v.national_id, _with_check("11010119900230123"))[1]
        == "the birth date inside the national ID is not a real date"
    )
    good = _with_check("11010119900307123")
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    assert one(v.national_id, bad_check)[1] == "national ID check digit does not match"
    assert one(v.national_id, good.lower())[0] == good.upper()


# Mobiles ----------------------------------------------------------------------------


@given(st.lists(st.text(alphabet="0123456789+-() ", min_size=1, max_size=18), max_size=40))
def test_mobile_agrees_with_the_scalar_rule(texts):
    for text, (value, problem) in zip(texts, run(v.mobile, texts), strict=True):
        if text.strip() == "":
            continue
        try:
            expected = normalise_mobile(text)
        except ValueError:
            assert problem is not None
        else:
            assert (value, problem) == (expected, None)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("86-138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("(138)1234-5678", "13812345678"),
    ],
)
def test_mobile_formats(text, expected):
    assert one(v.mobile, text) == (expected, None)


@pytest.mark.parametrize("text", ["12812345678", "1381234567", "138123456789", "010-12345678", "abc"])
def test_not_mobiles(text):
    assert one(v.mobile, text)[1] == "not a mainland mobile number (11 digits starting 13-19)"


# Amounts ----------------------------------------------------------------------------


@given(st.lists(st.text(alphabet="0123456789.,-¥ e", min_size=1, max_size=22), max_size=40))
def test_amount_agrees_with_parse_amount(texts):
    for text, (fen, problem) in zip(texts, run(v.amount_fen, texts), strict=True):
        if text.strip() == "":
            continue
        try:
            expected = parse_amount(text)
        except (ValueError, ArithmeticError):
            assert problem is not None
        else:
            assert problem is None
            assert Decimal(fen).scaleb(-2) == expected


@given(st.lists(st.integers(min_value=0, max_value=10**18 - 1), max_size=40))
def test_fen_text_round_trips(amounts):
    texts = pl.select(v.fen_text(pl.lit(pl.Series(amounts, dtype=pl.Int64)))).to_series().to_list()
    assert [Decimal(text) for text in texts] == [Decimal(fen).scaleb(-2) for fen in amounts]
    assert run(v.amount_fen, texts) == [(fen, None) for fen in amounts]


def test_fen_text_of_negative_amounts():
    assert pl.select(v.fen_text(pl.lit(-5, pl.Int64))).item() == "-0.05"
    assert pl.select(v.fen_text(pl.lit(-12345, pl.Int64))).item() == "-123.45"


@pytest.mark.parametrize(
    "text,reason",
    [
        ("-5", "amount must not be negative"),
        ("1.234", "at most 2 decimal places are allowed"),
        ("abc", "not an amount (write it like 1234.56)"),
        ("12345678901234567", "amount is too large"),
    ],
)
def test_amount_reasons(text, reason):
    assert one(v.amount_fen, text)[1] == reason


def test_amount_forms():
    assert run(v.amount_fen, ["1,234.5", "¥ 12", "￥0.01", "１"][:3]) == [(123450, None), (1200, None), (1, None)]
    assert one(v.amount_fen, "0", positive=True)[1] == "amount must be more than zero"


# Dates and times ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2024-03-05", "2024/3/5", "20240305", "2024-03-05 00:00:00", "2024-3-05T00:00"])
def test_date_formats(text):
    assert one(v.calendar_date, text) == (date(2024, 3, 5), None)


@pytest.mark.parametrize("text", ["2024-02-30", "05/03/2024", "2024-03-05 10:00:00", "45292", "0024-03-05"])
def test_not_dates(text):
    assert one(v.calendar_date, text)[1] is not None


@given(st.lists(st.dates(min_value=v.EARLIEST_DATE, max_value=v.LATEST_DATE), max_size=40))
def test_any_iso_date_parses(days):
    assert run(v.calendar_date, [day.isoformat() for day in days]) == [(day, None) for day in days]
    assert run(v.calendar_date, [day.strftime("%Y%m%d") for day in days]) == [(day, None) for day in days]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2024-03-05 10:20:30", datetime(2024, 3, 5, 2, 20, 30, tzinfo=UTC)),
        ("2024/03/05 10:20", datetime(2024, 3, 5, 2, 20, tzinfo=UTC)),
        ("2024-03-05", datetime(2024, 3, 4, 16, 0, tzinfo=UTC)),
        ("2024-03-05T10:20:30.5+08:00", datetime(2024, 3, 5, 2, 20, 30, 500000, tzinfo=UTC)),
        ("2024-03-05 10:20:30Z", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-05 10:20:30 -0530", datetime(2024, 3, 5, 15, 50, 30, tzinfo=UTC)),
        ("2024-03-05 10:20:30+00", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
    ],
)
def test_timestamps(text, expected):
    value, problem = one(v.timestamp_utc, text, local_zone="Asia/Shanghai")
    assert problem is None
    assert value == expected


def test_local_time_that_does_not_exist():
    _value, problem = one(v.timestamp_utc, "2024-03-10 02:30:00", local_zone="America/New_York")
    assert problem == "this local time does not exist in America/New_York"


@given(st.lists(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)), max_size=40))
def test_any_local_timestamp_converts_like_zoneinfo(moments):
    from zoneinfo import ZoneInfo

    moments = [moment.replace(microsecond=0) for moment in moments]
    results = run(v.timestamp_utc, [m.strftime("%Y-%m-%d %H:%M:%S") for m in moments], local_zone="Asia/Shanghai")
    assert results == [(m.replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC), None) for m in moments]


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01 10:00", "10:00", "2024-03-05 25:00:00"])
def test_not_timestamps(text):
    assert one(v.timestamp_utc, text, local_zone="Asia/Shanghai")[1] is not None


# Other fields -----------------------------------------------------------------------


def test_relations_in_english_and_chinese():
    assert [value for value, _p in run(v.relation, ["Spouse", "配偶", "母亲", "同事", "朋友", "其他"])] == [
        "spouse",
        "spouse",
        "relative",
        "colleague",
        "friend",
        "other",
    ]
    assert one(v.relation, "邻居")[1].startswith("unknown relation")


def test_time_zones_and_currencies():
    assert one(v.time_zone, "Asia/Urumqi") == ("Asia/Urumqi", None)
    assert one(v.time_zone, "Beijing")[1] is not None
    assert one(v.currency, "cny") == ("CNY", None)
    assert one(v.currency, "RMB1")[1] is not None


def test_codes_and_text_lengths():
    assert one(v.code, "LN-2024/001.a_b", max_chars=40) == ("LN-2024/001.a_b", None)
    assert one(v.code, "1.23457E+11", max_chars=40)[1] is not None
    assert one(v.code, "x" * 41, max_chars=40)[1] is not None
    assert one(v.text, "张" * 5, max_chars=4)[1] == "at most 4 characters"


def test_cells_are_trimmed_and_excel_text_wrappers_removed():
    assert run(v.text, ["  a  ", '="0012"', "\u3000", ""], max_chars=10) == [
        ("a", None),
        ("0012", None),
        (None, None),
        (None, None),
    ]


def test_message_fills_placeholders_row_by_row():
    frame = pl.DataFrame({"row": [3, 7]})
    assert frame.select(v.message("see row {row}!", row=pl.col("row"))).to_series().to_list() == [
        "see row 3!",
        "see row 7!",
    ]


def test_future_birth_dates_are_refused():
    tomorrow = date.today() + timedelta(days=1)
    assert one(v.national_id, _with_check(f"110101{tomorrow:%Y%m%d}001"))[1] is not None
