"""The export gate: the only path from a stored recording to an exported clip.

``plan`` decides, clip by clip, whether the current version may be used for the export's scope (the rule
is ``consent.service.evaluate``); ``export_clips`` renders exactly the usable ones, each watermarked with
the scope (and the audience or event, and the expiry date), and writes a manifest beside them. Just before
each file is kept, the decision is taken again in the transaction that records the export, so a
withdrawal during a long export still stops the clip: its file is deleted and it is listed as skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation.store import Store
from annotation.store_models import Recording
from consent import audit, scopes
from consent.conditions import ExportContext
from consent.errors import InvalidRequest, UnknownThing
from consent.models import Clip, ClipVersion, Export, ExportItem, Participant
from consent.service import current_version, evaluate, version_spec, write
from media_tools import cache
from media_tools.errors import MediaError
from media_tools.ffmpeg_bin import Progress
from media_tools.render import render
from media_tools.spec import EditSpec


@dataclass(frozen=True)
class Planned:
    clip_id: int
    clip_name: str
    version_id: int
    version_number: int
    version_hash: str
    recording_path: str
    source_sha256: str
    usable: bool
    reasons: tuple[str, ...]
    decision_ids: dict[int, list[int]]
    present: dict[int, str]


@dataclass
class ExportReport:
    export_id: int
    folder: Path
    manifest: Path
    exported: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def _plan_in(
    s: Session, ctx: ExportContext, *, recording_id: int | None, clip_ids: Sequence[int] | None
) -> list[Planned]:
    q = select(Clip).order_by(Clip.id)
    if recording_id is not None:
        q = q.where(Clip.recording_id == recording_id)
    if clip_ids:
        q = q.where(Clip.id.in_(list(clip_ids)))
    out = []
    for c in s.scalars(q):
        v = current_version(s, c)
        rec = s.get(Recording, c.recording_id)
        assert rec is not None
        verdict = evaluate(s, v, ctx, rec.abs_path)
        out.append(
            Planned(
                c.id,
                c.name,
                v.id,
                v.number,
                v.version_hash,
                rec.abs_path,
                v.source_sha256,
                verdict.usable,
                tuple(verdict.reasons),
                verdict.decision_ids,
                verdict.present,
            )
        )
    return out


def plan(
    store: Store,
    ctx: ExportContext,
    *,
    recording_id: int | None = None,
    clip_ids: Sequence[int] | None = None,
) -> list[Planned]:
    """Every selected clip's current version, with whether it may be exported in ``ctx`` and why not.

    Raises:
        UnknownThing: an unknown scope or clip.
    """
    scopes.check(ctx.scope)
    with store.session() as s:
        if clip_ids:
            from consent.service import clip as find_clip

            for cid in clip_ids:
                find_clip(s, cid)
        return _plan_in(s, ctx, recording_id=recording_id, clip_ids=clip_ids)


def export_spec(v: ClipVersion, recording_path: str | Path, mark: str) -> EditSpec:
    """The spec a clip version is rendered from on its way out of the store, for an export or for a
    participant's review: its stored edit (which carries the sensitive-identifier bleeps and the redactions
    asked for as conditions of consent) on the recording file, with ``mark`` on every frame after the
    edit's own watermark. The gate and the review station's previews both come through here, so what a
    participant is shown is what would be exported.

    Raises:
        InvalidRequest: the recording file is missing or is no longer the one the version was made from, or
            the stored edit no longer matches its version hash.
    """
    source = Path(recording_path)
    if not source.is_file():
        raise InvalidRequest(f"{source}: recording file missing (frontdoor recording relink)")
    if cache.file_hash(source) != v.source_sha256:
        raise InvalidRequest(f"{source}: the recording file has changed since the clip was made (its SHA-256 differs)")
    spec = version_spec(v, source)
    if spec.version_hash(v.source_sha256) != v.version_hash:
        raise InvalidRequest(
            f"clip {v.clip_id} version {v.number}: the stored edit does not match its version hash "
            "(changed outside Frontdoor)"
        )
    return spec.with_changes(watermark=f"{spec.watermark} · {mark}" if spec.watermark else mark)


def watermark_text(scope: str, audience: str | None, expires: date | None) -> str:
    parts = [scopes.LABELS[scope]]
    if audience:
        parts.append(audience)
    if expires:
        parts.append(f"not after {expires.isoformat()}")
    return " · ".join(parts)


def export_clips(
    store: Store,
    scope: str,
    folder: str | Path,
    *,
    recording_id: int | None = None,
    clip_ids: Sequence[int] | None = None,
    audience: str | None = None,
    internal_audience: bool = False,
    expires: date | None = None,
    today: date | None = None,
    progress: Callable[[int, Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> ExportReport:
    """Render every usable clip version for ``scope`` into ``folder`` and record the export.

    Raises:
        UnknownThing: unknown scope or clip.
        InvalidRequest: the folder is missing, or an expiry date in the past.
    """
    scopes.check(scope)
    out = Path(folder)
    if not out.is_dir():
        raise InvalidRequest(f"{out}: output folder does not exist")
    on = today or datetime.now(UTC).date()
    if expires is not None and expires < on:
        raise InvalidRequest(f"--expires {expires.isoformat()}: is in the past")
    ctx = ExportContext(scope, on, internal_audience=internal_audience, expires=expires)
    with store.session() as s:
        if recording_id is not None and s.get(Recording, recording_id) is None:
            raise UnknownThing(f"recording {recording_id}: not found (see 'frontdoor recording add')")
        problem = audit.check(s)
    if problem is not None:
        raise InvalidRequest(f"the consent records fail their audit ({problem.message}): nothing exported")
    planned = plan(store, ctx, recording_id=recording_id, clip_ids=clip_ids)

    def start(s: Session) -> int:
        first = s.get(Clip, planned[0].clip_id) if planned else None
        e = Export(
            project_id=first.project_id if first else None,
            scope=scope,
            folder=str(out.resolve()),
            audience=audience,
            internal_audience=internal_audience,
            expires=expires.isoformat() if expires else None,
            exported_by=audit.actor(),
        )
        s.add(e)
        s.flush()
        audit.append(
            s,
            "export_started",
            {"export": e.id, "scope": scope, "internal": internal_audience, "expires": e.expires,
             "audience_sha256": hashlib.sha256(audience.encode()).hexdigest() if audience else None,
             "clips": [p.clip_id for p in planned]},
        )  # fmt: skip
        return e.id

    # files left by an export that died between rendering and recording were never given out: remove them
    for stale in out.glob(".pending-*.mp4"):
        stale.unlink(missing_ok=True)
    export_id = write(store, start)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report = ExportReport(export_id, out, out / f"manifest-{export_id}-{stamp}.json")
    mark = watermark_text(scope, audience, expires)
    try:
        _export_all(store, planned, ctx, out, export_id, mark, report, progress, cancel)
    finally:  # the manifest and the log say what was given out, even when the export stops half way
        _finish(store, report, scope, audience, internal_audience, expires, on)
    return report


def _export_all(
    store: Store,
    planned: list[Planned],
    ctx: ExportContext,
    out: Path,
    export_id: int,
    mark: str,
    report: ExportReport,
    progress: Callable[[int, Progress], None] | None,
    cancel: threading.Event | None,
) -> None:
    for i, p in enumerate(planned):
        if not p.usable:
            report.skipped.append(
                {"clip": p.clip_id, "name": p.clip_name, "version": p.version_number, "why": list(p.reasons)}
            )
            continue
        try:
            item = _export_one(
                store,
                p,
                ctx,
                out,
                export_id,
                mark,
                progress=_for_item(progress, i),
                cancel=cancel,
            )
        except (MediaError, InvalidRequest) as exc:
            report.skipped.append(
                {"clip": p.clip_id, "name": p.clip_name, "version": p.version_number, "why": [str(exc)]}
            )
            continue
        if "why" in item:
            report.skipped.append(item)
        else:
            report.exported.append(item)


def _finish(
    store: Store,
    report: ExportReport,
    scope: str,
    audience: str | None,
    internal_audience: bool,
    expires: date | None,
    on: date,
) -> None:
    manifest = {
        "export": report.export_id,
        "scope": scope,
        "audience": audience,
        "internal_audience": internal_audience,
        "expires": expires.isoformat() if expires else None,
        "exported_on": on.isoformat(),
        "exported_by": audit.actor(),
        "clips": report.exported,
        "skipped": report.skipped,
    }
    data = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
    cache.write_atomic(report.manifest, data)
    digest = cache.sha256_of(report.manifest)

    def finish(s: Session) -> None:
        audit.append(
            s,
            "export_finished",
            {"export": report.export_id, "manifest": report.manifest.name, "manifest_sha256": digest,
             "exported": [x["clip"] for x in report.exported], "skipped": [x["clip"] for x in report.skipped]},
        )  # fmt: skip

    write(store, finish)


def _for_item(progress: Callable[[int, Progress], None] | None, i: int) -> Callable[[Progress], None] | None:
    if progress is None:
        return None
    report = progress

    def one(p: Progress) -> None:
        report(i, p)

    return one


def _export_one(
    store: Store,
    p: Planned,
    ctx: ExportContext,
    out: Path,
    export_id: int,
    mark: str,
    *,
    progress: Callable[[Progress], None] | None,
    cancel: threading.Event | None,
) -> dict[str, Any]:
    source = Path(p.recording_path)
    with store.session() as s:
        v = s.get(ClipVersion, p.version_id)
        assert v is not None
    spec = export_spec(v, source, mark)
    target = out / f"e{export_id}-clip{p.clip_id}-v{p.version_number}-{p.version_hash[:10]}.mp4"
    pending = out / f".pending-{target.name}"  # its final name only once the export is recorded
    result = render(spec, pending, progress=progress, cancel=cancel)

    def keep(s: Session) -> dict[str, Any]:
        # the decision again, now, in the transaction that records the export
        v = s.get(ClipVersion, p.version_id)
        c = s.get(Clip, p.clip_id)
        assert v is not None and c is not None
        if current_version(s, c).id != v.id:
            return {"why": ["the clip was edited during the export"]}
        verdict = evaluate(s, v, ctx, source)
        if not verdict.usable:
            return {"why": ["consent changed during the export: " + "; ".join(verdict.reasons)]}
        decision_ids = sorted(d for ds in verdict.decision_ids.values() for d in ds)
        item = ExportItem(
            export_id=export_id,
            clip_version_id=v.id,
            path=str(target.resolve()),
            output_sha256=result.output_sha256,
            decision_ids=decision_ids,
            participant_ids=sorted(verdict.present),
        )
        s.add(item)
        s.flush()
        audit.append(
            s,
            "export",
            {"export": export_id, "export_item": item.id, "version": v.version_hash, "output": target.name,
             "output_sha256": result.output_sha256, "decision_ids": decision_ids, "scope": ctx.scope},
            clip_id=c.id,
        )  # fmt: skip
        names = dict(
            s.execute(
                select(Participant.id, Participant.pseudonym).where(Participant.id.in_(list(verdict.present)))
            ).all()
        )
        return {
            "clip": c.id,
            "name": c.name,
            "version": v.number,
            "version_hash": v.version_hash,
            "output": target.name,
            "output_sha256": result.output_sha256,
            "export_item": item.id,
            "participants": [
                {"participant": pid, "pseudonym": names[pid], "decisions": verdict.decision_ids[pid]}
                for pid in sorted(verdict.present)
            ],
            "render": result.manifest,
        }

    try:
        item = write(store, keep)
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    if "why" in item:
        pending.unlink(missing_ok=True)
        item.update({"clip": p.clip_id, "name": p.clip_name, "version": p.version_number})
    else:
        os.replace(pending, target)
    return item
