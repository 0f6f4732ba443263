"""Province-level regions with a representative ID area code, city, weight and time zone.

Weights follow population roughly, so the demo book looks like a national lender's.
Xinjiang uses Asia/Urumqi (UTC+6 in local practice), which exercises the rule that
contact hours follow the debtor's local time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    name: str
    area_code: str  # first six digits of a national ID issued there
    city: str
    weight: int
    time_zone: str = "Asia/Shanghai"


REGIONS: tuple[Region, ...] = (
    Region("广东", "440305", "深圳市", 126),
    Region("山东", "370102", "济南市", 101),
    Region("河南", "410105", "郑州市", 99),
    Region("江苏", "320106", "南京市", 85),
    Region("四川", "510107", "成都市", 84),
    Region("河北", "130102", "石家庄市", 75),
    Region("湖南", "430103", "长沙市", 66),
    Region("浙江", "330106", "杭州市", 65),
    Region("安徽", "340104", "合肥市", 61),
    Region("湖北", "420106", "武汉市", 58),
    Region("广西", "450103", "南宁市", 50),
    Region("云南", "530102", "昆明市", 47),
    Region("江西", "360102", "南昌市", 45),
    Region("辽宁", "210102", "沈阳市", 43),
    Region("福建", "350102", "福州市", 42),
    Region("陕西", "610113", "西安市", 40),
    Region("贵州", "520102", "贵阳市", 39),
    Region("山西", "140105", "太原市", 35),
    Region("重庆", "500103", "重庆市", 32),
    Region("黑龙江", "230102", "哈尔滨市", 31),
    Region("新疆", "650102", "乌鲁木齐市", 26, "Asia/Urumqi"),
    Region("上海", "310115", "上海市", 25),
    Region("甘肃", "620102", "兰州市", 25),
    Region("内蒙古", "150102", "呼和浩特市", 24),
    Region("吉林", "220102", "长春市", 24),
    Region("北京", "110105", "北京市", 22),
    Region("天津", "120101", "天津市", 14),
    Region("海南", "460106", "海口市", 10),
    Region("宁夏", "640104", "银川市", 7),
    Region("青海", "630102", "西宁市", 6),
    Region("西藏", "540102", "拉萨市", 4),
)
