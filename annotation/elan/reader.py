"""Read ELAN files (.eaf and .etf, EAF 2.x-3.0; .ecv external vocabularies) into :class:`EafDocument`.

lxml does the parsing (2.2x faster than pympi's parser on a 100k-annotation file; bench/store_bench.py). The reader
keeps everything an ELAN user can see, in document order, and checks the references ELAN relies on, so
that a broken file is refused with one line naming the file and the problem instead of being half-stored.

EAF 2.x vocabularies (``CV_ENTRY`` with a ``DESCRIPTION`` attribute) are upgraded the way ELAN upgrades
them: to ``CV_ENTRY_ML`` with one ``CVE_VALUE`` in the "und" (undetermined) language.

What the store cannot keep is refused here too, naming the file, rather than by the database half-way
through an import: a time value must lie within the store's INTEGER column (at most 2,147,483,647 ms either
side of 0), and ids and references may not be longer than the store's columns (:data:`ID_LIMITS`; SQLite
would keep them, PostgreSQL would not).

A file that breaks the schema in a recoverable way (no HEADER, a negative or decimal time, an annotation id
used twice ...) is repaired and each kind of repair reported once (:mod:`annotation.elan.repairs`,
:func:`read_eaf_report`); ``strict=True`` refuses it instead, naming the first problem.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from lxml import etree

from annotation.elan.gc_pause import gc_paused
from annotation.elan.model import (
    UND_LANGUAGE,
    Annotation,
    Attrs,
    ControlledVocabulary,
    CVEntry,
    CVEValue,
    DocKind,
    EafDocument,
    RefLink,
    RefLinkSet,
    Tier,
    TimeSlot,
)
from annotation.elan.repairs import (
    DECIMAL_TIME,
    NEGATIVE_TIME,
    NO_HEADER,
    NON_NUMERIC_TIME,
    SLOTS_OUT_OF_ORDER,
    Repair,
    RepairLog,
    fill_cve_ids,
    repair_type_refs,
    resolve_annotation_ids,
)
from annotation.elan.xml_parser import parse_xml
from annotation.errors import (
    DanglingReference,
    DuplicateId,
    EafFileNotFound,
    EafParseError,
    EafStructureError,
    WrongRootElement,
)

_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
#: The largest time value the store keeps (milliseconds; PostgreSQL's INTEGER, about 24.8 days).
MAX_TIME_MS = 2**31 - 1
#: The most negative one (a time before the media's start, which some tools write).
MIN_TIME_MS = -(2**31)
_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]{1,4})?")
#: The longest ids and references the store keeps, by what they are (annotation.store.tables).
ID_LIMITS = {
    "time slot id": 100,
    "tier id": 300,
    "linguistic type reference": 300,
    "default locale": 50,
    "annotation id": 100,
    "language reference": 100,
    "vocabulary entry reference": 200,
    "SVG reference": 200,
    "vocabulary id": 300,
    "vocabulary entry id": 200,
    "external reference": 100,
}


def read_eaf(path: str | os.PathLike[str], kind: DocKind | None = None, *, strict: bool = False) -> EafDocument:
    """Read an ELAN file from disk, repairing what is recoverable (:func:`read_eaf_report` says what)."""
    return read_eaf_report(path, kind, strict=strict)[0]


def read_eaf_report(
    path: str | os.PathLike[str], kind: DocKind | None = None, *, strict: bool = False
) -> tuple[EafDocument, list[Repair]]:
    """Read an ELAN file from disk; return it with the repairs made, one per kind (empty for a valid file).

    ``kind`` defaults to the file's extension (``.etf`` template, ``.ecv`` vocabulary, else ``.eaf``).
    ``strict`` refuses a file that needs a repair, naming the first problem.

    Raises:
        EafFileNotFound: the path does not exist or is not a file.
        EafParseError: the bytes are not well-formed XML in a known encoding (a truncated file, say).
        EafStructureError: the XML is not an ELAN document that can be read without guessing (wrong root,
            a dangling reference, duplicate tier or time slot ids), or in strict mode needs any repair.
    """
    p = Path(path)
    if kind is None:
        suffix = p.suffix.lower()
        kind = "etf" if suffix == ".etf" else "ecv" if suffix == ".ecv" else "eaf"
    try:
        data = p.read_bytes()
    except FileNotFoundError as exc:
        raise EafFileNotFound(f"{p}: no such file") from exc
    except IsADirectoryError as exc:
        raise EafFileNotFound(f"{p}: is a directory, not an ELAN file") from exc
    except OSError as exc:
        raise EafFileNotFound(f"{p}: cannot read ({exc.strerror})") from exc
    log = RepairLog(str(p), strict)
    return parse_eaf_bytes(data, name=str(p), kind=kind, log=log), log.repairs()


def parse_eaf_bytes(
    data: bytes, name: str = "<bytes>", kind: DocKind = "eaf", log: RepairLog | None = None
) -> EafDocument:
    """Parse the bytes of an ELAN file; ``name`` is used in error messages, ``log`` counts the repairs made
    (strict when it is). See :func:`read_eaf_report`."""
    if not data.strip():
        raise EafParseError(f"{name}: file is empty")
    head = data.lstrip()[:4]
    if not head.startswith((b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        raise EafParseError(f"{name}: not an XML file (an ELAN file begins with '<?xml' or '<ANNOTATION_DOCUMENT')")
    root = parse_xml(data, name)  # nothing expanded or fetched; entities, too deep, not XML: refused in one line
    log = log if log is not None else RepairLog(name)
    with gc_paused():
        if kind == "ecv":
            return _read_ecv(root, name, log)
        return _Reader(root, name, kind, log).read()


def _attrs(el: etree._Element) -> Attrs:
    # Namespaced attributes (xsi:...) are kept in Clark notation; the writer knows the two ELAN uses.
    return {str(k): str(v) for k, v in el.attrib.items()}


def _check_root(root: etree._Element, expected: str, name: str) -> None:
    if root.tag != expected:
        raise WrongRootElement(f"{name}: root element is <{root.tag}>, expected <{expected}>")


def _read_cv(el: etree._Element, doc_notes: list[str]) -> ControlledVocabulary:
    a = el.attrib
    cv = ControlledVocabulary(cv_id=str(a.get("CV_ID", "")), ext_ref=a.get("EXT_REF"))
    old_desc = a.get("DESCRIPTION")
    if old_desc:  # EAF < 2.8: one description, no language
        cv.descriptions.append(("und", old_desc))
    for n, child in enumerate(el):
        tag = child.tag
        if tag == "DESCRIPTION":
            cv.descriptions.append((child.get("LANG_REF"), child.text))
        elif tag == "CV_ENTRY_ML":
            values = [
                CVEValue(value=v.text or "", lang_ref=v.get("LANG_REF"), description=v.get("DESCRIPTION"))
                for v in child
                if v.tag == "CVE_VALUE"
            ]
            cv.entries.append(CVEntry(cve_id=child.get("CVE_ID"), values=values, ext_ref=child.get("EXT_REF")))
        elif tag == "CV_ENTRY":  # EAF < 2.8
            cve_id = child.get("CVE_ID") or f"cveid{n}"
            desc = child.get("DESCRIPTION")
            value = CVEValue(value=child.text or "", lang_ref="und", description=desc)
            cv.entries.append(CVEntry(cve_id=cve_id, values=[value], ext_ref=child.get("EXT_REF")))
            if not doc_notes or not doc_notes[-1].startswith(f"vocabulary {cv.cv_id!r}"):
                doc_notes.append(f"vocabulary {cv.cv_id!r}: CV_ENTRY upgraded to CV_ENTRY_ML (language und)")
    return cv


def _read_ecv(root: etree._Element, name: str, log: RepairLog) -> EafDocument:
    _check_root(root, "CV_RESOURCE", name)
    doc = EafDocument(kind="ecv", root_attrs=_attrs(root), header_attrs={})
    for el in root:
        if el.tag == "LANGUAGE":
            doc.languages.append(_attrs(el))
        elif el.tag == "CONTROLLED_VOCABULARY":
            doc.vocabularies.append(_read_cv(el, doc.upgrade_notes))
        elif el.tag == "EXTERNAL_REF":
            doc.external_refs.append(_attrs(el))
    _ensure_und_language(doc)
    fill_cve_ids(doc, log)
    _check_sizes(doc, name)
    return doc


def _check_sizes(doc: EafDocument, name: str) -> None:
    """Refuse ids and references longer than the store's columns (:data:`ID_LIMITS`), naming the first."""

    def fits(what: str, value: str | None) -> None:
        if value is not None and len(value) > ID_LIMITS[what]:
            raise EafStructureError(
                f"{name}: {what} {value[:40]!r}… is longer than the store keeps ({ID_LIMITS[what]} characters)"
            )

    for s in doc.time_slots:
        fits("time slot id", s.slot_id)
    for t in doc.tiers:
        fits("tier id", t.tier_id)
        fits("linguistic type reference", t.attrs.get("LINGUISTIC_TYPE_REF"))
        fits("default locale", t.attrs.get("DEFAULT_LOCALE"))
        for a in t.annotations:
            fits("annotation id", a.ann_id)
            fits("language reference", a.lang_ref)
            fits("vocabulary entry reference", a.cve_ref)
            fits("SVG reference", a.svg_ref)
    for cv in doc.vocabularies:
        fits("vocabulary id", cv.cv_id)
        fits("external reference", cv.ext_ref)
        for lang, _text in cv.descriptions:
            fits("language reference", lang)
        for e in cv.entries:
            fits("vocabulary entry id", e.cve_id)
            fits("external reference", e.ext_ref)
            for v in e.values:
                fits("language reference", v.lang_ref)


