"""Demo agencies and contracts: a realistic panel of collection agencies.

Each agency has a profile (regions, capacity, fee level) and, for the simulated cycle,
a skill by segment, so that scorecards differ for real reasons: some are better on
early buckets, some on deep ones, some only in their home regions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from weiwai.agencies.models import AgencyStatus
from weiwai.agencies.uscc import make_uscc
from weiwai.demo.regions import REGIONS

ALL_REGIONS = [r.name for r in REGIONS]


@dataclass(frozen=True)
class DemoAgency:
    code: str
    legal_name: str
    area_code: str
    org_code: str  # 9 characters of the USCC body (organisation code)
    regions: list[str]
    capacity_cases: int
    capacity_balance: Decimal
    status: AgencyStatus
    # Commission level: multiplier on the standard bucket rates.
    fee_level: Decimal
    # Simulation: propensity multiplier by bucket group (early M1-M2, mid M3-M4, late M5+).
    skill: dict[str, float] = field(default_factory=dict)
    channels: tuple[str, ...] = ("phone", "sms", "letter", "ivr")
    contact_person: str = ""


STANDARD_RATES = {"M1": "0.08", "M2": "0.12", "M3": "0.16", "M4": "0.20", "M5": "0.24", "M6": "0.27", "M7+": "0.32"}

AGENCIES: tuple[DemoAgency, ...] = (
    DemoAgency("HUAXIN", "华信资产管理有限公司", "110105", "MA01HX7Q2", ALL_REGIONS, 4000,
               Decimal("60000000"), AgencyStatus.active, Decimal("1.00"),
               {"early": 1.15, "mid": 1.0, "late": 0.8}, ("phone", "sms", "letter", "ivr", "email"), "陈立"),
    DemoAgency("YUERONG", "广东粤融信用管理有限公司", "440305", "MA02YR8K4",
               ["广东", "广西", "海南", "福建", "湖南", "江西"], 1800, Decimal("25000000"),
               AgencyStatus.active, Decimal("0.95"), {"early": 1.0, "mid": 1.2, "late": 1.0},
               ("phone", "sms", "visit", "letter"), "黄志伟"),
    DemoAgency("CHUANYU", "四川川渝恒通商务咨询有限公司", "510107", "MA03CY5M8",
               ["四川", "重庆", "贵州", "云南", "西藏", "陕西"], 1500, Decimal("20000000"),
               AgencyStatus.active, Decimal("0.90"), {"early": 0.85, "mid": 1.0, "late": 1.3},
               ("phone", "sms", "visit", "letter"), "刘洋"),
    DemoAgency("LUYU", "山东鲁豫诚信调解服务有限公司", "370102", "MA04LY3P6",
               ["山东", "河南", "河北", "山西", "天津", "北京", "江苏", "安徽"], 2200, Decimal("30000000"),
               AgencyStatus.active, Decimal("1.05"), {"early": 1.05, "mid": 0.95, "late": 0.9},
               ("phone", "sms", "letter"), "张建国"),
    DemoAgency("JIANGZHE", "浙江江浙汇诚企业管理有限公司", "330106", "MA05JH9R1",
               ["浙江", "上海", "江苏", "安徽"], 1200, Decimal("15000000"),
               AgencyStatus.applying, Decimal("1.00"), {"early": 1.0, "mid": 1.0, "late": 1.0}, ("phone", "sms"), "吴芳"),
    DemoAgency("BEIFANG", "北方联合信用服务有限公司", "210102", "MA06BF2T5",
               ["辽宁", "吉林", "黑龙江", "内蒙古"], 900, Decimal("10000000"),
               AgencyStatus.suspended, Decimal("1.00"), {"early": 0.9, "mid": 0.9, "late": 0.9}, ("phone", "sms"), "王磊"),
)


def uscc_of(agency: DemoAgency) -> str:
    """Enterprise (9) / company (1) + area code + organisation code + check character."""
    return make_uscc("91" + agency.area_code + agency.org_code)


def agency_payload(agency: DemoAgency) -> dict:
    return {
        "code": agency.code,
        "legal_name": agency.legal_name,
        "uscc": uscc_of(agency),
        "licence_no": f"金催备{agency.area_code}-{agency.org_code[-4:]}",
        "licence_expires_on": None,
        "regions_served": agency.regions,
        "capacity_cases": agency.capacity_cases,
        "capacity_balance": str(agency.capacity_balance),
        "contact_person": agency.contact_person or None,
        "contact_email": f"ops@{agency.code.lower()}.example.cn",
    }


def contract_payload(agency: DemoAgency, *, as_of: date, number: int) -> dict:
    rates = {bucket: str((Decimal(rate) * agency.fee_level).quantize(Decimal("0.0001")))
             for bucket, rate in STANDARD_RATES.items()}
    return {
        "contract_no": f"WW-{as_of:%Y}-{number:03d}",
        "agency_code": agency.code,
        "starts_on": (as_of - timedelta(days=240)).isoformat(),
        "ends_on": (as_of + timedelta(days=365)).isoformat(),
        "signed_on": (as_of - timedelta(days=250)).isoformat(),
        "confidentiality_signed_on": (as_of - timedelta(days=250)).isoformat(),
        "fee_schedule": {
            "currency": "CNY",
            "rates_by_bucket": rates,
            "recovery_tiers": [
                {"min_recovery_rate": "0.15", "bonus_rate": "0.01"},
                {"min_recovery_rate": "0.30", "bonus_rate": "0.02"},
            ],
            "fixed_fee_per_closed_case": "20.00",
        },
        "permitted_channels": list(agency.channels),
        "permitted_buckets": list(STANDARD_RATES),
        "permitted_regions": [],
        "placement_days": 90,
        "post_recall_grace_days": 7,
        "retention_days": 30,
        "reporting_cadence": "weekly",
        "entrustment": {
            "purpose": "逾期贷款委托催收：联系借款人并协商还款",
            "duration": "合同期内；案件结束后 30 天内删除",
            "processing_method": "仅在委托方平台内查看、联系与记录；不得下载、复制或向第三方提供",
            "data_categories": ["姓名", "身份证号（掩码）", "手机号码", "联系人电话", "欠款信息", "逾期信息"],
            "protection_measures": "加密传输与存储、最小必要、访问留痕、到期删除并出具删除证明、员工保密与培训",
        },
    }
