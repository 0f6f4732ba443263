"""The pure contact-rule evaluator: `evaluate(facts, pack) -> Decision`, no database, no clock.

A pack (weiwai.compliance.pack_schema.Pack) is compiled once into plain closures over frozen
sets and minute numbers (`compile_pack`, cached per pack object); evaluating a contact then
runs every enabled rule of the pack against the facts and collects every denial, each with
its reasons in Chinese and English and, when waiting lifts it, the earliest moment it does.

Time rules work in the debtor's local time through zoneinfo (DST included): CN uses the
debtor's first zone; US and UK (`all_zones`) require the time to be allowed in every
candidate zone. Counters count the history of every agency together; a reservation (or a
contact with no outcome yet) counts as the worst case.

Decision.earliest_allowed_at is the first moment, at or after the latest of the denials'
`earliest`, that no contact-hours window (quiet hours, inconvenient times) blocks; None
when some denial cannot be waited out. Decision.rule_ids lists the denying rules, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from weiwai.compliance.decision import ContactFacts, Decision, Denial
from weiwai.compliance.pack_schema import (
    ContactHoursParams,
    CounterParams,
    EvidenceParams,
    HoldsParams,
    Pack,
    TemplateParams,
    ThirdPartyParams,
    minutes,
)

CHANNEL_ZH = {"phone": "电话", "sms": "短信", "visit": "上门", "letter": "信函", "email": "电子邮件", "ivr": "语音外呼"}
HOLD_ZH = {
    "dispute": "争议", "cease_contact": "要求停止联系", "complaint": "投诉处理中", "hardship": "经济困难",
    "deceased": "已故", "bankrupt": "破产", "litigation": "诉讼中", "vulnerable": "弱势客户",
    "attorney": "已委托律师", "workplace": "禁止工作场所联系", "channel_opt_out": "拒绝该联系方式",
}
HOLD_EN = {
    "dispute": "dispute", "cease_contact": "cease-contact request", "complaint": "complaint under investigation",
    "hardship": "financial difficulty", "deceased": "deceased", "bankrupt": "bankruptcy", "litigation": "litigation",
    "vulnerable": "vulnerable customer", "attorney": "represented by an attorney",
    "workplace": "no contact at work", "channel_opt_out": "channel opt-out",
}
PARTY_ZH = {"debtor": "债务人", "contact": "联系人", "third_party": "第三方"}

# (start minute, end minute, ISO weekdays on which the window starts or None for every day)
Window = tuple[int, int, frozenset[int] | None]
Check = Callable[[ContactFacts, "_Ctx", list[Denial]], None]


@dataclass(frozen=True, slots=True)
class CompiledPack:
    """A pack ready for the hot path: its label and one closure per enabled rule."""

    label: str
    checks: tuple[Check, ...]


@lru_cache(maxsize=None)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=4096)
def _hhmm(value: object) -> int | None:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":" or not (value[:2] + value[3:]).isdigit():
        return None
    h, m = int(value[:2]), int(value[3:])
    return h * 60 + m if h < 24 and m < 60 else None


def _pref_window(data: dict) -> Window | None:
    start, end = _hhmm(data.get("start")), _hhmm(data.get("end"))
    if start is None or end is None or start == end:
        return None
    days = data.get("weekdays")
    if days is None:
        return start, end, None
    if not isinstance(days, list | tuple) or not all(isinstance(d, int) and 1 <= d <= 7 for d in days):
        return None
    return start, end, frozenset(days)


def _inside(local: datetime, window: Window) -> bool:
    start, end, days = window
    m = local.hour * 60 + local.minute
    if start < end:
        if not start <= m < end:
            return False
        started = local.isoweekday()
    elif m >= start:
        started = local.isoweekday()
    elif m < end:
        started = local.isoweekday() - 1 or 7
    else:
        return False
    return days is None or started in days


def _window_end(local: datetime, end: int, tz: ZoneInfo) -> datetime:
    m = local.hour * 60 + local.minute
    day = local.date() if m < end else local.date() + timedelta(days=1)
    fold = local.fold if day == local.date() else 0
    return datetime(day.year, day.month, day.day, end // 60, end % 60, tzinfo=tz, fold=fold).astimezone(UTC)


def next_free(moment: datetime, groups: list[tuple[tuple[ZoneInfo, ...], tuple[Window, ...]]]) -> datetime | None:
    """The first moment at or after `moment` that no window blocks in any of its zones (None: none found)."""
    t = moment
    for _ in range(48):
        moved = False
        for zones, windows in groups:
            for tz in zones:
                local = t.astimezone(tz)
                for window in windows:
                    if _inside(local, window):
                        later = _window_end(local, window[1], tz)
                        t = later if later > t else t + timedelta(minutes=1)
                        local = t.astimezone(tz)
                        moved = True
        if not moved:
            return t
    return None


def _hm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


class _Ctx:
    """What several rules need about one proposed contact, computed once."""

    __slots__ = ("at", "zones", "local0", "today", "_day", "windows")

    def __init__(self, facts: ContactFacts) -> None:
        at = facts.at
        if at.tzinfo is None:
            raise ValueError("ContactFacts.at must be an aware datetime (UTC)")
        if not facts.time_zones:
            raise ValueError("ContactFacts.time_zones must name at least one time zone")
        self.at = at
        self.zones = tuple(zone(name) for name in facts.time_zones)
        self.local0 = at.astimezone(self.zones[0])
        self.today: date = self.local0.date()
        self._day: tuple[datetime, datetime] | None = None
        self.windows: list[tuple[tuple[ZoneInfo, ...], tuple[Window, ...]]] = []

    def day_bounds(self) -> tuple[datetime, datetime]:
        """The debtor's local day (first zone) around `at`, as [start, end) in UTC."""
        if self._day is None:
            tz, today = self.zones[0], self.today
            tomorrow = today + timedelta(days=1)
            self._day = (datetime(today.year, today.month, today.day, tzinfo=tz).astimezone(UTC),
                         datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=tz).astimezone(UTC))
        return self._day


