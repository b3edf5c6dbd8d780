"""Read ELAN files (.eaf and .etf, EAF 2.x-3.0; .ecv external vocabularies) into :class:`EafDocument`.

lxml does the parsing, as a stream: each annotation and time slot is read as its end tag comes and dropped
from the tree, so that a 24 MB file costs about 50 MB of memory rather than a 300 MB tree
(bench/roundtrip_bench.py); a file with a DOCTYPE is parsed whole, where its entities are checked
(:mod:`annotation.elan.xml_parser`). The reader keeps everything an ELAN user can see, in document order, and
checks the references ELAN relies on, so that a broken file is refused with one line naming the file and the
problem instead of being half-stored; with two problems, the one a whole-tree reader would name first.

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

import io
import os
import re
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any, BinaryIO

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
from annotation.elan.xml_parser import end_events, has_doctype, parse_xml
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
#: How much of a file is read to tell an empty file or one that is no XML at all.
_HEAD_BYTES = 1 << 16
_ROOT = "ANNOTATION_DOCUMENT"
_TOP_LEVEL = (
    "LICENSE", "HEADER", "TIME_ORDER", "TIER", "LINGUISTIC_TYPE", "LOCALE", "LANGUAGE", "CONSTRAINT",
    "CONTROLLED_VOCABULARY", "LEXICON_REF", "REF_LINK_SET", "EXTERNAL_REF",
)  # fmt: skip
_PARENT = {"ANNOTATION": "TIER", "TIME_SLOT": "TIME_ORDER"}
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
    name = str(p)
    log = RepairLog(name, strict)
    try:
        with p.open("rb") as f:
            head = f.read(_HEAD_BYTES)
            if kind == "ecv" or (len(head) == _HEAD_BYTES and not head.strip()):  # small files, or odd ones
                return parse_eaf_bytes(head + f.read(), name=name, kind=kind, log=log), log.repairs()
            _check_start(head, name)
            f.seek(0)
            return _read_stream(f, name, kind, log, p.read_bytes), log.repairs()
    except FileNotFoundError as exc:
        raise EafFileNotFound(f"{p}: no such file") from exc
    except IsADirectoryError as exc:
        raise EafFileNotFound(f"{p}: is a directory, not an ELAN file") from exc
    except OSError as exc:
        raise EafFileNotFound(f"{p}: cannot read ({exc.strerror})") from exc


def parse_eaf_bytes(
    data: bytes, name: str = "<bytes>", kind: DocKind = "eaf", log: RepairLog | None = None
) -> EafDocument:
    """Parse the bytes of an ELAN file; ``name`` is used in error messages, ``log`` counts the repairs made
    (strict when it is). See :func:`read_eaf_report`."""
    _check_start(data, name)
    log = log if log is not None else RepairLog(name)
    if kind == "ecv":
        root = parse_xml(data, name)  # nothing expanded or fetched; entities, too deep, not XML: refused in one line
        with gc_paused():
            return _read_ecv(root, name, log)
    return _read_stream(io.BytesIO(data), name, kind, log, lambda: data)


def _check_start(data: bytes, name: str) -> None:
    if not data.strip():
        raise EafParseError(f"{name}: file is empty")
    head = data.lstrip()[:4]
    if not head.startswith((b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        raise EafParseError(f"{name}: not an XML file (an ELAN file begins with '<?xml' or '<ANNOTATION_DOCUMENT')")


def _read_stream(source: BinaryIO, name: str, kind: DocKind, log: RepairLog, whole: Callable[[], bytes]) -> EafDocument:
    """Read an EAF or ETF document as lxml parses it, each annotation and time slot dropped from the tree once
    read (a 24 MB file never becomes a 300 MB tree). A file with a DOCTYPE, where entities could be declared,
    is parsed whole instead and its entities refused (:func:`annotation.elan.xml_parser.parse_xml`); ``whole``
    returns the file's bytes for that and for wording a parse error."""
    try:
        with gc_paused():
            return _Reader(name, kind, log).read(end_events(source, name, whole, _STREAMED), clear=True)
    except _HasDoctype:
        pass
    root = parse_xml(whole(), name)  # nothing expanded or fetched; entities, too deep, not XML: refused in one line
    with gc_paused():
        return _Reader(name, kind, log).read((el for _, el in etree.iterwalk(root, events=("end",))), clear=False)


class _HasDoctype(Exception):
    """The streamed file declares a DOCTYPE: read it whole, where its entities are checked."""


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

    if _longest(doc.time_slots, "slot_id") > ID_LIMITS["time slot id"]:
        for s in doc.time_slots:
            fits("time slot id", s.slot_id)
    for t in doc.tiers:
        fits("tier id", t.tier_id)
        fits("linguistic type reference", t.attrs.get("LINGUISTIC_TYPE_REF"))
        fits("default locale", t.attrs.get("DEFAULT_LOCALE"))
        anns = t.annotations
        if not any(_longest(anns, field) > ID_LIMITS[what] for field, what in _ANNOTATION_LIMITS):
            continue  # the usual case, seen without a Python loop; else the first too long is named
        for a in anns:
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


