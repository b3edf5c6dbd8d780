"""The ELAN codec: the document model, reading and writing .eaf/.etf/.ecv files without loss, comparing them,
tier and timing rules, coding schemes, and exports to other formats. It knows nothing of the database."""

from __future__ import annotations

from annotation.elan.exports import export_document, formats
from annotation.elan.gc_pause import gc_paused
from annotation.elan.model import (
    Annotation,
    Attrs,
    ControlledVocabulary,
    CVEntry,
    CVEValue,
    EafDocument,
    RefLink,
    RefLinkSet,
    Tier,
    TimeSlot,
)
from annotation.elan.reader import MAX_TIME_MS, read_eaf, read_eaf_report
from annotation.elan.repairs import Repair
from annotation.elan.scheme import (
    PARTICIPANTS_TIER,
    REFERRAL_SCHEME,
    SENSITIVE_TIER,
    is_participants_tier,
    load_scheme,
    participant_tier,
)
from annotation.elan.tiers import SYMBOLIC_ASSOCIATION, SYMBOLIC_SUBDIVISION, TierRow, tier_rows
from annotation.elan.timing import Segment, chain_order, child_spans, document_segments, interpolate_slots
from annotation.elan.writer import ILLEGAL_XML, write_eaf

__all__ = [
    "ILLEGAL_XML",
    "MAX_TIME_MS",
    "PARTICIPANTS_TIER",
    "REFERRAL_SCHEME",
    "SENSITIVE_TIER",
    "SYMBOLIC_ASSOCIATION",
    "SYMBOLIC_SUBDIVISION",
    "Annotation",
    "Attrs",
    "CVEValue",
    "CVEntry",
    "ControlledVocabulary",
    "EafDocument",
    "RefLink",
    "RefLinkSet",
    "Repair",
    "Segment",
    "Tier",
    "TierRow",
    "TimeSlot",
    "chain_order",
    "child_spans",
    "document_segments",
    "export_document",
    "formats",
    "gc_paused",
    "interpolate_slots",
    "is_participants_tier",
    "load_scheme",
    "participant_tier",
    "read_eaf",
    "read_eaf_report",
    "tier_rows",
    "write_eaf",
]
