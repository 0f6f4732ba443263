"""Tracing a leaked file to the agency and handover package it came from (`weiwai leaks trace`).

A leaked file may have been re-saved, re-ordered, its columns renamed or dropped, so the
file is not read as a table: its text (CSV in UTF-8 or GBK, TXT, JSON, or the XML inside an
XLSX) is scanned for tokens — identifier-like words (case and account numbers), 18-character
national IDs with a valid check character, 11-digit mobiles, and their masked forms. Tokens
are matched against the canary records: case and account numbers directly, IDs and mobiles
through their blind index (no plaintext at rest), masked forms only where exactly one canary
has that form. Every canary found names its agency, contract and package; as secondary
evidence, the real case numbers found say which packages released them (overlap counts).
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency, Contract
from weiwai.errors import RuleViolation
from weiwai.handover.models import HandoverPackage, HandoverPackageCase
from weiwai.i18n import _
from weiwai.placements.models import Case
from weiwai.portfolio import personal_data
from weiwai.portfolio.identity import national_id_check_char
from weiwai.privacy import canaries
from weiwai.privacy.canary_models import CanaryRecord
from weiwai.security import audit

MAX_BYTES = 200 * 1024 * 1024
CHUNK = 1000
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{3,39}")
_NATIONAL_ID = re.compile(r"(?<![0-9A-Za-z])([1-9][0-9]{16}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])(1[3-9][0-9]{9})(?![0-9])")
_MASKED_ID = re.compile(r"(?<![0-9*])([0-9]{3}\*{11}[0-9]{3}[0-9Xx])(?![0-9*])")
_MASKED_MOBILE = re.compile(r"(?<![0-9*])(1[3-9][0-9]\*{4}[0-9]{4})(?![0-9*])")


@dataclass
class PackageMatch:
    package_no: str
    agency_code: str
    agency_name: str
    contract_no: str
    canaries_in_package: int
    canaries_matched: int = 0
    matched_by: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Overlap:
    package_no: str
    agency_code: str
    contract_no: str
    real_cases_found: int


@dataclass
class TraceResult:
    file: str
    sha256: str
    tokens: dict[str, int]
    packages: list[PackageMatch]
    overlaps: list[Overlap]
    real_cases_found: int
    sightings: int

    @property
    def agency_code(self) -> str | None:
        """The agency named by the most canaries (None: no canary in the file)."""
        return self.packages[0].agency_code if self.packages else None


@dataclass
class Tokens:
    words: set[str]
    national_ids: set[str]
    mobiles: set[str]
    masked_ids: set[str]
    masked_mobiles: set[str]

    def counts(self) -> dict[str, int]:
        return {"words": len(self.words), "national_ids": len(self.national_ids), "mobiles": len(self.mobiles),
                "masked_ids": len(self.masked_ids), "masked_mobiles": len(self.masked_mobiles)}


def read_text(name: str, content: bytes) -> str:
    """The text of a file of any of the shapes a leak takes; RuleViolation naming the file and why not."""
    if not content:
        raise RuleViolation(_("{file}: the file is empty").format(file=name), code="unreadable_file")
    if len(content) > MAX_BYTES:
        raise RuleViolation(_("{file}: the file is larger than {mb} MB").format(file=name, mb=MAX_BYTES >> 20),
                            code="unreadable_file")
    if content[:4] == b"PK\x03\x04":
        return _xlsx_text(name, content)
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise RuleViolation(_("{file}: an old binary Excel file (.xls); save it as .xlsx or .csv").format(file=name),
                            code="unreadable_file")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text[:4096]:
            break
        return text
    try:
        return content.decode("utf-16")
    except UnicodeDecodeError:
        pass
    raise RuleViolation(_("{file}: not text (UTF-8, GBK or UTF-16), nor an XLSX workbook").format(file=name),
                        code="unreadable_file")


def _xlsx_text(name: str, content: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = [info for info in archive.infolist()
                     if info.filename.startswith("xl/") and info.filename.endswith(".xml")
                     and ("worksheets/" in info.filename or "sharedStrings" in info.filename)]
            if not parts:
                raise RuleViolation(_("{file}: a ZIP archive without worksheets, not an XLSX workbook").format(
                    file=name), code="unreadable_file")
            texts = [archive.read(info).decode("utf-8", errors="replace") for info in parts]
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        raise RuleViolation(_("{file}: not a readable XLSX workbook ({reason})").format(file=name, reason=exc),
                            code="unreadable_file") from None
    # Cell text between tags; tags become separators.
    return html.unescape(re.sub(r"<[^>]+>", " ", "\n".join(texts)))


def extract_tokens(text: str) -> Tokens:
    """Candidate tokens of a file's text (pure)."""
    ids = {value.upper() for value in _NATIONAL_ID.findall(text) if national_id_check_char(value[:17]) ==
           value[17].upper()}
    return Tokens(
        words={word.strip("-_") for word in _WORD.findall(text) if any(c.isdigit() for c in word)},
        national_ids=ids,
        mobiles=set(_MOBILE.findall(text)),
        masked_ids={value.upper() for value in _MASKED_ID.findall(text)},
        masked_mobiles=set(_MASKED_MOBILE.findall(text)),
    )