def _live(pref, today: date) -> bool:
    return pref.valid_until is None or pref.valid_until >= today


def _targets(pref, facts: ContactFacts) -> bool:
    """Does a preference concern this contact? One without contact or number is the debtor's own."""
    if pref.contact_id is not None:
        return pref.contact_id == facts.contact_id
    if pref.phone_bidx is not None:
        return pref.phone_bidx == facts.phone_bidx
    return facts.party == "debtor"


# --- compilers, one per rule kind --------------------------------------------------------------


def _contact_hours(rule_id: str, p: ContactHoursParams) -> Check:
    quiet: Window = (minutes(p.quiet_start), minutes(p.quiet_end), None)
    applies, all_zones = p.applies_to_channels, p.all_zones
    agreed_ok, inconvenient_ok, channel_only_ok = (
        p.agreed_window_exception, p.honour_inconvenient_time, p.honour_preferred_channel_only)
    qs, qe = p.quiet_start, p.quiet_end

    def check(facts: ContactFacts, ctx: _Ctx, out: list[Denial]) -> None:
        channel = facts.channel
        if channel not in applies:
            return
        zones = ctx.zones if all_zones else ctx.zones[:1]
        blocks: list[Window] = [quiet]
        agreed: list[Window] = []
        late: list[Denial] = []
        for pref in facts.preferences:
            kind = pref.kind
            if kind == "agreed_window":
                if agreed_ok and pref.evidenced and _live(pref, ctx.today) and _targets(pref, facts):
                    window = _pref_window(pref.data)
                    if window is not None:
                        agreed.append(window)
            elif kind == "inconvenient_time":
                if inconvenient_ok and _live(pref, ctx.today) and (
                        _targets(pref, facts) or (pref.contact_id is None and pref.phone_bidx is None)):
                    window = _pref_window(pref.data)
                    if window is None:
                        late.append(Denial(rule_id, "债务人声明的不便联系时段无法识别，暂不联系",
                                           "the debtor's inconvenient-time request cannot be read; no contact "
                                           "until it is corrected"))
                    else:
                        blocks.append(window)
            elif kind == "preferred_channel_only":
                if channel_only_ok and _live(pref, ctx.today) and (
                        _targets(pref, facts) or (pref.contact_id is None and pref.phone_bidx is None)):
                    wanted = pref.data.get("channels") or ()
                    if channel not in wanted:
                        shown = ", ".join(map(str, wanted)) or "-"
                        late.append(Denial(
                            rule_id, f"债务人要求只通过以下方式联系：{shown}；不得使用{CHANNEL_ZH.get(channel, channel)}",
                            f"the debtor asked to be contacted only by {shown}, not by {channel}"))
        windows = tuple(blocks)
        ctx.windows.append((zones, windows))
        at = ctx.at
        quiet_in = []
        hit_prefs: list[Window] = []
        for tz in zones:
            local = at.astimezone(tz)
            if _inside(local, quiet) and not any(_inside(local, w) for w in agreed):
                quiet_in.append(tz.key)
            for window in windows[1:]:
                if _inside(local, window) and window not in hit_prefs:
                    hit_prefs.append(window)
        if quiet_in or hit_prefs:
            earliest = next_free(at, [(zones, windows)])
            if quiet_in:
                if all_zones and len(zones) > 1:
                    where_zh = f"债务人可能所在的时区之一（{', '.join(quiet_in)}）"
                    where_en = f"at least one of the debtor's possible time zones ({', '.join(quiet_in)})"
                else:
                    where_zh = f"债务人当地时间，{quiet_in[0]}"
                    where_en = f"the debtor's local time ({quiet_in[0]})"
                out.append(Denial(rule_id, f"{qs}–{qe} 为免打扰时段（{where_zh}）",
                                  f"{qs}–{qe} is quiet time in {where_en}", earliest))
            for s, e, _days in hit_prefs:
                out.append(Denial(rule_id, f"债务人表示 {_hm(s)}–{_hm(e)} 不便联系",
                                  f"the debtor said {_hm(s)}–{_hm(e)} is an inconvenient time", earliest))
        out.extend(late)

    return check


