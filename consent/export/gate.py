"""The export gate: the only path from a stored recording to an exported clip.

``plan`` decides, clip by clip, whether the current version may be used for the export's scope (the rule
is ``consent.usability.evaluate``); ``export_clips`` renders exactly the usable ones, each watermarked with
the scope (and the audience or event, and the expiry date), and writes a manifest beside them. Just before
each file is kept, the decision is taken again in the transaction that records the export, so a
withdrawal during a long export still stops the clip: its file is deleted and it is listed as skipped.

With ``archive_passphrase`` the clips are rendered into a private folder on this machine (never the output
folder, which may be a memory stick) and carried out in one encrypted 7z archive with the manifest inside
(:mod:`media_tools.archive`); each export record then names the archive, the only copy given out.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation.identifiers import standing_sensitive_captions, standing_sensitive_redactions
from annotation.store import Recording, Store, user_data_dir
from consent import anchors, audit, scopes
from consent.conditions import ExportContext
from consent.errors import InvalidRequest, UnknownThing
from consent.export import files as export_files
from consent.export.face_coverage import check_face_coverage
from consent.models import Clip, ClipVersion, Export, ExportItem, Participant
from consent.rows import current_version, version_spec, write
from consent.server import access
from consent.usability import evaluate
from consent.verification import verify_records
from media_tools import cache
from media_tools.archive import write_encrypted_archive
from media_tools.errors import MediaError
from media_tools.ffmpeg_bin import Progress
from media_tools.files import replace_durably, sha256_file, write_atomic
from media_tools.render import render
from media_tools.scratch import remove_abandoned, scratch_name
from media_tools.spec import EditSpec

PENDING = ".pending-"  # an exported clip before its export is recorded (named by its writer)


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
    archive: Path | None = None  # the encrypted archive holding the clips and the manifest


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
        # the recording's path as the database releases it to the role connected (on a shared server a
        # presenter gets it only for a version everyone present has granted this use on)
        path = access.recording_source(s, v.id, ctx.scope)
        verdict = evaluate(s, v, ctx, path or "-")
        if path is None and verdict.usable:
            verdict.usable = False
            verdict.reasons.append("the database does not release this recording to the role connected")
        out.append(
            Planned(
                c.id,
                c.name,
                v.id,
                v.number,
                v.version_hash,
                path or "",
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
            from consent.rows import clip as find_clip

            for cid in clip_ids:
                find_clip(s, cid)
        return _plan_in(s, ctx, recording_id=recording_id, clip_ids=clip_ids)


def export_spec(v: ClipVersion, recording_path: str | Path, mark: str, *, store: Store) -> EditSpec:
    """The spec a clip version is rendered from on its way out of the store, for an export or for a
    participant's review: its stored edit (which carries the sensitive-identifier bleeps and the redactions
    asked for as conditions of consent) on the recording file, with ``mark`` on every frame after the
    edit's own watermark. The gate and the review station's previews both come through here, so what a
    participant is shown is what would be exported.

    A sensitive identifier coded on the recording after the version was made (a confirmed proposal of
    ``frontdoor identifiers``, an annotation added by hand) is bleeped too, read from ``store`` now, and the
    text of every caption over a sensitive identifier (coded before or after) is replaced: only the
    identifier is taken away, so the version, its hash and the consent given to it stay as they are
    (:mod:`annotation.identifiers.spans`).

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
    with store.session() as s:
        recording_id = s.scalar(select(Clip.recording_id).where(Clip.id == v.clip_id))
        if recording_id is None:
            raise InvalidRequest(f"clip {v.clip_id}: not found (see 'frontdoor clip list')")
        later = standing_sensitive_redactions(s, recording_id, spec.start, spec.end, covered=spec.audio)
        captions = standing_sensitive_captions(s, recording_id, spec.captions)
    if later:
        spec = spec.with_changes(audio=spec.audio + later)
    if captions is not spec.captions:
        spec = spec.with_changes(captions=captions)
    return spec.with_changes(watermark=f"{spec.watermark} · {mark}" if spec.watermark else mark)


