"""Generate a realistic overdue-book file for the import benchmark, vectorised with polars.

Every national ID has a valid check digit and a real birth date, every mobile is a
mainland number, and one account in twenty belongs to the debtor of the row before it
(debtors with several loans). Output is deterministic for a given size and seed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
AREA_CODES = [
    "110101",
    "110105",
    "120101",
    "310104",
    "310115",
    "320102",
    "320583",
    "330106",
    "330203",
    "340104",
    "350203",
    "370102",
    "410105",
    "420106",
    "430104",
    "440106",
    "440305",
    "440606",
    "450103",
    "500103",
    "510107",
    "520102",
    "530102",
    "610113",
]
PROVINCES = [
    "北京",
    "天津",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "陕西",
]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国志红海波鹏辉")
STREETS = ["人民路", "解放路", "中山路", "建设路", "和平街", "长江路", "新华路", "文化路"]
PRODUCTS = ["消费贷", "现金贷", "信用卡分期", "车贷", "装修贷"]
GRADES = ["A", "B", "C", "D", "E"]
RELATIONS = ["配偶", "父母", "兄弟", "朋友", "同事", "子女"]
REASONS = ["失业", "经营困难", "疾病", "恶意拖欠", "多头借贷", "忘记还款"]
MOBILE_PREFIXES = [
    "130",
    "131",
    "135",
    "136",
    "138",
    "139",
    "150",
    "151",
    "158",
    "159",
    "176",
    "177",
    "180",
    "186",
    "187",
    "188",
    "189",
    "199",
]
HEADER = {
    "account_no": "借据号",
    "debtor_name": "姓名",
    "national_id": "身份证号",
    "mobile": "手机号",
    "product": "产品",
    "original_amount": "合同金额",
    "principal_outstanding": "剩余本金",
    "interest_outstanding": "未还利息",
    "fee_outstanding": "费用",
    "penalty_outstanding": "罚息",
    "due_date": "最早未还到期日",
    "credit_grade": "客户等级",
    "region": "省份",
    "contact_name": "联系人",
    "contact_relation": "联系人关系",
    "contact_phone": "联系人电话",
    "address": "家庭地址",
    "overdue_reason": "逾期原因",
    "currency": "币种",
    "time_zone": "时区",
}


def _pick(options: list[str], stream: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(options)).gather(stream % len(options))


def _money(fen: pl.Expr) -> pl.Expr:
    return pl.format("{}.{}", fen // 100, (fen % 100).cast(pl.String).str.zfill(2))


def accounts_frame(n: int, *, as_of: date, seed: int = 7) -> pl.DataFrame:
    """n accounts as strings, with the canonical column names."""
    row = pl.int_range(0, n, dtype=pl.UInt64)
    # One account in twenty belongs to the previous row's debtor.
    debtor = pl.when(row % 20 == 19).then(row - 1).otherwise(row)

    def rand(k: int, of: pl.Expr = debtor) -> pl.Expr:
        return of.hash(seed=seed * 1000 + k)

    # (birth day, sequence number) is unique per debtor for up to 16 million debtors.
    birth_day = (debtor * 7919) % 16000
    sequence = debtor // 16000 % 1000
    first17 = pl.concat_str(
        _pick(AREA_CODES, rand(1)),
        (pl.lit(date(1960, 1, 1)) + pl.duration(days=birth_day)).dt.strftime("%Y%m%d"),
        sequence.cast(pl.String).str.zfill(3),
    )
    checksum = pl.sum_horizontal([first17.str.slice(i, 1).cast(pl.Int64) * w for i, w in enumerate(ID_WEIGHTS)]) % 11
    national_id = pl.concat_str(first17, _pick(list(ID_CHECK), checksum))

    def mobile(k: int) -> pl.Expr:
        return pl.concat_str(_pick(MOBILE_PREFIXES, rand(k)), (rand(k + 1) % 100_000_000).cast(pl.String).str.zfill(8))

    def person_name(k: int) -> pl.Expr:
        given = pl.concat_str(
            _pick(GIVEN, rand(k + 1)),
            pl.when(rand(k + 2) % 3 > 0).then(_pick(GIVEN, rand(k + 3))).otherwise(pl.lit("")),
        )
        return pl.concat_str(_pick(SURNAMES, rand(k)), given)

    original = 100_000 + rand(20, row) % 4_900_000
    principal = original * (20 + rand(21, row) % 80) // 100
    interest = principal * (rand(22, row) % 15) // 100
    fee = rand(23, row) % 20_000
    penalty = principal * (rand(24, row) % 8) // 100
    dpd = 1 + rand(25, row) % 720
    has_contact = rand(30) % 10 < 8
    province = _pick(PROVINCES, rand(40))

    def contact(value: pl.Expr) -> pl.Expr:
        return pl.when(has_contact).then(value).otherwise(pl.lit(None, pl.String))

    frame = pl.select(
        account_no=pl.format("LN{}", (row + 10**11).cast(pl.String)),
        debtor_name=person_name(2),
        national_id=national_id,
        mobile=mobile(6),
        product=_pick(PRODUCTS, rand(10, row)),
        original_amount=_money(original),
        principal_outstanding=_money(principal),
        interest_outstanding=_money(interest),
        fee_outstanding=_money(fee),
        penalty_outstanding=_money(penalty),
        due_date=(pl.lit(as_of) - pl.duration(days=dpd)).dt.strftime("%Y-%m-%d"),
        credit_grade=_pick(GRADES, rand(11)),
        region=province,
        contact_name=contact(person_name(31)),
        contact_relation=contact(_pick(RELATIONS, rand(35))),
        contact_phone=contact(mobile(36)),
        address=pl.format(
            "{}{}区{}{}号{}室",
            province,
            _pick(["东城", "西城", "南湖", "北山"], rand(41)),
            _pick(STREETS, rand(42)),
            1 + rand(43) % 300,
            101 + rand(44) % 2000,
        ),
        overdue_reason=pl.when(rand(50, row) % 2 == 0)
        .then(_pick(REASONS, rand(51, row)))
        .otherwise(pl.lit(None, pl.String)),
        currency=pl.lit("CNY"),
        time_zone=pl.lit("Asia/Shanghai"),
    )
    return frame


def write_accounts_csv(path: Path, n: int, *, as_of: date, seed: int = 7) -> Path:
    """Write the file (Chinese headers, UTF-8) unless a file of that size is already cached."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = accounts_frame(n, as_of=as_of, seed=seed).rename(HEADER)
    tmp = path.with_suffix(".partial")
    frame.write_csv(tmp)
    tmp.rename(path)
    return path


if __name__ == "__main__":
    import sys
    import time

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    started = time.perf_counter()
    out = write_accounts_csv(Path(f"bench/out/accounts_{size}.csv"), size, as_of=date(2026, 6, 29))
    print(out, f"{time.perf_counter() - started:.1f}s")
