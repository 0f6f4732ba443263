"""The categories of personal data weiwai holds, and how people name them in contracts.

An entrustment (PIPL art. 21) lists the categories an agency may process; each must be
one the system actually holds (portfolio tables and what a handover package can carry).
Contracts name them in Chinese or English, often with a qualifier ("身份证号（掩码）");
`normalise_categories` maps every name to its canonical code and refuses unknown ones.
"""

from __future__ import annotations

import re

from weiwai.errors import RuleViolation
from weiwai.i18n import _

# code -> names that mean it (compared after lower-casing and dropping a bracketed qualifier).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "name": ("name", "debtor_name", "debtor name", "姓名", "债务人姓名", "客户姓名"),
    "national_id": ("national_id", "national id", "id number", "身份证", "身份证号", "身份证号码", "证件号码"),
    "phone": ("phone", "mobile", "phone number", "手机", "手机号", "手机号码", "电话", "电话号码", "联系电话"),
    "address": ("address", "地址", "住址", "家庭住址", "联系地址"),
    "contacts": ("contacts", "contact", "contact_name", "contact_phone", "联系人", "联系人信息", "联系人姓名",
                 "联系人电话"),
    "debt": ("debt", "amounts", "account", "balance", "欠款", "欠款信息", "欠款金额", "账户信息", "借款信息",
             "贷款信息"),
    "overdue": ("overdue", "dpd", "逾期", "逾期信息", "逾期天数", "逾期金额"),
    "payments": ("payments", "repayments", "还款记录", "还款信息"),
    "region": ("region", "地区", "所在地区"),
}
CATEGORY_LABELS_ZH = {
    "name": "姓名", "national_id": "身份证号", "phone": "手机号码", "address": "地址", "contacts": "联系人信息",
    "debt": "欠款信息", "overdue": "逾期信息", "payments": "还款记录", "region": "地区",
}
_QUALIFIER = re.compile(r"\s*[（(][^）)]*[）)]\s*$")
_LOOKUP = {alias.lower(): code for code, aliases in CATEGORIES.items() for alias in aliases}


def category_of(name: str) -> str | None:
    """The canonical code of a category name, or None if weiwai holds no such data."""
    key = _QUALIFIER.sub("", str(name).strip()).strip().lower()
    return _LOOKUP.get(key)


def normalise_categories(names: list[str]) -> list[str]:
    """Canonical codes, in order and without repeats; RuleViolation naming every unknown name."""
    if not names:
        raise RuleViolation(_("an entrustment lists at least one category of personal data"))
    codes, unknown = [], []
    for name in names:
        code = category_of(name)
        if code is None:
            unknown.append(str(name))
        elif code not in codes:
            codes.append(code)
    if unknown:
        raise RuleViolation(
            _("unknown personal data categor(ies) {names}; weiwai holds: {known}").format(
                names=", ".join(unknown), known=", ".join(CATEGORIES)),
            code="unknown_data_category",
        )
    return codes
