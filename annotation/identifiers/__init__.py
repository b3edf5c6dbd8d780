"""Sensitive identifiers: the project's watch list, matching it against transcripts, proposals a person
confirms or rejects, the spans to bleep or blur, and warnings for free text (referral notes) that looks like
it identifies a child or family."""

from __future__ import annotations

from annotation.identifiers import models, spans, watch_list
from annotation.identifiers.models import CONFIRMED, PENDING, REJECTED
from annotation.identifiers.proposals import (
    ProposalView,
    ScanSummary,
    confirm_command,
    confirm_proposal,
    list_proposals,
    reject_command,
    reject_proposal,
    scan_document,
)
from annotation.identifiers.spans import standing_sensitive_captions, standing_sensitive_redactions
from annotation.identifiers.warnings import IdentifierWarning, identifier_warnings

__all__ = [
    "CONFIRMED",
    "PENDING",
    "REJECTED",
    "IdentifierWarning",
    "ProposalView",
    "ScanSummary",
    "confirm_command",
    "confirm_proposal",
    "identifier_warnings",
    "list_proposals",
    "models",
    "reject_command",
    "reject_proposal",
    "scan_document",
    "spans",
    "standing_sensitive_captions",
    "standing_sensitive_redactions",
    "watch_list",
]
