"""Checking import cells with polars, a whole column at a time.

A Check turns the cleaned text of a cell into its normalised value, which is null
exactly when the cell is empty or wrong. Its `reason` says what is wrong and is only
evaluated for the (usually zero) wrong cells, so a clean million-row file pays for the
normalisation and nothing else. Normalisation runs in stages whose intermediate columns
are materialised (polars would otherwise re-evaluate a shared sub-expression at every
use), and the stages of all fields run side by side, on all cores.

The rules are the ones of weiwai.portfolio.identity and weiwai.money.parse_amount (the
unit tests check that both agree), with digits restricted to ASCII 0-9.
"""

from __future__ import annotations

import string
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import date
from functools import lru_cache

import polars as pl

from weiwai.errors import RowError
from weiwai.i18n import _
from weiwai.portfolio.importing.columns import ColumnMap
from weiwai.portfolio.importing.readers import RawTable
from weiwai.portfolio.models import ContactRelation

ROW = "__row"  # the row number as Excel shows it
MAX_ERRORS = 10_000  # a wholly wrong file must not exhaust memory with error objects

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
MAX_AMOUNT_DIGITS = 16  # NUMERIC(18,2)

RELATION_WORDS: dict[str, str] = {
    **{relation.value: relation.value for relation in ContactRelation},
    **dict.fromkeys(("配偶", "夫妻", "丈夫", "妻子", "老公", "老婆"), ContactRelation.spouse.value),
    **dict.fromkeys(
        ("父母", "父亲", "母亲", "子女", "儿子", "女儿", "兄弟", "姐妹", "兄弟姐妹", "亲属", "亲戚"),
        ContactRelation.relative.value,
    ),
    "同事": ContactRelation.colleague.value,
    "朋友": ContactRelation.friend.value,
    "其他": ContactRelation.other.value,
    "其它": ContactRelation.other.value,
}

# Stages(cell column, output column) -> expressions per stage; the last stage writes the output.
Stages = Callable[[str, str], list[list[pl.Expr]]]


@dataclass(frozen=True)
class Check:
    """How one field is normalised, and why a cell is refused."""

    stages: Stages
    reason: Callable[[pl.Expr], pl.Expr]  # cell text -> reason (only evaluated on refused cells)
    required: bool = False
    default: object = None

    def require(self) -> Check:
        return replace(self, required=True)

    def or_default(self, default: object) -> Check:
        return replace(self, default=default)


@dataclass(frozen=True)
class RowRule:
    """A check across fields or rows, on normalised values: rows where `failing` holds are refused.

    `candidates`, when given, is a cheap filter applied first: the rest only looks at
    those rows, so it must keep every row the rule needs to see (for a rule about
    repeated keys: all rows whose key repeats). `context` columns are then computed
    over the candidates (e.g. the first row of a key), so that `failing` and `reason`
    may use them by name.
    """

    field: str  # the column the error is shown on
    failing: pl.Expr
    reason: pl.Expr
    context: Mapping[str, pl.Expr] = dataclass_field(default_factory=dict)
    candidates: pl.Expr | None = None


def raw_column(field: str) -> str:
    return f"raw:{field}"


def _temp(out: str, name: str) -> str:
    return f"~{out}:{name}"


def message(template: str, **parts: pl.Expr) -> pl.Expr:
    """A (translated) message whose {placeholders} are filled from expressions, row by row."""
    pieces: list[pl.Expr] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        if literal:
            pieces.append(pl.lit(literal))
        if name is not None:
            pieces.append(parts[name].cast(pl.String))
    return pl.concat_str(pieces)


def cleaned(expr: pl.Expr, *, unwrap: bool = True) -> pl.Expr:
    """Trim whitespace and (with unwrap) Excel's ="0012" text trick; an empty cell becomes null."""
    text = expr.str.strip_chars()
    if unwrap:
        text = text.str.replace(r'^="(.*)"$', "${1}")
    return pl.when(text == "").then(None).otherwise(text)


def _first_reason(*conditions: tuple[pl.Expr, str]) -> pl.Expr:
    """The reason of the first condition that holds."""
    (condition, reason), *others = conditions
    chain = pl.when(condition).then(pl.lit(reason))
    for condition, reason in others:
        chain = chain.when(condition).then(pl.lit(reason))
    return chain.otherwise(pl.lit(None, pl.String))


