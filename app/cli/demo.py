"""The demo project behind ``make run``: a generated duty-room recording, a document from the referral
scheme with a few example annotations, and its ELAN and table exports. Running it again reuses what
exists, so the user's own edits to the demo survive."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from annotation.edits import CreateAnnotation
from annotation.elan import participant_tier
from annotation.services import (
    add_recording,
    apply_edit,
    documents,
    ensure_project,
    export_eaf,
    export_other,
    new_document,
)
from annotation.store import Document, Store, default_db_url, open_store, user_data_dir
from media_tools.probe import probe
from media_tools.synth import make_test_recording

DEMO_PROJECT = "Demo: duty room"
DEMO_NAME = "duty-room-demo"

#: The filmed staff, each on their own participant tier.
DEMO_PARTICIPANTS = (("Duty worker A", "social worker"), ("Team manager B", "team manager"))

#: (tier, start ms, end ms, value): one referral call, coded with the referral scheme.
EXAMPLE_CODES: list[tuple[str, int, int, str]] = [
    ("Call phase", 0, 4000, "opening"),
    ("Call phase", 4000, 11000, "reason for call"),
    ("Call phase", 11000, 20000, "information gathering"),
    ("Call phase", 20000, 24000, "consultation"),
    ("Call phase", 24000, 27000, "decision"),
    ("Call phase", 27000, 29000, "feedback to referrer"),
    ("Call phase", 29000, 30000, "closing"),
    ("Referrer type", 4000, 11000, "school"),
    ("Concern", 5000, 11000, "neglect"),
    ("Manager consulted", 20000, 24000, "manager consulted"),
    ("Response", 24000, 27000, "initial assessment"),
    ("Feedback to referrer", 27000, 29000, "feedback given"),
    ("Initial assessment after professional referral", 24000, 27000, "initial assessment agreed"),
    (participant_tier("Duty worker A"), 0, 30000, "Duty worker A"),  # a tier per person: present at once,
    (participant_tier("Team manager B"), 20000, 24000, "Team manager B"),  # never overlapping on one tier
    ("Sensitive identifier", 7200, 8100, "child name"),
    ("Notes", 11000, 20000, "Worker reads back the school's concerns and checks previous contacts."),
]


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _demo_consent(store: Store, doc_id: int, recording_id: int) -> None:
    """Participants from the Participants tier, two clips, and the first decisions (once per demo store)."""
    from consent.clips import create_clip
    from consent.decisions import record_decision
    from consent.participants import add_participant, appearances_from_tier, list_participants

    if list_participants(store, DEMO_PROJECT):
        return
    for who, role in DEMO_PARTICIPANTS:
        add_participant(store, DEMO_PROJECT, who, role=role)
    appearances_from_tier(store, doc_id)
    face = {
        "kind": "blur",
        "start": 4.0,
        "end": 11.0,
        "keyframes": [
            {"t": 4.0, "x": 0.55, "y": 0.25, "w": 0.2, "h": 0.35},
            {"t": 11.0, "x": 0.7, "y": 0.3, "w": 0.2, "h": 0.35},
        ],
        "note": "a face (demo)",
    }
    first = create_clip(
        store,
        recording_id,
        4.0,
        11.0,
        name="reason for call",
        extra={"captions": {"document": str(doc_id), "tier": "Call phase"}, "redactions": [face]},
        sensitive_from=doc_id,
    )
    record_decision(store, first.clip_id, "Duty worker A", "internal_training", "granted")
    second = create_clip(store, recording_id, 20.0, 24.0, name="consultation", sensitive_from=doc_id)
    record_decision(store, second.clip_id, "Duty worker A", "external_seminar", "granted")
    # Team manager B has not decided on the consultation yet: the gate will hold it back


def _demo_export(store: Store, folder: Path) -> list[str]:
    """The consent gate, as a presenter uses it: only what everyone present agreed to, watermarked."""
    from consent.export import export_clips

    out = folder / "exports"
    out.mkdir(exist_ok=True)
    report = export_clips(
        store,
        "internal_training",
        out,
        audience="Frontdoor demo",
        expires=date.today() + timedelta(days=90),
    )
    lines = [f"exported:   {out / x['output']}  (clip {x['clip']} v{x['version']})" for x in report.exported]
    lines += [f"held back:  clip {x['clip']} v{x['version']}: {'; '.join(x['why'])}" for x in report.skipped]
    lines.append(f"manifest:   {report.manifest}")
    return lines


def _demo_research(store: Store, folder: Path) -> tuple[int, Path]:
    """A synthetic sample of referral records (two periods) and the report on them and the coded demo call."""
    from annotation.records import store_sample
    from annotation.report import build_report

    store_sample(store, DEMO_PROJECT, n=400, coded_documents=0)  # stores nothing twice on a re-run
    rows = _records(store)
    periods = sorted({r.period for r in rows})
    out = folder / "report" / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    if len(periods) >= 2:
        build_report(store, DEMO_PROJECT, out, period=periods[0], compare=periods[-1], pdf=True)
    else:
        build_report(store, DEMO_PROJECT, out, pdf=True)
    return len(rows), out


def _records(store: Store) -> list[Any]:
    from annotation.records import list_records

    return list(list_records(store, DEMO_PROJECT))


def run_demo(db: str | None = None, open_app: bool = True) -> int:
    folder = user_data_dir() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    media = folder / f"{DEMO_NAME}.mp4"
    url = db or default_db_url()
    store = open_store(url)
    try:
        return _run_demo(store, folder, media, open_app)
    finally:
        store.close()  # stamps the store as checked (annotation.store.checked)


def _run_demo(store: Store, folder: Path, media: Path, open_app: bool) -> int:
    print(f"store:      {store.label}")
    existing = [d for d in documents(store) if d.name == DEMO_NAME]
    if existing:
        doc_id = existing[-1].id
        print(f"demo:       document {doc_id} exists already; reusing it (your edits are kept)")
    else:
        if not media.exists():
            print("recording:  generating a 30 s demo recording with ffmpeg ...")
            make_test_recording(media, seconds=30, label="Frontdoor demo")
        info = probe(media)
        pid = ensure_project(store, DEMO_PROJECT)
        rid = add_recording(
            store,
            pid,
            media,
            project_dir=str(folder),
            duration_ms=info.duration_ms,
            fps=info.fps,
            mime_type=info.mime_type,
        )
        doc_id = new_document(
            store,
            "referral",
            name=DEMO_NAME,
            recording_id=rid,
            project_id=pid,
            participants=[who for who, _ in DEMO_PARTICIPANTS],
        )
        for tier, start, end, value in EXAMPLE_CODES:
            apply_edit(store, CreateAnnotation(doc_id, tier, start, end, value))
        print(f"demo:       created document {doc_id} from the referral scheme with {len(EXAMPLE_CODES)} annotations")
    eaf = folder / f"{DEMO_NAME}.eaf"
    tsv = folder / f"{DEMO_NAME}.tsv"
    export_eaf(store, doc_id, eaf)
    export_other(store, doc_id, "tsv", tsv)
    if not media.exists():
        make_test_recording(media, seconds=30, label="Frontdoor demo")
    with store.session() as s:
        rec_id = s.get(Document, doc_id).recording_id  # type: ignore[union-attr]
    _demo_consent(store, doc_id, rec_id)
    gate = _demo_export(store, folder)
    records, report = _demo_research(store, folder)
    print(f"recording:  {media}")
    print(f"ELAN file:  {eaf}  (open it in ELAN 6)")
    print(f"table:      {tsv}")
    for line in gate:
        print(line)
    print(f"records:    {records} sampled referral records (synthetic, no identifiers): frontdoor records list")
    print(f"report:     {report}  (and its PDF; the numbers behind each plot beside it)")
    print("consent:    frontdoor consent status   (the export gate: frontdoor export-clips --help)")
    print(f"next:       frontdoor show {doc_id} --annotations")
    if open_app and _has_display():
        import importlib.util

        if importlib.util.find_spec("PySide6") is None:
            print("app:        PySide6 is not installed (pip install 'frontdoor[gui]'): ran the demo headless")
            return 0
        print("app:        opening the desktop app on the demo document (F1 lists the keys)")
        from app.gui import run_app

        return run_app(store, doc_id)
    print("app:        no display (or --headless): ran the demo headless")
    return 0