def _ensure_und_language(doc: EafDocument) -> None:
    uses_und = any(d[0] == "und" for cv in doc.vocabularies for d in cv.descriptions) or any(
        v.lang_ref == "und" for cv in doc.vocabularies for e in cv.entries for v in e.values
    )
    if uses_und and not any(lang.get("LANG_ID") == "und" for lang in doc.languages):
        doc.languages.append(dict(UND_LANGUAGE))


class _Reader:
    def __init__(self, root: etree._Element, name: str, kind: DocKind, log: RepairLog) -> None:
        self.root = root
        self.name = name
        self.log = log
        self.doc = EafDocument(kind=kind, root_attrs=_attrs(root))

    def fail(self, cls: type[EafStructureError], what: str) -> EafStructureError:
        return cls(f"{self.name}: {what}")

    def read(self) -> EafDocument:
        _check_root(self.root, "ANNOTATION_DOCUMENT", self.name)
        doc = self.doc
        handlers: dict[str, Callable[[etree._Element], object]] = {
            "LICENSE": lambda el: doc.licenses.append((el.get("LICENSE_URL"), el.text or "")),
            "HEADER": self._header,
            "TIME_ORDER": self._time_order,
            "TIER": self._tier,
            "LINGUISTIC_TYPE": lambda el: doc.linguistic_types.append(_attrs(el)),
            "LOCALE": lambda el: doc.locales.append(_attrs(el)),
            "LANGUAGE": lambda el: doc.languages.append(_attrs(el)),
            "CONSTRAINT": lambda el: doc.constraints.append(_attrs(el)),
            "CONTROLLED_VOCABULARY": lambda el: doc.vocabularies.append(_read_cv(el, doc.upgrade_notes)),
            "LEXICON_REF": lambda el: doc.lexicon_refs.append(_attrs(el)),
            "REF_LINK_SET": self._ref_link_set,
            "EXTERNAL_REF": lambda el: doc.external_refs.append(_attrs(el)),
        }
        if self.root.find("HEADER") is None:  # the model's default header: milliseconds, no media
            self.log.repair(NO_HEADER, "no <HEADER> element")
        for el in self.root:
            handler = handlers.get(el.tag)
            if handler is None:
                raise self.fail(EafStructureError, f"unexpected element <{el.tag}> in ANNOTATION_DOCUMENT")
            handler(el)
        _ensure_und_language(doc)
        self._validate()
        fill_cve_ids(doc, self.log)
        _check_sizes(doc, self.name)
        return doc

    def _header(self, el: etree._Element) -> None:
        self.doc.header_attrs = _attrs(el)
        for child in el:
            if child.tag == "MEDIA_DESCRIPTOR":
                self.doc.media.append(_attrs(child))
            elif child.tag == "LINKED_FILE_DESCRIPTOR":
                self.doc.linked_files.append(_attrs(child))
            elif child.tag == "PROPERTY":
                self.doc.properties.append((child.get("NAME"), child.text or ""))

    def _time_order(self, el: etree._Element) -> None:
        slots = self.doc.time_slots
        for ts in el:
            if ts.tag != "TIME_SLOT":
                continue
            sid = ts.get("TIME_SLOT_ID")
            if sid is None:
                raise self.fail(EafStructureError, "a TIME_SLOT has no TIME_SLOT_ID")
            tv = ts.get("TIME_VALUE")
            if tv is None:
                slots.append(TimeSlot(sid, None))
                continue
            slots.append(TimeSlot(sid, self._time_value(sid, tv)))

    def _time_value(self, sid: str, tv: str) -> int | None:
        # a regular expression, not int() alone, which would take "1_000" and other scripts' digits
        digits = tv.strip()
        if _INTEGER.fullmatch(digits):
            ms = int(digits) if len(digits) <= 12 else 2**32 * (-1 if digits[0] == "-" else 1)  # out of range
        elif _DECIMAL.fullmatch(digits) and len(digits) <= 400:
            self.log.repair(DECIMAL_TIME, f"time slot {sid!r} has a decimal TIME_VALUE {tv[:20]!r}")
            exact = Decimal(digits)
            ms = (
                int(exact.to_integral_value(ROUND_HALF_UP))
                if abs(exact) <= 2**32
                else int(Decimal(2**32).copy_sign(exact))
            )
        else:
            self.log.repair(NON_NUMERIC_TIME, f"time slot {sid!r} has a non-numeric TIME_VALUE {tv[:20]!r}")
            return None
        if ms > MAX_TIME_MS:
            raise self.fail(
                EafStructureError,
                f"time slot {sid!r} has TIME_VALUE {tv[:20]!r}, past the longest time the store keeps "
                f"({MAX_TIME_MS} ms)",
            )
        if ms < MIN_TIME_MS:
            raise self.fail(
                EafStructureError,
                f"time slot {sid!r} has TIME_VALUE {tv[:20]!r}, before the earliest time the store keeps "
                f"({MIN_TIME_MS} ms)",
            )
        if ms < 0:
            self.log.repair(NEGATIVE_TIME, f"time slot {sid!r} has a negative TIME_VALUE {tv[:20]!r}")
        return ms

    def _tier(self, el: etree._Element) -> None:
        attrs = _attrs(el)
        if "TIER_ID" not in attrs:
            raise self.fail(EafStructureError, "a TIER has no TIER_ID")
        tier = Tier(attrs=attrs)
        anns = tier.annotations
        for wrapper in el:
            if wrapper.tag != "ANNOTATION":
                continue
            for a in wrapper:
                tag = a.tag
                if tag != "ALIGNABLE_ANNOTATION" and tag != "REF_ANNOTATION":
                    continue
                g = a.get
                aid = g("ANNOTATION_ID")
                if aid is None:
                    raise self.fail(
                        EafStructureError, f"an annotation on tier {attrs['TIER_ID']!r} has no ANNOTATION_ID"
                    )
                value = ""
                for v in a:
                    if v.tag == "ANNOTATION_VALUE":
                        value = v.text or ""
                        break
                if tag == "ALIGNABLE_ANNOTATION":
                    anns.append(
                        Annotation(
                            aid,
                            value,
                            g("TIME_SLOT_REF1"),
                            g("TIME_SLOT_REF2"),
                            None,
                            None,
                            g("EXT_REF"),
                            g("LANG_REF"),
                            g("CVE_REF"),
                            g("SVG_REF"),
                        )
                    )
                else:
                    ref = g("ANNOTATION_REF")
                    if ref is None:
                        raise self.fail(DanglingReference, f"REF_ANNOTATION {aid!r} has no ANNOTATION_REF")
                    anns.append(
                        Annotation(
                            aid,
                            value,
                            None,
                            None,
                            ref,
                            g("PREVIOUS_ANNOTATION"),
                            g("EXT_REF"),
                            g("LANG_REF"),
                            g("CVE_REF"),
                            None,
                        )
                    )
        self.doc.tiers.append(tier)

    def _ref_link_set(self, el: etree._Element) -> None:
        rls = RefLinkSet(attrs=_attrs(el))
        for child in el:
            if child.tag in ("CROSS_REF_LINK", "GROUP_REF_LINK"):
                rls.links.append(RefLink(kind=str(child.tag), attrs=_attrs(child), value=child.text))
        self.doc.ref_link_sets.append(rls)

    def _validate(self) -> None:
        doc = self.doc
        times: dict[str, int | None] = {}
        for s in doc.time_slots:
            if s.slot_id in times:
                raise self.fail(DuplicateId, f"time slot id {s.slot_id!r} occurs twice")
            times[s.slot_id] = s.time
        tier_ids: set[str] = set()
        for t in doc.tiers:
            if t.tier_id in tier_ids:
                raise self.fail(DuplicateId, f"tier id {t.tier_id!r} occurs twice")
            tier_ids.add(t.tier_id)
        reversed_slots = 0  # an annotation ending before it begins: kept (ELAN tolerates it), reported
        for t in doc.tiers:
            parent = t.parent_ref
            if parent is not None and parent not in tier_ids:
                raise self.fail(DanglingReference, f"tier {t.tier_id!r} has PARENT_REF {parent!r}, which is no tier")
            for a in t.annotations:
                if a.ref is None:
                    for ref in (a.ts1, a.ts2):
                        if ref is None or ref not in times:
                            raise self.fail(
                                DanglingReference,
                                f"annotation {a.ann_id!r} on tier {t.tier_id!r} refers to time slot {ref!r}, "
                                "which does not exist",
                            )
                    begin, end = times[a.ts1], times[a.ts2]  # type: ignore[index]
                    if begin is not None and end is not None and end < begin:
                        reversed_slots += 1
        self.log.note(SLOTS_OUT_OF_ORDER, reversed_slots)
        resolve_annotation_ids(doc, self.log)
        repair_type_refs(doc, self.log)
        cv_ids = {cv.cv_id for cv in doc.vocabularies}
        for lt in doc.linguistic_types:
            ref = lt.get("CONTROLLED_VOCABULARY_REF")
            if ref is not None and ref not in cv_ids:
                raise self.fail(
                    DanglingReference,
                    f"linguistic type {lt.get('LINGUISTIC_TYPE_ID')!r} uses vocabulary {ref!r}, which does not exist",
                )