_COUNTS = {
    "conversations": ("次有效通话", "effective conversations"),
    "call_attempts": ("次拨打", "call attempts"),
    "contacts": ("次联系", "contacts"),
}
_SCOPE = {
    "debtor": ("与该债务人", "with this debtor"),
    "number": ("对该号码", "to this phone number"),
    "person_debt": ("就该笔债务与此人", "with this person about this debt"),
}


def _counter(rule_id: str, p: CounterParams) -> Check:
    applies, counted_channels, counted_outcomes = p.applies_to_channels, p.counted_channels, p.counted_outcomes
    reserved_channels = p.reserved_channels
    max_day, max_roll = p.max_per_local_day, p.max_per_rolling_window
    window = timedelta(days=p.window_days)
    pause_outcomes, pause_channels, pause = p.pause_after_outcomes, p.pause_channels, timedelta(days=p.pause_days)
    scope = p.scope
    what_zh, what_en = _COUNTS[p.counts]
    scope_zh, scope_en = _SCOPE[scope]
    window_days, pause_days = p.window_days, p.pause_days

    def check(facts: ContactFacts, ctx: _Ctx, out: list[Denial]) -> None:
        if facts.channel not in applies:
            return
        number = facts.phone_bidx
        if scope == "number" and number is None:
            out.append(Denial(rule_id, "未提供拨打的号码，无法核对该号码的拨打次数",
                              "the phone number to call is not given, so its attempts cannot be counted"))
            return
        t = ctx.at
        day_start, day_end = ctx.day_bounds() if max_day else (t, t)
        since = t - window
        party, contact_id, account_id = facts.party, facts.contact_id, facts.account_id
        n_day = 0
        rolling: list[datetime] = []
        last_talk: datetime | None = None
        for e in facts.history:
            if scope == "number":
                if e.phone_bidx != number:
                    continue
            elif scope == "person_debt":
                if e.party != party or (party != "debtor" and e.contact_id != contact_id):
                    continue
                if account_id is not None and e.account_id is not None and e.account_id != account_id:
                    continue
            channel, outcome = e.channel, e.outcome
            if channel in counted_channels and (
                    outcome in counted_outcomes or ((e.reserved or outcome is None) and channel in reserved_channels)):
                when = e.at
                if max_day and day_start <= when < day_end:
                    n_day += 1
                if max_roll and since < when <= t:
                    rolling.append(when)
            if pause_outcomes and channel in pause_channels and outcome in pause_outcomes:
                when = e.at
                if when <= t and (last_talk is None or when > last_talk):
                    last_talk = when
        if max_day and n_day >= max_day:
            out.append(Denial(
                rule_id, f"债务人当地自然日内{scope_zh}已有 {n_day} {what_zh}（所有机构合计），每日上限 {max_day} 次",
                f"already {n_day} {what_en} {scope_en} in the debtor's local day, all agencies together; "
                f"the limit is {max_day} a day", day_end))
        if max_roll and len(rolling) >= max_roll:
            rolling.sort()
            out.append(Denial(
                rule_id, f"最近 {window_days} 天内{scope_zh}已有 {len(rolling)} {what_zh}（所有机构合计），上限 {max_roll} 次",
                f"already {len(rolling)} {what_en} {scope_en} in the last {window_days} days, all agencies together; "
                f"the limit is {max_roll}", rolling[len(rolling) - max_roll] + window))
        if last_talk is not None and t - last_talk < pause:
            out.append(Denial(
                rule_id, f"{pause_days} 天内{scope_zh}已有过电话沟通，期间不得再致电",
                f"a telephone conversation {scope_en} took place less than {pause_days} days ago; "
                f"no call within {pause_days} days after it", last_talk + pause))

    return check