_ANNOTATION_LIMITS = (
    ("ann_id", "annotation id"),
    ("lang_ref", "language reference"),
    ("cve_ref", "vocabulary entry reference"),
    ("svg_ref", "SVG reference"),
)


def _longest(items: list[Any], field: str) -> int:
    """The length of the longest ``field`` of ``items`` (0 where there is none)."""
    return max(map(len, filter(None, map(attrgetter(field), items))), default=0)


def _ensure_und_language(doc: EafDocument) -> None:
    uses_und = any(d[0] == "und" for cv in doc.vocabularies for d in cv.descriptions) or any(
        v.lang_ref == "und" for cv in doc.vocabularies for e in cv.entries for v in e.values
    )
    if uses_und and not any(lang.get("LANG_ID") == "und" for lang in doc.languages):
        doc.languages.append(dict(UND_LANGUAGE))


# elements read inside an ANNOTATION, never on their own (at the top level they are unexpected, found there)
_INNER = frozenset({"ANNOTATION_VALUE", "ALIGNABLE_ANNOTATION", "REF_ANNOTATION"})
# the elements a streaming parse reports (any other top-level element is found unread, and unexpected)
_STREAMED = ("ANNOTATION", "TIME_SLOT", *_TOP_LEVEL)


class _Reader:
    """Reads an EAF or ETF document from its elements in the order their end tags come (a streaming parse, or
    a walk of a parsed tree): a top-level element when it ends, but an annotation or a time slot as soon as it
    ends, so that it can be dropped from the tree (``clear``). Refusals come in the order a whole-tree reader
    finds them: a parse error first, then a wrong root element, then (strict) a missing HEADER, then the first
    problem in document order."""

    def __init__(self, name: str, kind: DocKind, log: RepairLog) -> None:
        self.name = name
        self.kind = kind
        self.log = log
        self.doc = EafDocument(kind=kind)
        self.has_header = False

    def fail(self, cls: type[EafStructureError], what: str) -> EafStructureError:
        return cls(f"{self.name}: {what}")

    def read(self, elements: Iterator[etree._Element], clear: bool) -> EafDocument:
        doc = self.doc
        handlers: dict[str, Callable[[etree._Element], object]] = {
            "LICENSE": lambda el: doc.licenses.append((el.get("LICENSE_URL"), el.text or "")),
            "HEADER": self._header,
            "TIME_ORDER": lambda el: None,  # its time slots were read as they came
            "TIER": lambda el: self._enter_tier(el),  # its annotations too; a tier without any is entered here
            "LINGUISTIC_TYPE": lambda el: doc.linguistic_types.append(_attrs(el)),
            "LOCALE": lambda el: doc.locales.append(_attrs(el)),
            "LANGUAGE": lambda el: doc.languages.append(_attrs(el)),
            "CONSTRAINT": lambda el: doc.constraints.append(_attrs(el)),
            "CONTROLLED_VOCABULARY": lambda el: doc.vocabularies.append(_read_cv(el, doc.upgrade_notes)),
            "LEXICON_REF": lambda el: doc.lexicon_refs.append(_attrs(el)),
            "REF_LINK_SET": self._ref_link_set,
            "EXTERNAL_REF": lambda el: doc.external_refs.append(_attrs(el)),
        }
        root: etree._Element | None = None
        pending: EafStructureError | None = None  # the first refusal; the rest of the file is still parsed
        self.tier: Tier | None = None
        tier_el = order_el = last_top = None
        slots = doc.time_slots
        for el in elements:
            if root is None:
                if clear and has_doctype(el):
                    raise _HasDoctype
                root = el.getroottree().getroot()
                if root.tag != "ANNOTATION_DOCUMENT":
                    pending = self.fail(WrongRootElement, f"root element is <{root.tag}>, expected <{_ROOT}>")
                doc.root_attrs = _attrs(root)
            tag = el.tag
            if pending is not None:  # parsed to the end all the same: a parse error there comes first
                if tag == "HEADER" and el.getparent() is root:
                    self.has_header = True
                if clear:
                    el.clear()
                continue
            try:
                if tag == "ANNOTATION" or tag == "TIME_SLOT":
                    parent = el.getparent()
                    is_annotation = tag == "ANNOTATION"
                    if parent is not (tier_el if is_annotation else order_el):
                        if parent is root:
                            self._enter_top(root, el, last_top, clear)
                            raise self.fail(EafStructureError, f"unexpected element <{tag}> in ANNOTATION_DOCUMENT")
                        if parent is None or parent.getparent() is not root or parent.tag != _PARENT[tag]:
                            continue  # somewhere else: read with what holds it, if at all
                        last_top = self._enter_top(root, parent, last_top, clear)
                        if is_annotation:
                            tier_el = parent
                            self._enter_tier(parent)
                        else:
                            order_el = parent
                    if is_annotation:
                        self._annotation(el)
                    else:  # the usual time slot read here, any other by _time_slot
                        sid, tv = el.get("TIME_SLOT_ID"), el.get("TIME_VALUE")
                        if sid is not None and tv is not None and len(tv) < 10 and tv.isdigit() and tv.isascii():
                            slots.append(TimeSlot(sid, int(tv)))
                        else:
                            self._time_slot(el)
                    if clear and parent is not None:
                        parent.remove(el)
                elif tag not in _INNER and el.getparent() is root:  # a top-level element has ended
                    if el is tier_el:
                        tier_el = None
                    elif el is order_el:
                        order_el = None
                    else:
                        last_top = self._enter_top(root, el, last_top, clear)
                        handler = handlers.get(str(tag))
                        if handler is None:
                            raise self.fail(EafStructureError, f"unexpected element <{tag}> in ANNOTATION_DOCUMENT")
                        if tag == "HEADER":
                            self.has_header = True
                        handler(el)
                    if tag == "TIER":
                        assert self.tier is not None
                        doc.tiers.append(self.tier)
                    if clear:
                        root.remove(el)
            except EafStructureError as exc:
                pending = exc
        if pending is None and root is not None:
            try:
                self._enter_top(root, None, last_top, clear)  # nothing unexpected after the last one read
            except EafStructureError as exc:
                pending = exc
        if pending is not None:
            if self.log.strict and not self.has_header and not isinstance(pending, WrongRootElement):
                self.log.repair(NO_HEADER, "no <HEADER> element")
            raise pending
        if not self.has_header:  # the model's default header: milliseconds, no media; reported first
            self.log.repair(NO_HEADER, "no <HEADER> element", first=True)
        _ensure_und_language(doc)
        self._validate()
        fill_cve_ids(doc, self.log)
        _check_sizes(doc, self.name)
        return doc

    def _enter_top(
        self, root: etree._Element, top: etree._Element | None, last: etree._Element | None, clear: bool
    ) -> etree._Element | None:
        """Check that no top-level element before ``top`` (None: the end) went unread, which only one the reader
        does not know can; returns ``top``."""
        if clear:  # what was read is gone
            first = root[0] if len(root) else None
        else:
            first = last.getnext() if last is not None else (root[0] if len(root) else None)
        if first is not None and first is not top:
            raise self.fail(EafStructureError, f"unexpected element <{first.tag}> in ANNOTATION_DOCUMENT")
        return top

    def _header(self, el: etree._Element) -> None:
        self.doc.header_attrs = _attrs(el)
        for child in el:
            if child.tag == "MEDIA_DESCRIPTOR":
                self.doc.media.append(_attrs(child))
            elif child.tag == "LINKED_FILE_DESCRIPTOR":
                self.doc.linked_files.append(_attrs(child))
            elif child.tag == "PROPERTY":
                self.doc.properties.append((child.get("NAME"), child.text or ""))

    def _time_slot(self, ts: etree._Element) -> None:
        sid = ts.get("TIME_SLOT_ID")
        if sid is None:
            raise self.fail(EafStructureError, "a TIME_SLOT has no TIME_SLOT_ID")
        tv = ts.get("TIME_VALUE")
        self.doc.time_slots.append(TimeSlot(sid, None if tv is None else self._time_value(sid, tv)))

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

    def _enter_tier(self, el: etree._Element) -> Tier:
        attrs = _attrs(el)
        if "TIER_ID" not in attrs:
            raise self.fail(EafStructureError, "a TIER has no TIER_ID")
        self.tier = Tier(attrs=attrs)
        return self.tier

    def _annotation(self, wrapper: etree._Element) -> None:
        """The annotation in an ANNOTATION element (in a valid file one, ALIGNABLE_ or REF_ANNOTATION)."""
        assert self.tier is not None
        anns = self.tier.annotations
        for a in (wrapper[0],) if len(wrapper) == 1 else wrapper:  # indexing one child costs less than iterating
            tag = a.tag
            if tag != "ALIGNABLE_ANNOTATION" and tag != "REF_ANNOTATION":
                continue
            g = a.get
            aid = g("ANNOTATION_ID")
            if aid is None:
                raise self.fail(EafStructureError, f"an annotation on tier {self.tier.tier_id!r} has no ANNOTATION_ID")
            value = ""
            first = a[0] if len(a) else None
            if first is not None and first.tag == "ANNOTATION_VALUE":  # where it always is
                value = first.text or ""
            else:
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
