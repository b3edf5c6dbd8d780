"""The XML parser under the ELAN reader: lxml set up so that a file cannot reach outside itself, and its errors
said in one line, in Frontdoor's words.

- No entity is ever expanded or fetched: the parser resolves none, loads no DTD and uses no network. A file whose
  DOCTYPE declares entities (``<!ENTITY x SYSTEM "file:///...">``, internal ones, "billion laughs") or that uses
  one declared outside it is refused: ELAN never writes a DOCTYPE, and with entities left unexpanded the text
  after one would be lost (``START&x;END`` read as ``START``).
- A document nested deeper than libxml2 allows is refused as "not an ELAN file" (an ELAN file is five levels
  deep), and libxml2's hints meant for programmers (``use XML_PARSE_HUGE option``) are not passed on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from typing import BinaryIO

from lxml import etree

from annotation.errors import EafParseError

# "<!ENTITY" as it appears in each encoding libxml2 detects from the bytes (a refusal's wording only: whether a
# file that parses declares entities is read from its DOCTYPE)
_ENTITY_DECLARATION = tuple(
    "<!ENTITY".encode(enc) for enc in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)
_DEPTH = re.compile(r"Excessive depth in document: (\d+)")
_HINTS = re.compile(r",? *(use XML_PARSE_HUGE option|see xmlCtxt\w+)\.?", re.IGNORECASE)


_OPTIONS = {
    "resolve_entities": False,
    "load_dtd": False,
    "no_network": True,
    "huge_tree": True,
    "remove_comments": True,
    "remove_pis": True,
}


def xml_parser() -> etree.XMLParser:
    """A parser that expands and fetches nothing; comments and processing instructions dropped (as ELAN does)."""
    return etree.XMLParser(**_OPTIONS)  # type: ignore[arg-type]


def parse_xml(data: bytes, name: str) -> etree._Element:
    """The root element of ``data``, parsed with :func:`xml_parser`; ``name`` starts every error message.

    Raises:
        EafParseError: not well-formed XML, truncated, an unreadable encoding, nested too deep, or XML entities.
    """
    parser = xml_parser()
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, LookupError, ValueError) as exc:
        raise parse_error(exc, data, name) from exc
    refuse_entities(root, name, parser.error_log)
    return root


def end_events(
    source: BinaryIO, name: str, whole: Callable[[], bytes], tags: Collection[str] | None = None
) -> Iterator[etree._Element]:
    """The elements of an XML file (those named ``tags``, or all) as their end tags are read, and last the root
    element: a streaming parse with the options of :func:`xml_parser`, in which the reader may drop what it
    has read. Whether the file has a DOCTYPE (where entities could be declared, :func:`has_doctype`) is known
    from the first element on; ``whole`` returns the file's bytes, to word an error.

    Raises:
        EafParseError: as :func:`parse_xml`, for what was not read before the error.
    """
    try:
        events = etree.iterparse(source, events=("end",), tag=tags, **_OPTIONS)
        for _event, el in events:
            yield el
        yield events.root
    except (etree.XMLSyntaxError, LookupError, ValueError) as exc:
        raise parse_error(exc, whole(), name) from exc


def has_doctype(el: etree._Element) -> bool:
    """Whether the document ``el`` is in declares a DOCTYPE (where entities could be declared)."""
    info = el.getroottree().docinfo
    return info.internalDTD is not None or bool(info.doctype) or info.system_url is not None


def parse_error(exc: Exception, data: bytes, name: str) -> EafParseError:
    """lxml's error while parsing ``data`` said in one line naming ``name``."""
    if isinstance(exc, etree.XMLSyntaxError):
        if any(decl in data for decl in _ENTITY_DECLARATION):  # a billion laughs, an entity loop ...
            return EafParseError(_declares_entities(name), detail=str(exc))
        return EafParseError(f"{name}: {_syntax_message(exc)}", detail=str(exc))
    return EafParseError(f"{name}: unreadable encoding ({exc})")


def refuse_entities(root: etree._Element, name: str, log: etree._ListErrorLog | None = None) -> None:
    """Refuse a parsed document whose DOCTYPE declares entities or that uses an entity declared outside it
    (in an external DTD, never read: libxml2 leaves such an entity out of a text or value and warns in ``log``,
    the parser's error log).

    Raises:
        EafParseError: one line naming the file; nothing was expanded or fetched.
    """
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is None:  # no DOCTYPE: an entity other than XML's five would not have parsed
        return
    if next(iter(dtd.iterentities()), None) is not None:  # type: ignore[attr-defined]  # (not in lxml-stubs)
        raise EafParseError(_declares_entities(name))
    undeclared = [e.message for e in log or () if e.type == etree.ErrorTypes.WAR_UNDECLARED_ENTITY]
    used = next(root.iter(etree.Entity), None)
    if undeclared or used is not None:
        found = re.search(r"'(.*)'", undeclared[0]) if undeclared else None
        entity = f"&{found.group(1)};" if found else str(used.text if used is not None else "")
        raise EafParseError(f"{name}: uses the XML entity {entity} from a DTD outside the file (never read): refused")


def _declares_entities(name: str) -> str:
    return f"{name}: declares XML entities, which ELAN files never use: refused"


def _syntax_message(exc: etree.XMLSyntaxError) -> str:
    msg = str(exc.msg if hasattr(exc, "msg") else exc).splitlines()[0]
    depth = _DEPTH.match(msg)
    if depth:
        where = re.search(r"line \d+, column \d+", msg)
        at = f" ({where.group()})" if where else ""
        return f"elements nested more than {depth.group(1)} levels deep{at}: not an ELAN file"
    msg = _HINTS.sub("", msg)
    low = msg.lower()
    if "premature end" in low or "end of data" in low or "not properly terminated" in low:
        return f"truncated or incomplete XML ({msg})"
    if "encoding" in low or "utf-8" in low or "bytes" in low or "char" in low:
        return f"unreadable encoding or invalid characters ({msg})"
    return msg