def _third_party(rule_id: str, p: ThirdPartyParams) -> Check:
    parties, needed, failed_outcomes = p.parties, p.min_failed_debtor_attempts, p.failed_outcomes
    failed_channels, lookback, lookback_days, dnc = p.failed_channels, timedelta(days=p.lookback_days), \
        p.lookback_days, p.honour_do_not_contact

    def check(facts: ContactFacts, ctx: _Ctx, out: list[Denial]) -> None:
        party = facts.party
        if dnc:
            for pref in facts.preferences:
                if pref.kind != "do_not_contact" or not _live(pref, ctx.today):
                    continue
                if pref.contact_id is None and pref.phone_bidx is None:
                    hit = party != "debtor"
                else:
                    hit = ((pref.contact_id is not None and pref.contact_id == facts.contact_id)
                           or (pref.phone_bidx is not None and pref.phone_bidx == facts.phone_bidx))
                if hit:
                    out.append(Denial(rule_id, "该联系人（或号码）已拒绝联系，不得再次联系",
                                      "this contact person (or number) refused contact and is never contacted again"))
                    break
        if needed and party in parties:
            t = ctx.at
            since = t - lookback
            failed = 0
            for e in facts.history:
                if (e.party == "debtor" and e.outcome in failed_outcomes and e.channel in failed_channels
                        and since <= e.at <= t):
                    failed += 1
            if failed < needed:
                out.append(Denial(
                    rule_id,
                    f"仅在债务人失联时方可联系{PARTY_ZH.get(party, party)}：最近 {lookback_days} 天内对债务人的"
                    f"未接通记录 {failed} 次，需至少 {needed} 次",
                    f"a {party.replace('_', ' ')} may be contacted only when the debtor is unreachable: "
                    f"{failed} failed attempts to the debtor in the last {lookback_days} days, at least {needed} needed"))

    return check


_EVIDENCE = {
    "credential_ref": ("上门须登记催收人员的身份证明（工作证）", "a field visit needs the collector's credential reference"),
    "recording_ref": ("上门须全程录音或录像，请登记录音/录像编号", "a field visit needs an audio or video recording reference"),
    "line_ref": ("须使用机构登记的录音线路，请登记线路编号", "calls must use the agency's recorded line: give its line reference"),
}


def _evidence(rule_id: str, p: EvidenceParams) -> Check:
    channels, name = p.channels, p.field
    zh, en = _EVIDENCE[name]

    def check(facts: ContactFacts, ctx: _Ctx, out: list[Denial]) -> None:
        if facts.channel in channels and not getattr(facts, name):
            out.append(Denial(rule_id, zh, en))

    return check


def _template(rule_id: str, p: TemplateParams) -> Check:
    channels, required = p.channels, p.required

    def check(facts: ContactFacts, ctx: _Ctx, out: list[Denial]) -> None:
        channel = facts.channel
        if channel not in channels or facts.template_approved is True:
            return
        code = facts.template_code
        if code is not None:
            out.append(Denial(rule_id, f"模板 {code} 未经审批，不得使用", f"template {code} is not approved"))
        elif required:
            out.append(Denial(rule_id, f"{CHANNEL_ZH.get(channel, channel)}须使用已审批的模板",
                              f"{channel} messages need an approved template"))

    return check


