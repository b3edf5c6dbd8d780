"""Warnings for free text that looks like it identifies a child or family.

Referral records have no fields for names, dates of birth, addresses or numbers, but their notes are free
text, and an extract's notes column is typed by busy duty workers. :func:`identifier_warnings` looks for
what such notes most often let slip: a person's name (a title such as "Mrs" before a capitalised word, two
capitalised words that are not everyday or service words, a capitalised word after "mum", "son", "called"
..., a possessive such as "Kayden's"), a UK postcode, a street address or flat number, a date that looks
like a date of birth (near "DOB"/"born", or a full date 1 to 25 years ago), a UK phone number, an email
address, an NHS number (ten digits that pass its check digit) and other long numbers (case references).

These are heuristics: they warn, they do not decide. A warning names the kind of thing and where it is
(character positions), never the text that matched, so a warning printed to a terminal, written to a log
or shown in a message bar does not copy the identifier somewhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

NAME = "a person's name"
POSTCODE = "a UK postcode"
ADDRESS = "a street address"
BIRTH_DATE = "a date of birth"
PHONE = "a phone number"
EMAIL = "an email address"
NHS_NUMBER = "an NHS number"
LONG_NUMBER = "a case or record number"


@dataclass(frozen=True, slots=True)
class IdentifierWarning:
    """Characters ``start:end`` of the text look like ``kind`` (e.g. "a UK postcode")."""

    kind: str
    start: int
    end: int

    def message(self, where: str = "notes") -> str:
        """One line for the user; it names the position, never the text."""
        return f"{where}: characters {self.start + 1}-{self.end} look like {self.kind}"


# Words that are capitalised in notes without being names: sentence openers, services, roles, places in
# the process, months and days. Matched in lower case.
_COMMON = frozenset(
    """
    a about after again agreed all also an and any are as at be because been before being both but by
    called can case checks child children closed concerns consent contact could daily did discussed
    does done during each early email emailed family feedback first for from further given had has have
    he her here his how i if in information initial into is it its last later letter made manager may
    more most mother father mum dad no none not now of on once one only open or other our out over
    parent parents phone phoned please previous received referral referrer referred reported said same
    school she should since so social some spoke still such team than that the their them then there
    these they this those through to today too two under until up upon very visit visited was we were
    what when where which while who will with without worker would yes yesterday you your
    advised asked assessment carer carers checked completed confirmed decision duty follow help
    health hospital police practitioner senior strategy discussion section service services support
    visitor nurse teacher head deputy designated safeguarding lead officer sergeant constable ward
    sister staff midwife paediatrician doctor consultant gp nhs camhs mash ofsted laming cin cp lac
    early help hub front door threshold plan meeting conference core group child protection need
    local authority council housing probation youth offending voluntary sector public member
    anonymous self referral form written verbal telephone call calls message voicemail text
    monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december mon tue wed thu fri sat sun jan feb mar apr jun
    jul aug sep sept oct nov dec morning afternoon evening night weekend week month year
    mr mrs ms miss mx dr master initials unknown none nfa ia eh cse cce dv da a&e ed gp's
    english british police's school's team's manager's worker's child's family's mother's father's
    """.split()  # noqa: SIM905  (a word list reads better as text)
)
_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Master)"
_CAP = r"[A-Z][a-z]+(?:['’-][A-Za-z][a-z]+)?"
_KIN = (
    r"(?:mum|mother|mom|dad|father|stepdad|stepfather|stepmum|stepmother|brother|sister|son|daughter|child|"
    r"baby|boy|girl|nan|nana|gran|grandma|grandmother|grandad|grandfather|uncle|aunt|auntie|cousin|partner|"
    r"boyfriend|girlfriend|husband|wife|called|named|known as|aka)"
)
_STREET = (
    r"(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Cl|Drive|Dr|Way|Crescent|Cres|Court|Ct|Place|Pl|"
    r"Gardens|Gdns|Terrace|Grove|Walk|Row|Square|Sq|Hill|Park|Mews|View|Rise|Parade|Green|Estate)"
)

_RE_TITLE_NAME = re.compile(rf"\b{_TITLE}\.?\s+{_CAP}(?:\s+{_CAP})?")
_RE_KIN_NAME = re.compile(rf"\b(?i:{_KIN})\s+(?:(?i:is|was)\s+)?({_CAP})")  # the name itself capitalised
_RE_CAP_PAIR = re.compile(rf"\b({_CAP})\s+({_CAP})\b")
_RE_POSSESSIVE = re.compile(rf"\b({_CAP})['’]s\b")
_RE_POSTCODE = re.compile(r"\b[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][ABD-HJLNP-UW-Z]{2}\b", re.IGNORECASE)
_RE_ADDRESS = re.compile(rf"\b\d{{1,4}}[a-zA-Z]?,?\s+(?:{_CAP}\s+){{1,3}}{_STREET}\b")
_RE_STREET = re.compile(rf"\b(?:{_CAP}\s+){{1,2}}{_STREET}\b")
_RE_FLAT = re.compile(r"\b(?:flat|apartment|apt)\s+\d+[a-z]?\b", re.IGNORECASE)
_RE_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_RE_PHONE = re.compile(r"(?<![\w+])(?:\+44\s?(?:\(0\)\s?)?|\(?0)\d[\d\s()-]{7,14}\d(?!\d)")
_RE_LONG_NUMBER = re.compile(r"(?<![\d/-])(?<!\d\.)\d(?:[ -]?\d){5,}(?![\d/-]|\.\d)")
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for m in names
}
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")"
_RE_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b")
_RE_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_RE_WORD_DATE = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_RE_BIRTH_WORD = re.compile(r"\b(?:d\.?o\.?b\.?|date of birth|born|birthday|birth date)\b", re.IGNORECASE)


def _is_common(word: str) -> bool:
    w = word.lower().replace("’", "'")
    return w in _COMMON or w.rstrip("s") in _COMMON


def _sentence_start(text: str, pos: int) -> bool:
    before = text[:pos].rstrip()
    return not before or before[-1] in ".!?:;\n\"'(-"


def _names(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _RE_TITLE_NAME.finditer(text)]
    for m in _RE_KIN_NAME.finditer(text):
        if not _is_common(m.group(1)):
            spans.append(m.span(1))
    for m in _RE_CAP_PAIR.finditer(text):
        first, second = m.group(1), m.group(2)
        if _is_common(first) or _is_common(second):
            continue
        spans.append(m.span())
    for m in _RE_POSSESSIVE.finditer(text):
        if not _is_common(m.group(1)) and not (_sentence_start(text, m.start()) and _is_common(m.group(1))):
            spans.append(m.span(1))
    return spans


def _nhs_checksum_ok(digits: str) -> bool:
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _dates(text: str, today: date) -> list[tuple[int, int]]:
    found: list[tuple[int, int, date | None]] = []
    for m in _RE_NUMERIC_DATE.finditer(text):
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        found.append((*m.span(), _date(y if y >= 100 else _century(y, today), mo, d)))
    for m in _RE_ISO_DATE.finditer(text):
        found.append((*m.span(), _date(int(m.group(1)), int(m.group(2)), int(m.group(3)))))
    for m in _RE_WORD_DATE.finditer(text):
        found.append((*m.span(), _date(int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))))
    out = []
    birth_words = [m.end() for m in _RE_BIRTH_WORD.finditer(text)]
    for start, end, when in found:
        near_birth_word = any(0 <= start - e <= 25 for e in birth_words)
        years_ago = (today - when).days / 365.25 if when else None
        if near_birth_word or (years_ago is not None and 1 <= years_ago <= 25):
            out.append((start, end))
    return out


def _century(yy: int, today: date) -> int:
    return 2000 + yy if 2000 + yy <= today.year else 1900 + yy


def _date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def identifier_warnings(text: str | None, *, today: date | None = None) -> list[IdentifierWarning]:
    """Spans of ``text`` that look like a name, postcode, address, date of birth, phone number, email
    address, NHS number or case number, in the order they occur (overlaps merged, the first kind kept).

    ``today`` (default: the current date) decides which dates are old enough to be a child's birth date.
    Nothing is stored or logged: the caller gets kinds and positions only.
    """
    if not text:
        return []
    today = today or date.today()
    found: list[tuple[int, int, str]] = []

    def add(kind: str, spans: list[tuple[int, int]]) -> None:
        found.extend((s, e, kind) for s, e in spans)

    add(EMAIL, [m.span() for m in _RE_EMAIL.finditer(text)])
    add(POSTCODE, [m.span() for m in _RE_POSTCODE.finditer(text)])
    add(ADDRESS, [m.span() for m in _RE_ADDRESS.finditer(text)])
    add(ADDRESS, [m.span() for m in _RE_STREET.finditer(text)])
    add(ADDRESS, [m.span() for m in _RE_FLAT.finditer(text)])
    add(BIRTH_DATE, _dates(text, today))
    phones = []
    for m in _RE_PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        national = "0" + digits[2:] if digits.startswith("44") else digits
        if national.startswith("0") and len(national) in (10, 11):
            phones.append(m.span())
    add(PHONE, phones)
    for m in _RE_LONG_NUMBER.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        kind = NHS_NUMBER if len(digits) == 10 and _nhs_checksum_ok(digits) else LONG_NUMBER
        add(kind, [m.span()])
    add(NAME, _names(text))

    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    merged: list[IdentifierWarning] = []
    for start, end, kind in found:
        if merged and start < merged[-1].end:
            last = merged[-1]
            if end > last.end:
                merged[-1] = IdentifierWarning(last.kind, last.start, end)
            continue
        merged.append(IdentifierWarning(kind, start, end))
    return merged