def trace_file(*, session: Session, path: Path, actor: str, actor_agency_id: int | None = None) -> TraceResult:
    """Trace a file on disk (see trace_content)."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise RuleViolation(_("{file}: cannot be read ({reason})").format(file=path, reason=exc.strerror or exc),
                            code="unreadable_file") from None
    return trace_content(session=session, name=path.name, content=content, actor=actor,
                         actor_agency_id=actor_agency_id)


def trace_content(
    *, session: Session, name: str, content: bytes, actor: str, actor_agency_id: int | None = None
) -> TraceResult:
    """Which canaries (so which agency, contract and package) a leaked file holds; a sighting per canary."""
    text = read_text(name, content)
    tokens = extract_tokens(text)
    found = _canaries_found(session, tokens)
    packages = _package_matches(session, found)
    overlaps, real_found = _overlaps(session, tokens.words)
    sha256 = hashlib.sha256(content).hexdigest()
    for canary, kinds in found.values():
        canaries.record_sighting(session=session, canary=canary, source="trace", actor=actor,
                                 actor_agency_id=actor_agency_id,
                                 details={"file": name[:200], "sha256": sha256, "matched_by": sorted(kinds)})
    audit.record(session=session, actor=actor, action="leaks.trace", entity="file", entity_id=sha256,
                 details={"file": name[:200], "bytes": len(content),
                          "packages": {m.package_no: m.canaries_matched for m in packages},
                          "real_cases_found": real_found})
    return TraceResult(file=name, sha256=sha256, tokens=tokens.counts(), packages=packages, overlaps=overlaps,
                       real_cases_found=real_found, sightings=len(found))


def _chunks(values, size: int = CHUNK):
    values = sorted(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _canaries_found(session: Session, tokens: Tokens) -> dict[int, tuple[CanaryRecord, set[str]]]:
    found: dict[int, tuple[CanaryRecord, set[str]]] = {}

    def add(records, kind: str) -> None:
        for record in records:
            found.setdefault(record.id, (record, set()))[1].add(kind)

    # Canary numbers are few next to a file's words: match them in memory.
    by_kind: dict[str, set[int]] = {"case_no": set(), "account_no": set()}
    for canary_id, case_no, account_no in session.execute(
            select(CanaryRecord.id, CanaryRecord.case_no, CanaryRecord.account_no)):
        if case_no in tokens.words:
            by_kind["case_no"].add(canary_id)
        if account_no in tokens.words:
            by_kind["account_no"].add(canary_id)
    for kind, ids in by_kind.items():
        for chunk in _chunks(ids):
            add(session.scalars(select(CanaryRecord).where(CanaryRecord.id.in_(chunk))), kind)
    id_indexes = {personal_data.national_id_index(value): value for value in tokens.national_ids}
    for chunk in _chunks(id_indexes):
        add(session.scalars(select(CanaryRecord).where(CanaryRecord.national_id_bidx.in_(chunk))), "national_id")
    phone_indexes = {personal_data.phone_index(value): value for value in tokens.mobiles}
    for chunk in _chunks(phone_indexes):
        add(session.scalars(select(CanaryRecord).where(CanaryRecord.phone_bidx.in_(chunk))), "mobile")
        add(session.scalars(select(CanaryRecord).where(CanaryRecord.contact_phone_bidx.in_(chunk))), "contact_phone")
    if tokens.masked_ids or tokens.masked_mobiles:
        add(_masked_matches(session, tokens), "masked")
    return found


def _masked_matches(session: Session, tokens: Tokens) -> list[CanaryRecord]:
    """Canaries whose masked ID or mobile is in the file, where that masked form is one canary's only."""
    by_id: dict[str, list[CanaryRecord]] = defaultdict(list)
    by_phone: dict[str, list[CanaryRecord]] = defaultdict(list)
    id_mask = personal_data.MASKS[personal_data.NATIONAL_ID]
    phone_mask = personal_data.MASKS[personal_data.DEBTOR_PHONE]
    for record in session.scalars(select(CanaryRecord)):
        if tokens.masked_ids:
            plain = personal_data.open_value(record.national_id_enc, personal_data.NATIONAL_ID, reveal=True)
            by_id[id_mask(plain)].append(record)
        if tokens.masked_mobiles:
            plain = personal_data.open_value(record.phone_enc, personal_data.DEBTOR_PHONE, reveal=True)
            by_phone[phone_mask(plain)].append(record)
    matches = [records[0] for masked, records in by_id.items() if masked in tokens.masked_ids and len(records) == 1]
    matches += [records[0] for masked, records in by_phone.items()
                if masked in tokens.masked_mobiles and len(records) == 1]
    return matches