def _one_stage(value: Callable[[pl.Expr], pl.Expr]) -> Stages:
    return lambda cell, out: [[value(pl.col(cell)).alias(out)]]


def _is_real_date(yyyymmdd: pl.Expr, first: date, last: date) -> pl.Expr:
    """Whether an integer YYYYMMDD is a calendar date between first and last (integer arithmetic)."""
    year, month, day = yyyymmdd // 10000, yyyymmdd // 100 % 100, yyyymmdd % 100
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = (
        pl.when(month == 2).then(28 + leap.cast(pl.Int64)).when(month.is_in([4, 6, 9, 11])).then(30).otherwise(31)
    )
    first_number = first.year * 10000 + first.month * 100 + first.day
    last_number = last.year * 10000 + last.month * 100 + last.day
    return (
        month.is_between(1, 12) & (day >= 1) & (day <= month_days) & yyyymmdd.is_between(first_number, last_number)
    ).fill_null(False)


# Field checks -------------------------------------------------------------------------


def text(*, max_chars: int) -> Check:
    return Check(
        stages=_one_stage(lambda cell: pl.when(cell.str.len_chars() <= max_chars).then(cell)),
        reason=lambda cell: pl.lit(_("at most {count} characters").format(count=max_chars)),
    )


def upper_text(*, max_chars: int) -> Check:
    return Check(
        stages=_one_stage(lambda cell: pl.when(cell.str.len_chars() <= max_chars).then(cell.str.to_uppercase())),
        reason=lambda cell: pl.lit(_("at most {count} characters").format(count=max_chars)),
    )


def code(*, max_chars: int) -> Check:
    """Identifiers such as account numbers and transaction ids."""
    pattern = rf"^[0-9A-Za-z][0-9A-Za-z_\-./]{{0,{max_chars - 1}}}$"
    return Check(
        stages=_one_stage(lambda cell: pl.when(cell.str.contains(pattern)).then(cell)),
        reason=lambda cell: pl.lit(
            _("use 1 to {count} letters, digits or - _ . / (starting with a letter or digit)").format(count=max_chars)
        ),
    )


