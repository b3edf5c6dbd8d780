"""Write :class:`EafDocument` as EAF 3.0 (``.eaf``/``.etf``) or ECV 0.2 (``.ecv``).

The writer builds the text directly (no intermediate tree): elements in the order the EAF 3.0 schema
requires, attributes of descriptive elements in the order they were read, values escaped so that every
character comes back byte-for-byte (tabs, newlines and carriage returns in attributes are written as
character references; in text only ``\\r`` needs one). Files are written to a temporary name beside the
target and renamed into place, so a crash never leaves half an ELAN file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from annotation.elan.model import Attrs, ControlledVocabulary, EafDocument
from annotation.errors import EafError, ExportError
from media_tools import files

EAF_SCHEMA = "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
ECV_SCHEMA = "http://www.mpi.nl/tools/elan/ECVv0.2.xsd"
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_IND = "    "
_PIECE = 4096  # annotations (and a few more lines) in one piece of eaf_chunks: about a megabyte
# Characters XML 1.0 cannot carry at all, even as references (and lone surrogates, which UTF-8 cannot).
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# One search says that a string needs nothing done (the usual annotation): no character _esc_attr changes, or
# none _esc_text changes or ILLEGAL_XML refuses.
_ATTR_SPECIAL = re.compile('[&<>\r"\n\t]').search
_VALUE_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]").search


def _esc_text(s: str) -> str:
    if "&" in s:
        s = s.replace("&", "&amp;")
    if "<" in s:
        s = s.replace("<", "&lt;")
    if ">" in s:
        s = s.replace(">", "&gt;")
    if "\r" in s:
        s = s.replace("\r", "&#13;")
    return s


def _esc_attr(s: str) -> str:
    s = _esc_text(s)
    if '"' in s:
        s = s.replace('"', "&quot;")
    if "\n" in s:
        s = s.replace("\n", "&#10;")
    if "\t" in s:
        s = s.replace("\t", "&#9;")
    return s


def _attr_str(attrs: Iterable[tuple[str, str | None]]) -> str:
    return "".join(f' {k}="{_esc_attr(v)}"' for k, v in attrs if v is not None)


def _empty(tag: str, attrs: Attrs, depth: int) -> str:
    return f"{_IND * depth}<{tag}{_attr_str(attrs.items())}/>\n"


def _text_el(tag: str, attrs: Iterable[tuple[str, str | None]], text: str | None, depth: int) -> str:
    a = _attr_str(attrs)
    if text is None:
        return f"{_IND * depth}<{tag}{a}/>\n"
    return f"{_IND * depth}<{tag}{a}>{_esc_text(text)}</{tag}>\n"


def _root_open(tag: str, attrs: Attrs, fixed: dict[str, str], schema: str) -> str:
    out = dict(attrs)
    out.pop(f"{_XSI}noNamespaceSchemaLocation", None)
    out.pop(f"{_XSI}schemaLocation", None)
    out.setdefault("AUTHOR", "")
    out.setdefault("DATE", datetime.now(UTC).astimezone().isoformat(timespec="seconds"))
    out.update(fixed)
    items = [(k, v) for k, v in out.items() if not k.startswith("{")]
    return (
        f"<{tag}{_attr_str(items)}"
        f' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="{schema}">\n'
    )


def _cv_lines(cv: ControlledVocabulary, out: list[str]) -> None:
    head = _attr_str([("CV_ID", cv.cv_id), ("EXT_REF", cv.ext_ref)])
    if not cv.descriptions and not cv.entries:
        out.append(f"{_IND}<CONTROLLED_VOCABULARY{head}/>\n")
        return
    out.append(f"{_IND}<CONTROLLED_VOCABULARY{head}>\n")
    for lang, text in cv.descriptions:
        out.append(_text_el("DESCRIPTION", [("LANG_REF", lang)], text, 2))
    for e in cv.entries:
        out.append(f"{_IND * 2}<CV_ENTRY_ML{_attr_str([('CVE_ID', e.cve_id), ('EXT_REF', e.ext_ref)])}>\n")
        for v in e.values:
            out.append(_text_el("CVE_VALUE", [("DESCRIPTION", v.description), ("LANG_REF", v.lang_ref)], v.value, 3))
        out.append(f"{_IND * 2}</CV_ENTRY_ML>\n")
    out.append(f"{_IND}</CONTROLLED_VOCABULARY>\n")


def eaf_to_string(doc: EafDocument) -> str:
    """Return the document as EAF 3.0 text (or ECV 0.2 for ``kind == "ecv"``)."""
    return "".join(eaf_chunks(doc))


def eaf_chunks(doc: EafDocument) -> Iterator[str]:
    """The text of :func:`eaf_to_string` in pieces of a few thousand annotations, as they are made (a large
    document is written without ever being one string).

    Raises:
        ExportError: a value holds a character XML cannot represent (when its piece is made).
    """
    if doc.kind == "ecv":
        yield _ecv_to_string(doc)
        return
    out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    out.append(_root_open("ANNOTATION_DOCUMENT", doc.root_attrs, {"FORMAT": "3.0", "VERSION": "3.0"}, EAF_SCHEMA))
    for url, text in doc.licenses:
        out.append(_text_el("LICENSE", [("LICENSE_URL", url)], text or "", 1))
    header = doc.header_attrs
    if not (doc.media or doc.linked_files or doc.properties):
        out.append(_empty("HEADER", header, 1))
    else:
        out.append(f"{_IND}<HEADER{_attr_str(header.items())}>\n")
        out.extend(_empty("MEDIA_DESCRIPTOR", m, 2) for m in doc.media)
        out.extend(_empty("LINKED_FILE_DESCRIPTOR", m, 2) for m in doc.linked_files)
        out.extend(_text_el("PROPERTY", [("NAME", n)], v or "", 2) for n, v in doc.properties)
        out.append(f"{_IND}</HEADER>\n")
    if doc.time_slots:
        out.append(f"{_IND}<TIME_ORDER>\n")
        attr_special, i2 = _ATTR_SPECIAL, _IND * 2
        for s in doc.time_slots:
            sid = s.slot_id
            if attr_special(sid):
                sid = _esc_attr(sid)
            if s.time is None:
                out.append(f'{i2}<TIME_SLOT TIME_SLOT_ID="{sid}"/>\n')
            else:
                out.append(f'{i2}<TIME_SLOT TIME_SLOT_ID="{sid}" TIME_VALUE="{s.time}"/>\n')
        out.append(f"{_IND}</TIME_ORDER>\n")
    else:
        out.append(f"{_IND}<TIME_ORDER/>\n")
    i2, i3, i4 = _IND * 2, _IND * 3, _IND * 4
    attr_special, value_special = _ATTR_SPECIAL, _VALUE_SPECIAL
    for tier in doc.tiers:
        if not tier.annotations:
            out.append(_empty("TIER", tier.attrs, 1))
            continue
        out.append(f"{_IND}<TIER{_attr_str(tier.attrs.items())}>\n")
        for a in tier.annotations:
            if len(out) >= _PIECE:
                yield "".join(out)
                out.clear()
            value = a.value
            if value_special(value):
                if ILLEGAL_XML.search(value):
                    raise ExportError(f"annotation {a.ann_id!r}: value holds a character XML cannot store")
                value = _esc_text(value)
            plain = a.ext_ref is None and a.lang_ref is None and a.cve_ref is None  # the usual case, written directly
            aid, ts1, ts2 = a.ann_id, a.ts1, a.ts2
            if a.ref is None and plain and a.svg_ref is None and ts1 is not None and ts2 is not None:
                if attr_special(aid) or attr_special(ts1) or attr_special(ts2):
                    aid, ts1, ts2 = _esc_attr(aid), _esc_attr(ts1), _esc_attr(ts2)
                attrs = f' ANNOTATION_ID="{aid}" TIME_SLOT_REF1="{ts1}" TIME_SLOT_REF2="{ts2}"'
                tag = "ALIGNABLE_ANNOTATION"
            elif a.ref is not None and plain:
                ref = a.ref
                if attr_special(aid) or attr_special(ref):
                    aid, ref = _esc_attr(aid), _esc_attr(ref)
                attrs = f' ANNOTATION_ID="{aid}" ANNOTATION_REF="{ref}"'
                if a.prev is not None:
                    attrs += f' PREVIOUS_ANNOTATION="{_esc_attr(a.prev)}"'
                tag = "REF_ANNOTATION"
            elif a.ref is None:
                attrs = _attr_str(
                    [
                        ("ANNOTATION_ID", a.ann_id),
                        ("EXT_REF", a.ext_ref),
                        ("LANG_REF", a.lang_ref),
                        ("CVE_REF", a.cve_ref),
                        ("TIME_SLOT_REF1", a.ts1),
                        ("TIME_SLOT_REF2", a.ts2),
                        ("SVG_REF", a.svg_ref),
                    ]
                )
                tag = "ALIGNABLE_ANNOTATION"
            else:
                attrs = _attr_str(
                    [
                        ("ANNOTATION_ID", a.ann_id),
                        ("EXT_REF", a.ext_ref),
                        ("LANG_REF", a.lang_ref),
                        ("CVE_REF", a.cve_ref),
                        ("ANNOTATION_REF", a.ref),
                        ("PREVIOUS_ANNOTATION", a.prev),
                    ]
                )
                tag = "REF_ANNOTATION"
            out.append(
                f"{i2}<ANNOTATION>\n{i3}<{tag}{attrs}>\n"
                f"{i4}<ANNOTATION_VALUE>{value}</ANNOTATION_VALUE>\n{i3}</{tag}>\n{i2}</ANNOTATION>\n"
            )
        out.append(f"{_IND}</TIER>\n")
    out.extend(_empty("LINGUISTIC_TYPE", lt, 1) for lt in doc.linguistic_types)
    out.extend(_empty("LOCALE", x, 1) for x in doc.locales)
    out.extend(_empty("LANGUAGE", x, 1) for x in doc.languages)
    out.extend(_empty("CONSTRAINT", x, 1) for x in doc.constraints)
    for cv in doc.vocabularies:
        _cv_lines(cv, out)
    out.extend(_empty("LEXICON_REF", x, 1) for x in doc.lexicon_refs)
    for rls in doc.ref_link_sets:
        if not rls.links:
            out.append(_empty("REF_LINK_SET", rls.attrs, 1))
            continue
        out.append(f"{_IND}<REF_LINK_SET{_attr_str(rls.attrs.items())}>\n")
        out.extend(_text_el(link.kind, link.attrs.items(), link.value, 2) for link in rls.links)
        out.append(f"{_IND}</REF_LINK_SET>\n")
    out.extend(_empty("EXTERNAL_REF", x, 1) for x in doc.external_refs)
    out.append("</ANNOTATION_DOCUMENT>\n")
    yield "".join(out)


def _ecv_to_string(doc: EafDocument) -> str:
    out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    out.append(_root_open("CV_RESOURCE", doc.root_attrs, {"VERSION": "0.2"}, ECV_SCHEMA))
    out.extend(_empty("LANGUAGE", x, 1) for x in doc.languages)
    for cv in doc.vocabularies:
        _cv_lines(cv, out)
    out.extend(_empty("EXTERNAL_REF", x, 1) for x in doc.external_refs)
    out.append("</CV_RESOURCE>\n")
    return "".join(out)


def write_atomic(path: str | os.PathLike[str], data: bytes | Iterable[bytes]) -> None:
    """Write bytes to ``path`` atomically (:func:`media_tools.files.write_atomic`: a synced temporary file in
    the same folder, renamed over it), with the ELAN codec's error.

    Raises:
        EafError: the folder does not exist or cannot be written (disk full, permissions).
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise EafError(f"{p}: folder {folder} does not exist")
    try:
        files.write_atomic(p, data)
    except OSError as exc:
        raise EafError(f"{p}: cannot write ({exc.strerror or exc})") from exc


def write_eaf(doc: EafDocument, path: str | os.PathLike[str]) -> None:
    """Write the document to ``path`` (EAF 3.0, or ECV 0.2 for vocabularies), atomically.

    Raises:
        ExportError: a value holds a character XML cannot represent.
        EafError: the file cannot be written.
    """
    write_atomic(path, (piece.encode("utf-8") for piece in eaf_chunks(doc)))
