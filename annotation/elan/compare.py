"""Semantic comparison of two ELAN files: what an ELAN user would see as the same document.

This works on the raw XML trees (lxml), independently of Frontdoor's reader and writer, so it can judge
their round trip and pympi's alike. Two files are equal when every element ELAN shows is there with the
same attributes and text, in the same order within its kind, allowing only for what EAF 3.0 itself changes:

- ``FORMAT``/``VERSION``/schema location of the root, and the indentation between elements;
- EAF 2.x vocabularies (``CV_ENTRY``, ``DESCRIPTION`` attribute) compared in their upgraded 3.0 form,
  with the "und" language declared when vocabularies use it (ELAN 3.0 needs every LANG_REF to resolve);
- attribute order, except on media and linked-file descriptors, where order is kept and compared.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_TOP_ORDER = [
    "LICENSE",
    "HEADER",
    "TIME_ORDER",
    "TIER",
    "LINGUISTIC_TYPE",
    "LOCALE",
    "LANGUAGE",
    "CONSTRAINT",
    "CONTROLLED_VOCABULARY",
    "LEXICON_REF",
    "REF_LINK_SET",
    "EXTERNAL_REF",
]
_ORDERED_ATTRS = {"MEDIA_DESCRIPTOR", "LINKED_FILE_DESCRIPTOR"}
_TEXT_ELEMENTS = {
    "ANNOTATION_VALUE",
    "CVE_VALUE",
    "DESCRIPTION",
    "PROPERTY",
    "LICENSE",
    "CROSS_REF_LINK",
    "GROUP_REF_LINK",
}
_IGNORED_ROOT_ATTRS = {"FORMAT", "VERSION", f"{_XSI}noNamespaceSchemaLocation", f"{_XSI}schemaLocation"}


@dataclass(frozen=True)
class Node:
    tag: str
    attrs: tuple[tuple[str, str], ...]
    text: str | None
    children: tuple[Node, ...]


def _node(el: etree._Element) -> Node:
    tag = str(el.tag)
    items = [(str(k), str(v)) for k, v in el.attrib.items()]
    attrs = tuple(items) if tag in _ORDERED_ATTRS else tuple(sorted(items))
    text = (el.text or "") if tag in _TEXT_ELEMENTS else None
    return Node(tag, attrs, text, tuple(_node(c) for c in el if isinstance(c.tag, str)))


def _upgrade_cv(el: etree._Element) -> Node:
    """An EAF 2.x CONTROLLED_VOCABULARY in the form ELAN gives it in 3.0."""
    attrs = {k: v for k, v in el.attrib.items() if k != "DESCRIPTION"}
    children: list[Node] = []
    desc = el.get("DESCRIPTION")
    if desc:
        children.append(Node("DESCRIPTION", (("LANG_REF", "und"),), desc, ()))
    for i, c in enumerate(el):
        if not isinstance(c.tag, str):
            continue
        if c.tag != "CV_ENTRY":
            children.append(_node(c))
            continue
        e_attrs = [("CVE_ID", c.get("CVE_ID") or f"cveid{i}")]
        if c.get("EXT_REF") is not None:
            e_attrs.append(("EXT_REF", c.get("EXT_REF") or ""))
        v_attrs = [("LANG_REF", "und")]
        if c.get("DESCRIPTION") is not None:
            v_attrs.append(("DESCRIPTION", c.get("DESCRIPTION") or ""))
        value = Node("CVE_VALUE", tuple(sorted(v_attrs)), c.text or "", ())
        children.append(Node("CV_ENTRY_ML", tuple(sorted(e_attrs)), None, (value,)))
    return Node(
        "CONTROLLED_VOCABULARY", tuple(sorted((str(k), str(v)) for k, v in attrs.items())), None, tuple(children)
    )


def canonical(path: str | os.PathLike[str]) -> Node:
    """The canonical tree of an ELAN file (see the module docstring for what is normalised)."""
    parser = etree.XMLParser(remove_comments=True, remove_pis=True, huge_tree=True, resolve_entities=False)
    root = etree.parse(os.fspath(path), parser).getroot()
    root_attrs = tuple(sorted((str(k), str(v)) for k, v in root.attrib.items() if k not in _IGNORED_ROOT_ATTRS))
    groups: dict[str, list[Node]] = {}
    for c in root:
        if not isinstance(c.tag, str):
            continue
        if c.tag == "CONTROLLED_VOCABULARY":
            groups.setdefault(c.tag, []).append(_upgrade_cv(c))
        else:
            groups.setdefault(str(c.tag), []).append(_node(c))
    languages = groups.get("LANGUAGE", [])
    has_und = any(("LANG_ID", "und") in n.attrs for n in languages)
    uses_und = any(
        ("LANG_REF", "und") in d.attrs or any(("LANG_REF", "und") in v.attrs for v in d.children)
        for cv in groups.get("CONTROLLED_VOCABULARY", [])
        for d in cv.children
    )
    if uses_und and not has_und:
        languages.append(
            Node(
                "LANGUAGE",
                (
                    ("LANG_DEF", "http://cdb.iso.org/lg/CDB-00130975-001"),
                    ("LANG_ID", "und"),
                    ("LANG_LABEL", "undetermined (und)"),
                ),
                None,
                (),
            )
        )
        groups["LANGUAGE"] = languages
    order = _TOP_ORDER if root.tag == "ANNOTATION_DOCUMENT" else ["LANGUAGE", "CONTROLLED_VOCABULARY", "EXTERNAL_REF"]
    children = [n for tag in order for n in groups.get(tag, [])]
    children += [n for tag, ns in groups.items() if tag not in order for n in ns]
    return Node(str(root.tag), root_attrs, None, tuple(children))


def _diff(a: Node, b: Node, path: str) -> Iterator[str]:
    here = f"{path}/{a.tag}"
    if a.tag != b.tag:
        yield f"{path}: element <{a.tag}> became <{b.tag}>"
        return
    if a.attrs != b.attrs:
        da, db = dict(a.attrs), dict(b.attrs)
        if da == db:
            yield f"{here}: attribute order changed {[k for k, _ in a.attrs]} -> {[k for k, _ in b.attrs]}"
        else:
            for k in sorted(set(da) | set(db)):
                if da.get(k) != db.get(k):
                    yield f"{here}@{k}: {da.get(k)!r} -> {db.get(k)!r}"
    if a.text != b.text:
        yield f"{here}: text {a.text!r} -> {b.text!r}"
    for i, (ca, cb) in enumerate(zip(a.children, b.children, strict=False)):
        ident = next((v for k, v in ca.attrs if k.endswith("_ID") or k == "NAME"), str(i))
        yield from _diff(ca, cb, f"{here}[{ident}]")
    if len(a.children) != len(b.children):
        extra = a.children[len(b.children) :] or b.children[len(a.children) :]
        side = "lost" if len(a.children) > len(b.children) else "added"
        tags = sorted({c.tag for c in extra})
        yield f"{here}: {abs(len(a.children) - len(b.children))} child element(s) {side} ({', '.join(tags)})"


def compare_eaf(original: str | os.PathLike[str], other: str | os.PathLike[str], limit: int = 50) -> list[str]:
    """Differences an ELAN user would see between two ELAN files; empty when they are the same document."""
    out: list[str] = []
    for d in _diff(canonical(original), canonical(other), ""):
        out.append(d)
        if len(out) >= limit:
            break
    return out
