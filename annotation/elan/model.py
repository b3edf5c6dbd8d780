"""The ELAN document as plain Python data: what the codec reads and writes and the store holds.

The vocabulary is ELAN's own (EAF 3.0 schema): times are integer milliseconds, a time slot may be unaligned
(``time is None``), alignable annotations point at two time slots, referring annotations point at a parent
annotation and, in a symbolic subdivision, at the previous sibling.

Attributes of descriptive elements (media descriptors, linked files, languages, locales, linguistic types,
external refs ...) are kept as ``dict[str, str]`` in document order, so that a round trip writes them back
as the file had them, including attributes this version of Frontdoor does not know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Attrs = dict[str, str]
DocKind = Literal["eaf", "etf", "ecv"]

#: The ISO 639-3 "undetermined" language ELAN uses when it upgrades old single-language vocabularies.
UND_LANGUAGE: Attrs = {
    "LANG_DEF": "http://cdb.iso.org/lg/CDB-00130975-001",
    "LANG_ID": "und",
    "LANG_LABEL": "undetermined (und)",
}

TIER_KEYS = ("TIER_ID", "PARTICIPANT", "ANNOTATOR", "LINGUISTIC_TYPE_REF", "DEFAULT_LOCALE", "PARENT_REF")


@dataclass(slots=True)
class TimeSlot:
    slot_id: str
    time: int | None


@dataclass(slots=True)
class Annotation:
    """One annotation. ``ts1``/``ts2`` are set for alignable ones, ``ref`` for referring ones."""

    ann_id: str
    value: str
    ts1: str | None = None
    ts2: str | None = None
    ref: str | None = None
    prev: str | None = None
    ext_ref: str | None = None
    lang_ref: str | None = None
    cve_ref: str | None = None
    svg_ref: str | None = None

    @property
    def alignable(self) -> bool:
        return self.ref is None


@dataclass
class Tier:
    attrs: Attrs
    annotations: list[Annotation] = field(default_factory=list)

    @property
    def tier_id(self) -> str:
        return self.attrs["TIER_ID"]

    @property
    def parent_ref(self) -> str | None:
        return self.attrs.get("PARENT_REF")

    @property
    def linguistic_type_ref(self) -> str:
        return self.attrs.get("LINGUISTIC_TYPE_REF", "")


@dataclass
class CVEValue:
    value: str
    lang_ref: str | None = None
    description: str | None = None


@dataclass
class CVEntry:
    cve_id: str | None
    values: list[CVEValue]
    ext_ref: str | None = None


@dataclass
class ControlledVocabulary:
    cv_id: str
    ext_ref: str | None = None
    #: (LANG_REF, text); text None for an empty element (ELAN makes no difference between None and "")
    descriptions: list[tuple[str | None, str | None]] = field(default_factory=list)
    entries: list[CVEntry] = field(default_factory=list)


@dataclass
class RefLink:
    kind: str  # "CROSS_REF_LINK" or "GROUP_REF_LINK"
    attrs: Attrs
    value: str | None = None


@dataclass
class RefLinkSet:
    attrs: Attrs
    links: list[RefLink] = field(default_factory=list)


@dataclass
class EafDocument:
    """A whole ELAN document (``kind`` "eaf" or "etf") or external vocabulary file (``kind`` "ecv")."""

    kind: DocKind = "eaf"
    root_attrs: Attrs = field(default_factory=dict)
    header_attrs: Attrs = field(default_factory=lambda: {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    licenses: list[tuple[str | None, str | None]] = field(default_factory=list)  # (LICENSE_URL, text)
    media: list[Attrs] = field(default_factory=list)
    linked_files: list[Attrs] = field(default_factory=list)
    properties: list[tuple[str | None, str | None]] = field(default_factory=list)  # (NAME, text)
    time_slots: list[TimeSlot] = field(default_factory=list)
    tiers: list[Tier] = field(default_factory=list)
    linguistic_types: list[Attrs] = field(default_factory=list)
    locales: list[Attrs] = field(default_factory=list)
    languages: list[Attrs] = field(default_factory=list)
    constraints: list[Attrs] = field(default_factory=list)
    vocabularies: list[ControlledVocabulary] = field(default_factory=list)
    lexicon_refs: list[Attrs] = field(default_factory=list)
    ref_link_sets: list[RefLinkSet] = field(default_factory=list)
    external_refs: list[Attrs] = field(default_factory=list)
    #: set by the reader when it upgraded an EAF 2.x construct (old CV_ENTRY ...): one line per change
    upgrade_notes: list[str] = field(default_factory=list)

    @property
    def author(self) -> str:
        return self.root_attrs.get("AUTHOR", "")

    def annotation_count(self) -> int:
        return sum(len(t.annotations) for t in self.tiers)

    def tier(self, tier_id: str) -> Tier:
        for t in self.tiers:
            if t.tier_id == tier_id:
                return t
        raise KeyError(tier_id)

    def slot_times(self) -> dict[str, int | None]:
        return {s.slot_id: s.time for s in self.time_slots}
