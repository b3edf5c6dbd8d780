"""Documents with a transcript, for the sensitive-identifier tests and bench: the referral scheme plus a
free-text "Transcript" tier and a "Translation" tier of one annotation per transcript segment
(Symbolic_Association), stored as real documents."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from annotation.edits.commands import CreateAnnotation
from annotation.elan.model import Annotation, Tier, TimeSlot
from annotation.elan.scheme import load_scheme, scheme_documents
from annotation.elan.writer import write_eaf
from annotation.services import apply_edit, new_document
from annotation.store.documents import store_document
from annotation.store.engine import Store

TRANSCRIPT = "Transcript"
TRANSLATION = "Translation"


def transcript_scheme(folder: Path) -> Path:
    """An ELAN template: the referral scheme with a Transcript tier and its Translation child."""
    etf, _ = scheme_documents()
    etf.linguistic_types.append(
        {"GRAPHIC_REFERENCES": "false", "LINGUISTIC_TYPE_ID": "utterance", "TIME_ALIGNABLE": "true"}
    )
    etf.linguistic_types.append(
        {
            "CONSTRAINTS": "Symbolic_Association",
            "GRAPHIC_REFERENCES": "false",
            "LINGUISTIC_TYPE_ID": "translation",
            "TIME_ALIGNABLE": "false",
        }
    )
    etf.constraints.append(
        {"DESCRIPTION": "1-1 association with a parent annotation", "STEREOTYPE": "Symbolic_Association"}
    )
    etf.tiers.append(Tier(attrs={"LINGUISTIC_TYPE_REF": "utterance", "TIER_ID": TRANSCRIPT}))
    etf.tiers.append(
        Tier(attrs={"LINGUISTIC_TYPE_REF": "translation", "PARENT_REF": TRANSCRIPT, "TIER_ID": TRANSLATION})
    )
    path = folder / "transcribed.etf"
    write_eaf(etf, path)
    return path


def transcript_document(
    store: Store,
    scheme: Path,
    lines: Sequence[tuple[int, int, str]] = (),
    *,
    project_id: int | None = None,
    recording_id: int | None = None,
    name: str = "call 1",
) -> int:
    """A new document from ``scheme`` with ``lines`` (start ms, end ms, text) on its Transcript tier."""
    doc = new_document(store, str(scheme), name=name, project_id=project_id, recording_id=recording_id)
    for a, b, text in lines:
        apply_edit(store, CreateAnnotation(doc, TRANSCRIPT, a, b, text))
    return doc


def big_transcript(store: Store, scheme: Path, texts: Sequence[str], *, project_id: int, seg_ms: int = 3000) -> int:
    """A document with one Transcript segment of ``seg_ms`` per text, stored in bulk (as an import is)."""
    doc = load_scheme(str(scheme))
    doc.kind = "eaf"
    tier = next(t for t in doc.tiers if t.tier_id == TRANSCRIPT)
    for i, text in enumerate(texts):
        doc.time_slots += [TimeSlot(f"ts{2 * i + 1}", i * seg_ms), TimeSlot(f"ts{2 * i + 2}", (i + 1) * seg_ms - 100)]
        tier.annotations.append(Annotation(f"a{i + 1}", text, ts1=f"ts{2 * i + 1}", ts2=f"ts{2 * i + 2}"))
    with store.session() as s:
        return store_document(s, doc, "long call", project_id=project_id)
