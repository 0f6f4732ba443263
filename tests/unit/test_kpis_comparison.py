"""Mix adjustment and stratum comparison (pure), labels and translations."""

from __future__ import annotations

import ast
import re
from decimal import Decimal
from pathlib import Path

from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

from weiwai.i18n import using_locale
from weiwai.reports.comparison import compare, mix_adjusted, stratum_order, stratum_weights
from weiwai.reports.kpis import Facts, kpi_values
from weiwai.reports.labels import show_kpi

D = Decimal
EASY = ("M1", "0-2k", "广东")
HARD = ("M3", "0-2k", "广东")


def _facts(cases: int, recovered: str, each: str = "1000.00") -> Facts:
    return Facts(cases=cases, balance_placed=D(each) * cases, recovered=D(recovered))


def test_hand_computed_mix_adjustment():
    # A: 3 easy cases at 50 %, 1 hard at 10 %; B: 1 easy at 60 %, 3 hard at 20 %.
    groups = {
        (1, *EASY): _facts(3, "1500"), (1, *HARD): _facts(1, "100"),
        (2, *EASY): _facts(1, "600"), (2, *HARD): _facts(3, "600"),
    }
    totals, strata, overall = compare(groups, {1: "A", 2: "B"}, {})
    a, b = overall
    assert (a.as_placed.recovery_rate_amount, a.mix_adjusted.recovery_rate_amount) == (D("0.4"), D("0.3"))
    assert (b.as_placed.recovery_rate_amount, b.mix_adjusted.recovery_rate_amount) == (D("0.3"), D("0.4"))
    assert totals.cases == 8
    assert [s.bucket for s in strata] == ["M1", "M3"]
    assert [[r.agency_code for r in s.agencies] for s in strata] == [["A", "B"], ["A", "B"]]


def test_amount_kpis_are_weighted_by_balance_and_the_others_by_cases():
    # Easy stratum: 1 case of 9,000; hard: 3 cases of 1,000. Case weights 1/4, 3/4;
    # balance weights 3/4, 1/4.
    stratum_totals = {EASY: _facts(1, "0", each="9000.00"), HARD: _facts(3, "0")}
    by_cases, by_balance = stratum_weights(stratum_totals)
    assert (by_cases[EASY], by_cases[HARD]) == (D("0.25"), D("0.75"))
    assert (by_balance[EASY], by_balance[HARD]) == (D("0.75"), D("0.25"))
    per_stratum = {
        EASY: {**kpi_values(Facts()), "recovery_rate_amount": D("0.4"), "coverage": D("1")},
        HARD: {**kpi_values(Facts()), "recovery_rate_amount": D("0.2"), "coverage": D("0.5")},
    }
    adjusted = mix_adjusted(per_stratum, by_cases, by_balance)
    assert adjusted["recovery_rate_amount"] == D("0.35")  # 0.75 × 0.4 + 0.25 × 0.2
    assert adjusted["coverage"] == D("0.625")  # 0.25 × 1 + 0.75 × 0.5
    assert adjusted["contact_rate"] is None  # n/a everywhere stays n/a


def test_strata_without_a_value_are_left_out_and_the_rest_renormalised():
    by_cases = {EASY: D("0.5"), HARD: D("0.5")}
    per_stratum = {
        EASY: {**kpi_values(Facts()), "contact_rate": D("0.3")},
        HARD: {**kpi_values(Facts()), "contact_rate": None},
    }
    assert mix_adjusted(per_stratum, by_cases, by_cases)["contact_rate"] == D("0.3")


rates = st.integers(min_value=0, max_value=1000)


@given(st.lists(st.tuples(st.integers(min_value=1, max_value=50), rates), min_size=1, max_size=5))
def test_an_agency_alone_in_the_scope_is_adjusted_to_its_own_figure(strata):
    # With one agency the scope's mix IS its mix: both overalls must agree (to rounding).
    groups = {
        (1, f"M{i + 1}", "0-2k", "广东"): Facts(cases=cases, balance_placed=D(1000) * cases,
                                               recovered=D(per_mille) * cases)
        for i, (cases, per_mille) in enumerate(strata)
    }
    _totals, _strata, (only,) = compare(groups, {1: "A"}, {})
    assert abs(only.mix_adjusted.recovery_rate_amount - only.as_placed.recovery_rate_amount) <= D("0.000005")
    assert only.mix_share == D("1")


def test_strata_are_ordered_by_bucket_then_band():
    keys = [("M3", "0-2k", "广东"), ("M1", "10k-30k", "北京"), ("M1", "2k-5k", "广东"), ("M10", "0-2k", "x")]
    assert sorted(keys, key=stratum_order) == [
        ("M1", "2k-5k", "广东"), ("M1", "10k-30k", "北京"), ("M3", "0-2k", "广东"), ("M10", "0-2k", "x"),
    ]


def test_kpi_values_are_shown_as_percent_number_or_na():
    with using_locale("en"):
        assert show_kpi("recovery_rate_amount", D("0.123456")) == "12.35%"
        assert show_kpi("penetration", D("1.666667")) == "1.67"
        assert show_kpi("contact_rate", None) == "n/a"
    with using_locale("zh_CN"):
        assert show_kpi("contact_rate", None) == "不适用"


SRC = Path(__file__).parents[2] / "src" / "weiwai"
MODULES = sorted((SRC / "reports").glob("*.py")) + [SRC / "cli" / "evaluate_cmd.py"]
OWN_MODULES = [path for path in MODULES if path.name != "portfolio_summary.py"]
CATALOG = SRC / "locales" / "zh_CN" / "reports.po"


def test_every_message_is_translated_with_the_same_placeholders():
    with CATALOG.open("rb") as fh:
        catalog = {str(m.id): str(m.string) for m in read_po(fh, locale="zh_CN") if m.id}
    found = []
    for path in OWN_MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
                assert isinstance(node.args[0], ast.Constant), f"{path.name}:{node.lineno}: _() of a non-literal"
                found.append(node.args[0].value)
    assert len(found) > 50
    assert [m for m in found if not catalog.get(m)] == []
    placeholders = re.compile(r"\{\w+\}")
    assert [m for m in found if set(placeholders.findall(catalog[m])) != set(placeholders.findall(m))] == []