def _holds(p: HoldsParams) -> Check:
    policies = {}
    for kind, policy in p.kinds.items():
        block = policy.block
        mode, listed = (block, frozenset()) if isinstance(block, str) else ("list", block)
        note_zh = f"；{policy.note_zh}" if policy.note_zh else ""
        note_en = f"; {policy.note_en}" if policy.note_en else ""
        policies[kind] = (mode, listed, policy.rule_id or f"HOLD-{kind}", note_zh, note_en)

    def check(facts: ContactFacts, ctx: _Ctx, out: list[Denial]) -> None:
        channel, account_id = facts.channel, facts.account_id
        for hold in facts.holds:
            if hold.account_id is not None and account_id is not None and hold.account_id != account_id:
                continue
            kind = hold.kind
            mode, listed, rule_id, note_zh, note_en = policies.get(kind) or ("hold", frozenset(), f"HOLD-{kind}", "", "")
            if mode == "all":
                hit = True
            elif mode == "hold":
                hit = not hold.channels or channel in hold.channels
            elif mode == "list":
                hit = channel in listed or channel in hold.channels
            else:
                hit = False
            if hit:
                out.append(Denial(
                    rule_id, f"{HOLD_ZH.get(kind, kind)}：暂停{CHANNEL_ZH.get(channel, channel)}联系{note_zh}",
                    f"{HOLD_EN.get(kind, kind)} hold: no {channel} contact{note_en}"))

    return check


def _contract_channels(rule_id: str) -> Check:
    def check(facts: ContactFacts, ctx: _Ctx, out: list[Denial]) -> None:
        allowed = facts.contract_channels
        if allowed is not None and facts.channel not in allowed:
            channel = facts.channel
            out.append(Denial(rule_id, f"委外合同未授权{CHANNEL_ZH.get(channel, channel)}渠道",
                              f"the agency's contract does not allow the {channel} channel"))

    return check


_COMPILED: dict[int, tuple[Pack, CompiledPack]] = {}


def compile_pack(pack: Pack) -> CompiledPack:
    """The hot-path form of `pack`, built once per pack object."""
    hit = _COMPILED.get(id(pack))
    if hit is not None and hit[0] is pack:
        return hit[1]
    checks: list[Check] = []
    for rule in pack.rules:
        if not rule.enabled:
            continue
        kind = rule.kind
        if kind == "contact_hours":
            checks.append(_contact_hours(rule.id, rule.params))
        elif kind == "counter":
            checks.append(_counter(rule.id, rule.params))
        elif kind == "third_party":
            checks.append(_third_party(rule.id, rule.params))
        elif kind == "evidence":
            checks.append(_evidence(rule.id, rule.params))
        elif kind == "template":
            checks.append(_template(rule.id, rule.params))
        elif kind == "holds":
            checks.append(_holds(rule.params))
        elif kind == "contract_channels":
            checks.append(_contract_channels(rule.id))
        else:  # pragma: no cover - the schema admits no other kind
            raise ValueError(f"unknown rule kind {kind}")
    compiled = CompiledPack(label=pack.label, checks=tuple(checks))
    if len(_COMPILED) > 256:
        _COMPILED.clear()
    _COMPILED[id(pack)] = (pack, compiled)
    return compiled


def evaluate(facts: ContactFacts, pack: Pack | CompiledPack) -> Decision:
    """Judge one proposed contact against `pack`: every denial with reasons, and when it would be allowed."""
    compiled = pack if isinstance(pack, CompiledPack) else compile_pack(pack)
    ctx = _Ctx(facts)
    out: list[Denial] = []
    for check in compiled.checks:
        check(facts, ctx, out)
    if not out:
        return Decision(allowed=True, pack=compiled.label)
    earliest = None
    if all(d.earliest is not None for d in out):
        latest = max(d.earliest for d in out)  # type: ignore[type-var]
        earliest = next_free(latest, ctx.windows) if ctx.windows else latest
    return Decision(allowed=False, pack=compiled.label, denials=tuple(out), earliest_allowed_at=earliest,
                    rule_ids=tuple(dict.fromkeys(d.rule_id for d in out)))