def refuse_stored_recording(store: Store, source: str | Path) -> None:
    """Refuse to treat a stored recording as a plain media file: its clips leave the store only through
    the gate (``export_clips``), so a file-level render of one (``frontdoor media render``) is refused.
    A ``source`` that is not a file is left to whoever reads it to report.

    Raises:
        InvalidRequest: ``source`` has the bytes of a recording in the store.
    """
    path = Path(source)
    if not path.is_file():
        return
    digest = cache.file_hash(path)
    with store.session() as s:
        rid = s.scalar(select(Recording.id).where(Recording.sha256 == digest).limit(1))
    if rid is not None:
        raise InvalidRequest(
            f"{source}: is stored recording {rid}; its clips leave only through the consent gate "
            "(frontdoor clip create, then frontdoor export-clips)"
        )


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
    archive_passphrase: str | None = None,
) -> ExportReport:
    """Render every usable clip version for ``scope`` into ``folder`` and record the export; with
    ``archive_passphrase``, into one encrypted archive in ``folder`` instead (no plain clip is written there).

    Raises:
        UnknownThing: unknown scope or clip.
        InvalidRequest: the folder is a file or cannot be made, an expiry date in the past, or the consent
            records fail their audit (their chain, or a head anchored outside the store).
        ArchiveFailed: the encrypted archive cannot be written (the private copies are removed).
    """
    scopes.check(scope)
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise InvalidRequest(f"{out}: is a file, not a folder")
    on = today or datetime.now(UTC).date()
    if expires is not None and expires < on:
        raise InvalidRequest(f"--expires {expires.isoformat()}: is in the past")
    ctx = ExportContext(scope, on, internal_audience=internal_audience, expires=expires)
    with store.session() as s:
        if recording_id is not None and s.scalar(select(Recording.id).where(Recording.id == recording_id)) is None:
            raise UnknownThing(f"recording {recording_id}: not found (see 'frontdoor recording add')")
    problem = verify_records(store).problem  # the chain, the records, and every head anchored outside the store
    if problem is not None:
        raise InvalidRequest(f"the consent records fail their audit ({problem.message}): nothing exported")
    planned = plan(store, ctx, recording_id=recording_id, clip_ids=clip_ids)
    _make_folder(out)

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
    # (only those whose writer is gone: another export into this folder may be writing its own right now)
    remove_abandoned(out, PENDING)
    export_id = write(store, start)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work = out if archive_passphrase is None else _private_workdir()
    report = ExportReport(export_id, out, work / export_files.manifest_name(export_id, stamp))
    if archive_passphrase is not None:
        report.archive = out / export_files.archive_name(export_id, stamp)
    mark = watermark_text(scope, audience, expires)
    try:
        try:
            _export_all(store, planned, ctx, work, export_id, mark, report, progress, cancel)
        finally:  # the manifest and the log say what was given out, even when the export stops half way
            _finish(store, report, scope, audience, internal_audience, expires, on, archive_passphrase)
    finally:
        if work is not out:
            shutil.rmtree(work, ignore_errors=True)
    return report


def _make_folder(out: Path) -> None:
    """Make the output folder (and its parents) when it does not exist yet.

    Raises:
        InvalidRequest: it cannot be made.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidRequest(f"{out}: the output folder cannot be made ({exc.strerror or exc})") from exc


def _private_workdir() -> Path:
    """A folder only this user can read, for clips on their way into an encrypted archive. Folders left by
    an export that was killed (its process is gone) are removed first."""
    base = user_data_dir() / "encrypting"
    base.mkdir(parents=True, exist_ok=True)
    for old in base.iterdir():
        pid = old.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    work = base / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    work.mkdir(mode=0o700)
    return work


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
    recorded_as = report.archive  # with an archive, that is the file given out: withdrawal destroys it
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
                recorded_as=recorded_as,
            )
        except (MediaError, InvalidRequest) as exc:
            report.skipped.append(
                {"clip": p.clip_id, "name": p.clip_name, "version": p.version_number, "why": [_no_path(str(exc), p)]}
            )
            continue
        if "why" in item:
            report.skipped.append(item)
        else:
            report.exported.append(item)


def _no_path(message: str, p: Planned) -> str:
    """A reason for the manifest, which goes out with the clips: the recording's path on this machine (its
    folders and file name may name a family) is not in it."""
    if p.recording_path:
        message = message.removeprefix(f"{p.recording_path}: ")
        for form in (f"file:{p.recording_path}", p.recording_path, Path(p.recording_path).name):
            message = message.replace(form, "the recording")
    return message


def _finish(
    store: Store,
    report: ExportReport,
    scope: str,
    audience: str | None,
    internal_audience: bool,
    expires: date | None,
    on: date,
    archive_passphrase: str | None = None,
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
    with store.session() as s:
        head = anchors.current_head(s)
    if head is not None:  # the chain as it stood when the clips were recorded as given out
        manifest["audit_head"] = head.text
    data = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
    write_atomic(report.manifest, data, make_parents=True)
    digest = sha256_file(report.manifest)
    archived: dict[str, Any] = {}
    if report.archive is not None and archive_passphrase is not None:
        work = report.manifest.parent
        files = [(work / x["output"], x["output"]) for x in report.exported]
        files.append((report.manifest, report.manifest.name))
        archived = {
            "archive": report.archive.name,
            "archive_sha256": write_encrypted_archive(report.archive, files, archive_passphrase),
        }

    def finish(s: Session) -> None:
        audit.append(
            s,
            "export_finished",
            {"export": report.export_id, "manifest": report.manifest.name, "manifest_sha256": digest,
             "exported": [x["clip"] for x in report.exported], "skipped": [x["clip"] for x in report.skipped],
             **archived},
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
    recorded_as: Path | None = None,
) -> dict[str, Any]:
    source = Path(p.recording_path)
    with store.session() as s:
        v = s.get(ClipVersion, p.version_id)
        assert v is not None
    spec = export_spec(v, source, mark, store=store)
    with store.session() as s:  # a person blurred through face tracks: every frame of theirs covered
        check_face_coverage(s, v, spec)
    target = out / export_files.clip_name(export_id, p.clip_id, p.version_number, p.version_hash)
    pending = out / scratch_name(PENDING, ".mp4")  # its final name only once the export is recorded
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
            path=str((recorded_as or target).resolve()),
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
            "render": dict(result.manifest, output=target.name),  # the file delivered, not its pending name
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
        replace_durably(pending, target)
    return item
