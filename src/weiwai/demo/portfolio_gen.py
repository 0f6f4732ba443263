"""Generate an overdue book as rows in the import format (docs/import-format.md).

Deterministic for a seed. The distributions are those a consumer lender sees: most
accounts in the early buckets, balances log-normal by product, worse credit grades
deeper in delinquency, a contact person for most debtors, and a few debtors with
several accounts.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from faker import Faker

from weiwai.demo.regions import REGIONS, Region
from weiwai.money import to_fen
from weiwai.portfolio.identity import national_id_check_char

ACCOUNT_COLUMNS = [
    "account_no", "debtor_name", "national_id", "mobile", "product", "original_amount",
    "principal_outstanding", "interest_outstanding", "fee_outstanding", "penalty_outstanding",
    "due_date", "credit_grade", "region", "contact_name", "contact_relation", "contact_phone",
    "address", "overdue_reason", "currency", "time_zone",
]


@dataclass(frozen=True)
class Product:
    code: str
    median_amount: int
    spread: float  # sigma of the log-normal
    annual_rate: Decimal
    weight: int


PRODUCTS = (
    Product("消费分期", 12_000, 0.7, Decimal("0.18"), 45),
    Product("现金贷", 5_000, 0.6, Decimal("0.24"), 30),
    Product("信用卡", 20_000, 0.8, Decimal("0.18"), 15),
    Product("小微经营贷", 80_000, 0.6, Decimal("0.12"), 10),
)
# Share of accounts by bucket of days past due (M1 … M7+), as a lender's book looks.
DPD_BANDS = ((1, 30, 34), (31, 60, 18), (61, 90, 13), (91, 120, 10), (121, 150, 7), (151, 180, 6), (181, 720, 12))
GRADES = ("A", "B", "C", "D", "E")
OVERDUE_REASONS = (
    "收入下降", "失业", "疾病或意外", "经营困难", "多头借贷", "恶意拖欠", "忘记还款", "家庭变故", "对账单有异议",
)
RELATIONS = (("配偶", 30), ("父母", 25), ("兄弟姐妹", 15), ("同事", 15), ("朋友", 15))
MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152",
                   "155", "157", "158", "159", "166", "170", "173", "177", "180", "181", "182",
                   "185", "186", "187", "188", "189", "191", "193", "198", "199")


class PortfolioGenerator:
    """Rows for `n` accounts, reproducible from `seed`, with due dates relative to `as_of`."""

    def __init__(self, *, seed: int, as_of: date) -> None:
        self.rng = random.Random(seed)
        self.faker = Faker("zh_CN")
        self.faker.seed_instance(seed)
        self.as_of = as_of
        self._region_weights = [r.weight for r in REGIONS]
        self._used_ids: set[str] = set()
        self._used_mobiles: set[str] = set()

    def accounts(self, n: int) -> Iterator[dict[str, str]]:
        debtor: dict[str, str] | None = None
        for i in range(n):
            # About 8% of accounts belong to a debtor who already has one.
            if debtor is None or self.rng.random() >= 0.08:
                debtor = self._debtor()
            yield self._account(i + 1, debtor)

    def _debtor(self) -> dict[str, str]:
        region: Region = self.rng.choices(REGIONS, weights=self._region_weights)[0]
        debtor = {
            "debtor_name": self.faker.name(),
            "national_id": self._national_id(region),
            "mobile": self._mobile(),
            "region": region.name,
            "time_zone": region.time_zone,
            "address": f"{region.name}{region.city}{self.faker.district()}区{self.faker.street_name()}"
                       f"{self.rng.randint(1, 300)}号{self.rng.randint(1, 30)}栋{self.rng.randint(101, 2802)}室",
            "contact_name": "", "contact_relation": "", "contact_phone": "",
        }
        if self.rng.random() < 0.75:
            relation = self.rng.choices([r for r, _ in RELATIONS], weights=[w for _, w in RELATIONS])[0]
            debtor.update(contact_name=self.faker.name(), contact_relation=relation, contact_phone=self._mobile())
        return debtor

    def _account(self, number: int, debtor: dict[str, str]) -> dict[str, str]:
        rng = self.rng
        product = rng.choices(PRODUCTS, weights=[p.weight for p in PRODUCTS])[0]
        low, high, _ = rng.choices(DPD_BANDS, weights=[b[2] for b in DPD_BANDS])[0]
        dpd = rng.randint(low, high)
        original = to_fen(Decimal(str(round(product.median_amount * math.exp(rng.gauss(0, product.spread)), -2))))
        original = max(original, Decimal("500.00"))
        repaid_share = Decimal(str(round(rng.uniform(0.0, 0.7), 4)))
        principal = to_fen(original * (1 - repaid_share))
        months_overdue = Decimal(max(1, dpd // 30))
        interest = to_fen(principal * product.annual_rate / 12 * months_overdue)
        penalty = to_fen(principal * Decimal("0.0005") * dpd)  # 0.05% a day, capped below
        penalty = min(penalty, to_fen(principal * Decimal("0.24")))
        fee = to_fen(Decimal(rng.choice((0, 0, 30, 50, 100))))
        grade = self._grade(dpd)
        return {
            "account_no": f"LN{self.as_of:%Y}{number:08d}",
            "debtor_name": debtor["debtor_name"],
            "national_id": debtor["national_id"],
            "mobile": debtor["mobile"],
            "product": product.code,
            "original_amount": str(original),
            "principal_outstanding": str(principal),
            "interest_outstanding": str(interest),
            "fee_outstanding": str(fee),
            "penalty_outstanding": str(penalty),
            "due_date": (self.as_of - timedelta(days=dpd)).isoformat(),
            "credit_grade": grade,
            "region": debtor["region"],
            "contact_name": debtor["contact_name"],
            "contact_relation": debtor["contact_relation"],
            "contact_phone": debtor["contact_phone"],
            "address": debtor["address"],
            "overdue_reason": rng.choice(OVERDUE_REASONS),
            "currency": "CNY",
            "time_zone": debtor["time_zone"],
        }

    def _grade(self, dpd: int) -> str:
        # Deeper delinquency leans to worse grades, with noise so grades still matter.
        centre = min(4.0, dpd / 90)
        index = int(round(min(4, max(0, self.rng.gauss(centre, 1.0)))))
        return GRADES[index]

    def _national_id(self, region: Region) -> str:
        while True:
            birth = date(1965, 1, 1) + timedelta(days=self.rng.randint(0, 365 * 38))
            body = f"{region.area_code}{birth:%Y%m%d}{self.rng.randint(0, 999):03d}"
            value = body + national_id_check_char(body)
            if value not in self._used_ids:
                self._used_ids.add(value)
                return value

    def _mobile(self) -> str:
        while True:
            value = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randint(0, 99_999_999):08d}"
            if value not in self._used_mobiles:
                self._used_mobiles.add(value)
                return value
