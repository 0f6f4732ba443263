"""The columns of the import files: canonical names, the Chinese headers accepted for
them, and matching a file's header row against them.

Canonical names match case-insensitively (spaces and hyphens count as underscores);
aliases match exactly after trimming. A trailing "*" (templates mark required columns
that way) is ignored. docs/import-format.md documents the same lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from weiwai.errors import InputRejected, RowError
from weiwai.i18n import _

HEADER_ROW = 1  # errors about the header row itself


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False


ACCOUNT_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("account_no", ("账号", "账户号", "借据号", "合同号", "贷款账号"), required=True),
    ColumnSpec("debtor_name", ("姓名", "客户姓名", "借款人姓名", "借款人"), required=True),
    ColumnSpec("national_id", ("身份证号", "身份证号码", "证件号码", "证件号"), required=True),
    ColumnSpec("mobile", ("手机号", "手机号码", "联系电话", "手机"), required=True),
    ColumnSpec("product", ("产品", "产品名称"), required=True),
    ColumnSpec("original_amount", ("借款金额", "合同金额", "原始金额", "贷款金额"), required=True),
    ColumnSpec("principal_outstanding", ("本金", "剩余本金", "未还本金"), required=True),
    ColumnSpec("interest_outstanding", ("利息", "未还利息"), required=True),
    ColumnSpec("fee_outstanding", ("费用", "手续费", "未还费用"), required=True),
    ColumnSpec("penalty_outstanding", ("罚息", "违约金", "未还罚息"), required=True),
    # due_date or dpd: at least one of the two (see EITHER_OF).
    ColumnSpec("due_date", ("最早未还到期日", "应还日期", "到期日")),
    ColumnSpec("dpd", ("逾期天数",)),
    ColumnSpec("credit_grade", ("信用等级", "客户等级", "风险等级"), required=True),
    ColumnSpec("region", ("地区", "省份", "所属地区"), required=True),
    ColumnSpec("contact_name", ("联系人", "联系人姓名")),
    ColumnSpec("contact_relation", ("联系人关系", "关系")),
    ColumnSpec("contact_phone", ("联系人电话", "联系人手机", "联系人手机号")),
    ColumnSpec("address", ("地址", "家庭地址", "住址")),
    ColumnSpec("overdue_reason", ("逾期原因",)),
    ColumnSpec("currency", ("币种",)),
    ColumnSpec("time_zone", ("时区",)),
)

PAYMENT_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("txn_id", ("交易号", "流水号", "交易流水号"), required=True),
    ColumnSpec("account_no", ("账号", "账户号", "借据号", "合同号", "贷款账号"), required=True),
    ColumnSpec("amount", ("还款金额", "金额"), required=True),
    ColumnSpec("paid_at", ("还款时间", "交易时间", "还款日期"), required=True),
    ColumnSpec("channel", ("还款渠道", "渠道")),
)

# Groups of columns of which a file must have at least one.
ACCOUNT_EITHER_OF: tuple[tuple[str, ...], ...] = (("due_date", "dpd"),)


@dataclass(frozen=True)
class ColumnMap:
    """Which column of the file holds each canonical field."""

    positions: dict[str, int]  # canonical name -> 0-based column index in the file
    headers: dict[str, str]  # canonical name -> header as written in the file
    ignored: tuple[str, ...]  # headers of columns that match nothing

    def header(self, name: str) -> str:
        return self.headers.get(name, name)


def _key(header: str) -> str:
    text = header.replace("\ufeff", "").strip().rstrip("*＊").strip()
    return text


def _canonical_key(header: str) -> str:
    return _key(header).lower().replace(" ", "_").replace("-", "_")


def match_columns(
    headers: Sequence[str],
    specs: Sequence[ColumnSpec],
    *,
    file: str,
    either_of: Sequence[tuple[str, ...]] = (),
) -> ColumnMap:
    """Map a header row to canonical fields; InputRejected on missing or repeated columns."""
    by_name = {spec.name: spec for spec in specs}
    by_alias = {alias: spec.name for spec in specs for alias in spec.aliases}
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    ignored: list[str] = []
    errors: list[RowError] = []
    for index, header in enumerate(headers):
        header = header or ""
        name = by_alias.get(_key(header)) or (_canonical_key(header) if _canonical_key(header) in by_name else None)
        if name is None:
            if _key(header):
                ignored.append(_key(header))
            continue
        if name in positions:
            errors.append(
                RowError(
                    file,
                    HEADER_ROW,
                    header,
                    header,
                    _("this column repeats column {other} (both mean {name})").format(
                        other=repr(written[name]), name=name
                    ),
                )
            )
            continue
        positions[name] = index
        written[name] = _key(header)
    for spec in specs:
        if spec.required and spec.name not in positions:
            errors.append(
                RowError(
                    file,
                    HEADER_ROW,
                    spec.name,
                    "",
                    _("required column is missing (accepted headers: {names})").format(
                        names=", ".join((spec.name, *spec.aliases))
                    ),
                )
            )
    for group in either_of:
        if not any(name in positions for name in group):
            accepted = [f"{name} ({', '.join(by_name[name].aliases)})" for name in group]
            errors.append(
                RowError(
                    file,
                    HEADER_ROW,
                    group[0],
                    "",
                    _("one of these columns is required: {names}").format(names="; ".join(accepted)),
                )
            )
    if errors:
        raise InputRejected(errors=errors)
    return ColumnMap(positions=positions, headers=written, ignored=tuple(ignored))