def national_id() -> Check:
    """18-character resident ID: shape, a real birth date, and the GB 11643 check digit."""

    def stages(cell: str, out: str) -> list[list[pl.Expr]]:
        text_, number = _temp(out, "text"), _temp(out, "n17")
        n = pl.col(number)
        weighted = pl.sum_horizontal([(n // 10 ** (16 - i)) % 10 * weight for i, weight in enumerate(ID_WEIGHTS)])
        last = pl.col(text_).str.slice(17, 1)
        birth = (n // 1000) % 100_000_000
        valid = (
            pl.col(text_).str.contains(r"^[0-9]{17}[0-9X]$")
            & ((12 - weighted % 11) % 11 == pl.when(last == "X").then(10).otherwise(last.cast(pl.Int64, strict=False)))
            & _is_real_date(birth, EARLIEST_DATE, date.today())
        )
        return [
            [pl.col(cell).str.replace_all(" ", "", literal=True).str.to_uppercase().alias(text_)],
            [pl.col(text_).str.slice(0, 17).cast(pl.Int64, strict=False).alias(number)],
            [pl.when(valid.fill_null(False)).then(pl.col(text_)).alias(out)],
        ]

    def reason(cell: pl.Expr) -> pl.Expr:
        value = cell.str.replace_all(" ", "", literal=True).str.to_uppercase()
        birth = value.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
        return _first_reason(
            (value.str.len_chars() != 18, _("a national ID has 18 characters")),
            (~value.str.contains(r"^[0-9]{17}[0-9X]$"), _("a national ID is 17 digits and a digit or X")),
            (
                birth.is_null() | (birth < EARLIEST_DATE) | (birth > date.today()),
                _("the birth date inside the national ID is not a real date"),
            ),
            (pl.lit(True), _("national ID check digit does not match")),
        )

    return Check(stages=stages, reason=reason)


def mobile() -> Check:
    """Mainland mobile: 11 digits starting 13-19; +86, 0086, spaces, dashes and brackets allowed."""

    def stages(cell: str, out: str) -> list[list[pl.Expr]]:
        bare = _temp(out, "bare")
        return [
            [pl.col(cell).str.replace_all(r"[\s\-()]", "").alias(bare)],
            [
                pl.when(pl.col(bare).str.contains(r"^(?:\+86|0086|86)?1[3-9][0-9]{9}$"))
                .then(pl.col(bare).str.slice(-11))
                .alias(out)
            ],
        ]

    return Check(
        stages=stages, reason=lambda cell: pl.lit(_("not a mainland mobile number (11 digits starting 13-19)"))
    )


def amount_fen(*, positive: bool = False) -> Check:
    """Money as whole fen (Int64): ≥ 0, at most 2 decimals; 1,234.50 and ¥ prefixes allowed."""
    well_formed = rf"^[0-9]{{1,{MAX_AMOUNT_DIGITS}}}(\.[0-9]{{1,2}})?$"

    def bare_of(cell: pl.Expr) -> pl.Expr:
        return cell.str.replace_all("[,，]", "")

    def stages(cell: str, out: str) -> list[list[pl.Expr]]:
        bare, amount, dot = _temp(out, "bare"), _temp(out, "amount"), _temp(out, "dot")
        fraction_digits = (
            pl.when(pl.col(dot).is_null()).then(0).otherwise(pl.col(amount).str.len_bytes() - pl.col(dot) - 1)
        )
        scale = pl.when(fraction_digits == 0).then(100).when(fraction_digits == 1).then(10).otherwise(1)
        fen = pl.col(amount).str.replace(".", "", literal=True).cast(pl.Int64, strict=False) * scale
        valid = pl.col(amount).str.contains(well_formed)
        if positive:
            valid = valid & (fen > 0)
        return [
            [bare_of(pl.col(cell)).alias(bare)],
            [
                pl.when(pl.col(bare).str.contains("^[¥￥]"))
                .then(pl.col(bare).str.slice(1).str.strip_chars())
                .otherwise(pl.col(bare))
                .alias(amount)
            ],
            [pl.col(amount).str.find(".", literal=True).alias(dot)],
            [pl.when(valid).then(fen).alias(out)],
        ]

    def reason(cell: pl.Expr) -> pl.Expr:
        bare = bare_of(cell)
        bare = pl.when(bare.str.contains("^[¥￥]")).then(bare.str.slice(1).str.strip_chars()).otherwise(bare)
        return _first_reason(
            (bare.str.starts_with("-"), _("amount must not be negative")),
            (bare.str.contains(r"^[0-9]*\.[0-9]{3,}$"), _("at most 2 decimal places are allowed")),
            (bare.str.contains(rf"^[0-9]{{{MAX_AMOUNT_DIGITS + 1},}}(\.[0-9]*)?$"), _("amount is too large")),
            (~bare.str.contains(well_formed), _("not an amount (write it like 1234.56)")),
            (pl.lit(True), _("amount must be more than zero")),
        )

    return Check(stages=stages, reason=reason)


def fen_text(fen: pl.Expr) -> pl.Expr:
    """Whole fen as a decimal string with two places: 123456 -> "1234.56", -5 -> "-0.05"."""
    size = fen.abs()
    sign = pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.format("{}{}.{}", sign, size // 100, (size % 100).cast(pl.String).str.zfill(2))


_DATE_PATTERN = r"^([0-9]{4})(?:-([0-9]{1,2})-([0-9]{1,2})|([0-9]{2})([0-9]{2}))(?:[ T]00:00(?::00(?:\.0+)?)?)?$"


def calendar_date() -> Check:
    """YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD (Excel date cells arrive as YYYY-MM-DD 00:00:00)."""

    def stages(cell: str, out: str) -> list[list[pl.Expr]]:
        parts, number = _temp(out, "parts"), _temp(out, "number")
        group = pl.col(parts).struct.field
        return [
            [pl.col(cell).str.replace_all("/", "-", literal=True).str.extract_groups(_DATE_PATTERN).alias(parts)],
            [
                (
                    group("1").cast(pl.Int64, strict=False) * 10000
                    + pl.coalesce(group("2"), group("4")).cast(pl.Int64, strict=False) * 100
                    + pl.coalesce(group("3"), group("5")).cast(pl.Int64, strict=False)
                ).alias(number)
            ],
            [
                pl.when(_is_real_date(pl.col(number), EARLIEST_DATE, LATEST_DATE))
                .then(pl.col(number).cast(pl.String).str.to_date("%Y%m%d", strict=False))
                .alias(out)
            ],
        ]

    def reason(cell: pl.Expr) -> pl.Expr:
        parsed = cell.str.replace_all("/", "-", literal=True).str.extract_groups(_DATE_PATTERN)
        return _first_reason(
            (parsed.struct.field("1").is_null(), _("not a date (use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)")),
            (
                parsed.struct.field("1").cast(pl.Int64, strict=False).is_between(EARLIEST_DATE.year, LATEST_DATE.year),
                _("not a real date"),
            ),
            (
                pl.lit(True),
                _("date out of range ({first} to {last})").format(first=EARLIEST_DATE, last=LATEST_DATE),
            ),
        )

    return Check(stages=stages, reason=reason)


def whole_days() -> Check:
    """A non-negative whole number of days (days past due)."""
    return Check(
        stages=_one_stage(
            lambda cell: pl.when(cell.str.contains(r"^[0-9]{1,5}$")).then(cell.cast(pl.Int64, strict=False))
        ),
        reason=lambda cell: pl.lit(_("days past due must be a whole number of days, 0 or more")),
    )


def relation() -> Check:
    accepted = ", ".join(RELATION_WORDS)
    return Check(
        stages=_one_stage(
            lambda cell: cell.str.to_lowercase().replace_strict(RELATION_WORDS, default=None, return_dtype=pl.String)
        ),
        reason=lambda cell: pl.lit(_("unknown relation; use one of: {words}").format(words=accepted)),
    )


def currency() -> Check:
    return Check(
        stages=_one_stage(lambda cell: pl.when(cell.str.contains(r"^[A-Za-z]{3}$")).then(cell.str.to_uppercase())),
        reason=lambda cell: pl.lit(_("a currency is a 3-letter code such as CNY")),
    )


@lru_cache(maxsize=1)
def _time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def time_zone() -> Check:
    return Check(
        stages=_one_stage(lambda cell: pl.when(cell.is_in(_time_zone_names())).then(cell)),
        reason=lambda cell: pl.lit(_("not an IANA time zone name such as Asia/Shanghai")),
    )


_MOMENT_PATTERN = (
    r"^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})"  # date
    r"(?: ([0-9]{1,2}:[0-9]{2})(:[0-9]{2}(?:\.[0-9]{1,6})?)?)?"  # time, seconds
    r"\s*(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"  # offset
)


def timestamp_utc(*, local_zone: str) -> Check:
    """A date and time, with or without a UTC offset; without one it is local time in `local_zone`.

    Accepted: 2024-03-01 14:05[:09[.123]], with - or / in the date, T or a space before
    the time, and an optional Z, +08:00, +0800 or +08 after a time. A date alone means
    midnight. The value is a UTC datetime.
    """

    def stages(cell: str, out: str) -> list[list[pl.Expr]]:
        parts, naive, offset = _temp(out, "parts"), _temp(out, "naive"), _temp(out, "offset")
        group = pl.col(parts).struct.field
        text_ = pl.concat_str(group("1"), pl.lit(" "), group("2").fill_null("00:00"), group("3").fill_null(":00"))
        digits = pl.col(offset).str.replace(":", "", literal=True)
        offset_minutes = (
            pl.when(pl.col(offset) == "Z")
            .then(0)
            .otherwise(
                (
                    digits.str.slice(1, 2).cast(pl.Int64, strict=False) * 60
                    + digits.str.slice(3, 2).cast(pl.Int64, strict=False).fill_null(0)
                )
                * pl.when(digits.str.starts_with("-")).then(-1).otherwise(1)
            )
        )
        from_offset = (pl.col(naive) - pl.duration(minutes=offset_minutes)).dt.replace_time_zone("UTC")
        from_local = (
            pl.col(naive)
            .dt.replace_time_zone(local_zone, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
        )
        return [
            [
                pl.col(cell)
                .str.replace("T", " ", literal=True)
                .str.replace_all("/", "-", literal=True)
                .str.extract_groups(_MOMENT_PATTERN)
                .alias(parts)
            ],
            [
                pl.when(group("4").is_null() | group("2").is_not_null())
                .then(text_.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us"))
                .alias(naive),
                group("4").alias(offset),
            ],
            [pl.when(pl.col(offset).is_null()).then(from_local).otherwise(from_offset).alias(out)],
        ]

    def reason(cell: pl.Expr) -> pl.Expr:
        moment = cell.str.replace("T", " ", literal=True).str.replace_all("/", "-", literal=True)
        group = moment.str.extract_groups(_MOMENT_PATTERN).struct.field
        naive = pl.concat_str(
            group("1"), pl.lit(" "), group("2").fill_null("00:00"), group("3").fill_null(":00")
        ).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
        malformed = _("not a date and time (use YYYY-MM-DD HH:MM:SS, optionally with +08:00)")
        return _first_reason(
            (naive.is_null() | (group("2").is_null() & group("4").is_not_null()), malformed),
            (group("4").is_null(), _("this local time does not exist in {zone}").format(zone=local_zone)),
            (pl.lit(True), malformed),
        )

    return Check(stages=stages, reason=reason)


# Running checks and reporting ----------------------------------------------------------


def take_cells(table: RawTable, columns: ColumnMap, fields: Sequence[str]) -> pl.DataFrame:
    """One cleaned text column per field (null when the file lacks it) and the row number.

    Rows whose known columns are all empty (Excel leaves such rows at the end of
    exports) are dropped; the row numbers of the others are unaffected. The table's raw
    frame is released afterwards: a million-row file should not be held twice.
    """
    raw = table.frame
    wrapped = raw.select(pl.col(raw.columns).str.starts_with('="').any()).row(0) if raw.height else ()
    unwrap = {name for name, any_wrapped in zip(raw.columns, wrapped, strict=True) if any_wrapped}
    present = [
        cleaned(pl.col(f"c{columns.positions[field]}"), unwrap=f"c{columns.positions[field]}" in unwrap).alias(field)
        if field in columns.positions
        else pl.lit(None, pl.String).alias(field)
        for field in fields
    ]
    frame = raw.select((pl.int_range(pl.len(), dtype=pl.Int64) + table.first_row).alias(ROW), *present)
    table.frame = raw.clear()
    blank = frame.select(pl.all_horizontal(pl.col(list(fields)).is_null()).alias("blank"))["blank"]
    # Filtering splits columns into chunks, and later steps would copy them whole to
    # join the chunks up again: only filter when there is something to drop.
    return frame.filter(~blank) if blank.any() else frame


NORMALISE_SLICE = 250_000


def normalise(frame: pl.DataFrame, checks: Mapping[str, Check]) -> pl.DataFrame:
    """Replace each checked field's text by its normalised value; the text stays as raw:<field>.

    Large frames go a slice at a time, which bounds the memory of the intermediate columns.
    """
    if frame.height > NORMALISE_SLICE:
        return pl.concat(
            [_normalise(part, checks) for part in frame.iter_slices(NORMALISE_SLICE)], how="vertical", rechunk=False
        )
    return _normalise(frame, checks)


def _normalise(frame: pl.DataFrame, checks: Mapping[str, Check]) -> pl.DataFrame:
    frame = frame.with_columns(pl.col(field).alias(raw_column(field)) for field in checks)
    plans = {field: check.stages(raw_column(field), field) for field, check in checks.items()}
    for depth in range(max((len(plan) for plan in plans.values()), default=0)):
        frame = frame.with_columns(expr for plan in plans.values() if depth < len(plan) for expr in plan[depth])
    # Defaults go in a column of their own: problems are found on the value before it.
    frame = frame.with_columns(
        pl.coalesce(pl.col(field), pl.lit(check.default)).alias(_filled_column(field))
        for field, check in checks.items()
        if check.default is not None
    )
    return frame.drop([name for name in frame.columns if name.startswith("~")])


def _filled_column(field: str) -> str:
    return f"filled:{field}"


def checked_values(frame: pl.DataFrame, checks: Mapping[str, Check], fields: Sequence[str]) -> list[pl.Expr]:
    """The final value of each field: normalised, and defaulted where the field has a default."""
    return [
        pl.col(_filled_column(field)).alias(field)
        if field in checks and checks[field].default is not None
        else pl.col(field)
        for field in fields
    ]


def parse_columns(frame: pl.DataFrame, checks: Mapping[str, Check]) -> pl.DataFrame:
    """Normalise trusted text columns in place (e.g. values read back from the database)."""
    return normalise(frame, checks).drop([raw_column(field) for field in checks])


def problems(frame: pl.DataFrame, checks: Mapping[str, Check], rules: Sequence[RowRule]) -> pl.LazyFrame:
    """(row, field, value, reason) of every refused cell: wrong, missing, or failing a row rule."""
    parts = []
    for field, check in checks.items():
        raw, value = pl.col(raw_column(field)), pl.col(field)
        wrong = raw.is_not_null() & value.is_null()
        parts.append(
            frame.lazy()
            .filter(wrong)
            .select(ROW, pl.lit(field).alias("field"), raw.alias("value"), check.reason(raw).alias("reason"))
        )
        if check.required:
            parts.append(
                frame.lazy()
                .filter(raw.is_null())
                .select(
                    ROW,
                    pl.lit(field).alias("field"),
                    pl.lit("").alias("value"),
                    pl.lit(_("a value is required")).alias("reason"),
                )
            )
    for rule in rules:
        shown = raw_column(rule.field)
        rows = frame.lazy() if rule.candidates is None else frame.lazy().filter(rule.candidates)
        parts.append(
            rows.with_columns(expression.alias(name) for name, expression in rule.context.items())
            .filter(rule.failing.fill_null(False))
            .select(
                ROW,
                pl.lit(rule.field).alias("field"),
                pl.col(shown).fill_null("").alias("value"),
                rule.reason.alias("reason"),
            )
        )
    return (
        pl.concat(parts, how="vertical")
        if parts
        else pl.LazyFrame(schema={ROW: pl.Int64, "field": pl.String, "value": pl.String, "reason": pl.String})
    )


def row_errors(
    found: pl.LazyFrame,
    *,
    file: str,
    headers: Mapping[str, str],
    field_order: Sequence[str],
    limit: int | None = None,
) -> list[RowError]:
    """RowErrors ordered by row then column, at most `limit` (plus a note when there are more)."""
    limit = MAX_ERRORS if limit is None else limit
    order = {field: index for index, field in enumerate(field_order)}
    ranked = found.with_columns(
        pl.col("field").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("order")
    )
    first = ranked.sort(ROW, "order").head(limit + 1).collect()
    errors = [
        RowError(file, row, headers.get(field, field), value, reason)
        for row, field, value, reason in first.select(ROW, "field", "value", "reason").head(limit).iter_rows()
    ]
    if first.height > limit:
        errors.append(
            RowError(
                file, 0, "", "", _("more than {limit} errors; only the first {limit} are listed").format(limit=limit)
            )
        )
    return errors


def file_order(columns: ColumnMap, fields: Sequence[str]) -> list[str]:
    """Fields in the order of their columns in the file (absent ones last): errors read left to right."""
    return sorted(fields, key=lambda name: columns.positions.get(name, len(fields) + list(fields).index(name)))


def first_row_of(key: pl.Expr) -> pl.Expr:
    """For each row, the row number of the first row with the same key (null key: null)."""
    return pl.when(key.is_not_null()).then(pl.col(ROW).min().over(key))


def check_series(check: Check, values: Sequence[str | None]) -> list[tuple[object, str | None]]:
    """(value, reason) for each text: one field checked outside a file (tests, single inputs)."""
    frame = pl.DataFrame({"field": pl.Series(values, dtype=pl.String)}).with_columns(
        cleaned(pl.col("field")).alias("field")
    )
    frame = normalise(frame.with_columns(pl.int_range(pl.len()).alias(ROW)), {"field": check})
    reasons = dict(problems(frame, {"field": check}, ()).select(ROW, "reason").collect().iter_rows())
    return [(value, reasons.get(index)) for index, value in enumerate(frame["field"].to_list())]