def _package_matches(session: Session, found: dict[int, tuple[CanaryRecord, set[str]]]) -> list[PackageMatch]:
    if not found:
        return []
    per_package: dict[int, list[set[str]]] = defaultdict(list)
    for record, kinds in found.values():
        per_package[record.package_id].append(kinds)
    rows = session.execute(
        select(HandoverPackage.id, HandoverPackage.package_no, HandoverPackage.canary_count, Agency.code,
               Agency.legal_name, Contract.contract_no)
        .join(Agency, HandoverPackage.agency_id == Agency.id)
        .join(Contract, HandoverPackage.contract_id == Contract.id)
        .where(HandoverPackage.id.in_(list(per_package)))
    ).all()
    matches = []
    for package_id, package_no, canary_count, code, legal_name, contract_no in rows:
        kinds = per_package[package_id]
        by = Counter(kind for found_kinds in kinds for kind in found_kinds)
        matches.append(PackageMatch(package_no=package_no, agency_code=code, agency_name=legal_name,
                                    contract_no=contract_no, canaries_in_package=canary_count,
                                    canaries_matched=len(kinds), matched_by=dict(sorted(by.items()))))
    return sorted(matches, key=lambda m: (-m.canaries_matched, m.package_no))


def _overlaps(session: Session, words: set[str]) -> tuple[list[Overlap], int]:
    """Which packages released the real case numbers found in the file, and how many each."""
    case_ids: set[int] = set()
    for chunk in _chunks(words, 5000):
        case_ids.update(session.scalars(select(Case.id).where(Case.case_no.in_(chunk))))
    if not case_ids:
        return [], 0
    counts: Counter[int] = Counter()
    for chunk in _chunks(case_ids):
        counts.update(dict(session.execute(
            select(HandoverPackageCase.package_id, func.count())
            .where(HandoverPackageCase.case_id.in_(chunk)).group_by(HandoverPackageCase.package_id)
        ).all()))
    if not counts:
        return [], len(case_ids)
    top = [package_id for package_id, _count in counts.most_common(20)]
    rows = session.execute(
        select(HandoverPackage.id, HandoverPackage.package_no, Agency.code, Contract.contract_no)
        .join(Agency, HandoverPackage.agency_id == Agency.id)
        .join(Contract, HandoverPackage.contract_id == Contract.id)
        .where(HandoverPackage.id.in_(top))
    ).all()
    overlaps = [Overlap(package_no=no, agency_code=code, contract_no=contract_no, real_cases_found=counts[pid])
                for pid, no, code, contract_no in rows]
    return sorted(overlaps, key=lambda o: (-o.real_cases_found, o.package_no)), len(case_ids)
