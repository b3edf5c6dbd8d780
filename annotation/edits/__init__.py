"""Edits to a stored document as command objects with ``apply`` and ``revert`` (what they share, the edits of
one annotation, split/merge/create-under-a-parent with their journal), the display patches that let a view
refresh only what an edit touched, the rule that annotations on one tier never overlap, and rapid coding."""

from __future__ import annotations

from annotation.edits.base import EditCommand, Touched, mark_modified, take_document
from annotation.edits.commands import CreateAnnotation, DeleteAnnotation, SetAnnotationTimes, SetAnnotationValue
from annotation.edits.display import SegmentPatch, segments_patch
from annotation.edits.overlaps import document_overlaps, edit_memory, overlapping, remember_edit, span_text
from annotation.edits.rapid_coding import RapidCoder
from annotation.edits.structure_edits import CreateReferringAnnotation, MergeAnnotations, SplitAnnotation

__all__ = [
    "CreateAnnotation",
    "CreateReferringAnnotation",
    "DeleteAnnotation",
    "EditCommand",
    "MergeAnnotations",
    "RapidCoder",
    "SegmentPatch",
    "SetAnnotationTimes",
    "SetAnnotationValue",
    "SplitAnnotation",
    "Touched",
    "document_overlaps",
    "edit_memory",
    "mark_modified",
    "overlapping",
    "remember_edit",
    "segments_patch",
    "span_text",
    "take_document",
]
