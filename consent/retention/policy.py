"""Retention: how long each stored thing may be kept, and what is due for destruction (and why, and since
when). Destroying it is ``consent.retention.destruction``.

A project's policy (``retention_policy``) gives periods: ``recordings`` after they were made (registered in
the store), ``clips`` after their last use, ``exports`` after export for files given out without an expiry
date; and whether annotation documents go with their recording. Without a policy nothing is due by policy.

Every recording, clip version, exported file, export record (and, if the policy says so, annotation document)
gets the date from which it must be destroyed, or none: the earliest of its reasons.

- **recording**: the ``recordings`` period after it was made.
- **clip version**: the ``clips`` period after its last use (its newest export, else when it was made, and
  never before its recording's date); the day after the consent of someone in it ends, when each of their
  grants carries a ``not-after`` condition (no use of the version is consented after that: a renewal is a new
  decision before then); at once when someone in it withdraws; when a later version of its clip is due (the
  current version never goes alone, or an older one would become current); when its recording is due.
- **exported file**: the day after its export expires; without an expiry, the ``exports`` period after the
  export; at once when someone in it withdraws (these three are
  ``consent.retention.withdrawal.destruction_list``, the list a withdrawal prints, reused here); the day
  after the ``not-after`` of a decision it relied on; when its clip version is due. A file destroyed
  earlier with ``consent destroy`` has its record destroyed next.
- **export record** (its row and manifest): when all its files are due (without files: as a file would be).
- **document**: with its recording when the policy says ``with-recording``; else it is kept and unlinked.

Nothing derived outlives what it derives from: an item lists what must be destroyed with it (``needs``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from annotation.store import Document, Project, Recording, Store
from consent import audit
from consent.errors import InvalidRequest
from consent.export import files as export_files
from consent.models import (
    AuditEntry,
    Clip,
    ClipVersion,
    Decision,
    Export,
    ExportItem,
    Participant,
    Presence,
    RetentionPolicy,
)
from consent.retention.periods import Period, parse_period, period_text
from consent.retention.withdrawal import destruction_list_in
from consent.rows import find_project, write
from consent.server import access

DOCUMENTS = ("keep", "with-recording")
KINDS = ("export-item", "export", "version", "document", "recording")
"""What ``destroy`` deletes, in the order it deletes them (dependants first)."""
AUDIT_KINDS = {k: k for k in KINDS} | {"export-item": "export_item", "version": "clip_version"}
"""How the ``destroyed`` audit entries name each kind."""
INHERITED = ("later_version", "recording", "version", "files_due")


# ---------------------------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class Policy:
    project: str
    recordings: Period | None
    clips: Period | None
    exports: Period | None
    documents: str
    stored: bool  # False: the project has never set one (nothing is due by policy)

    def lines(self) -> list[str]:
        return [
            f"recordings  {period_text(self.recordings):<6} after they were made",
            f"clips       {period_text(self.clips):<6} after their last use (or their recording's date)",
            f"exports     {period_text(self.exports):<6} after export, for files given out without --expires",
            f"documents   {self.documents:<6} ({'go with their recording' if self.documents != 'keep' else 'kept'})",
        ]


def _policy_of(p: Project, pol: RetentionPolicy | None) -> Policy:
    if pol is None:
        return Policy(p.name, None, None, None, "keep", False)
    return Policy(
        p.name, parse_period(pol.recordings), parse_period(pol.clips), parse_period(pol.exports), pol.documents, True
    )


def get_policy(store: Store, project: str) -> Policy:
    """The project's retention policy (no limits when it has none).

    Raises:
        UnknownThing: no such project.
    """
    with store.session() as s:
        p = find_project(s, project)
        return _policy_of(p, s.get(RetentionPolicy, p.id))


def policies(store: Store) -> list[Policy]:
    """Every project's policy (``stored`` False where it has none), by project name."""
    with store.session() as s:
        rows = s.execute(
            select(Project, RetentionPolicy)
            .outerjoin(RetentionPolicy, RetentionPolicy.project_id == Project.id)
            .order_by(Project.name)
        ).all()
        return [_policy_of(p, pol) for p, pol in rows]


def set_policy(
    store: Store,
    project: str,
    *,
    recordings: str | None = None,
    clips: str | None = None,
    exports: str | None = None,
    documents: str | None = None,
) -> Policy:
    """Change the periods given (``60m``, ``5y``, ``30d`` or ``keep``) and/or what happens to documents
    (``keep`` or ``with-recording``); the rest stays. Audited (the periods only).

    Raises:
        UnknownThing: no such project.
        InvalidRequest: a period or documents value that is not one.
    """
    given = {"recordings": recordings, "clips": clips, "exports": exports}
    parsed = {k: parse_period(v) for k, v in given.items() if v is not None}
    if documents is not None and documents not in DOCUMENTS:
        raise InvalidRequest(f"documents {documents!r}: use {' or '.join(DOCUMENTS)}")

    def do(s: Session) -> Policy:
        require_researcher(s, "change the retention policy")
        p = find_project(s, project)
        pol = s.get(RetentionPolicy, p.id) or RetentionPolicy(project_id=p.id, documents="keep")
        for k, period in parsed.items():
            setattr(pol, k, None if period is None else str(period))
        if documents is not None:
            pol.documents = documents
        pol.changed_at = datetime.now(UTC)
        s.add(pol)
        s.flush()
        audit.append(
            s,
            "retention_policy",
            {
                "project": p.id,
                "recordings": period_text(parse_period(pol.recordings)),
                "clips": period_text(parse_period(pol.clips)),
                "exports": period_text(parse_period(pol.exports)),
                "documents": pol.documents,
            },
        )
        return _policy_of(p, pol)

    return write(store, do)


def require_researcher(s: Session, what: str) -> None:
    kind = access.caller_kind(s)
    if kind not in access.FULL:
        raise InvalidRequest(f"retention: only a researcher may {what} (connected as {kind or 'an unknown role'})")


# ---------------------------------------------------------------------------------------------- dates


@dataclass(frozen=True)
class Reason:
    since: date
    code: str  # what the audit entry records: policy, consent_ends, withdrawal, expired, export_policy,
    #            later_version, recording, version, files_due, file_destroyed
    text: str  # for the researcher (it may name a pseudonym): never written to the log


@dataclass(frozen=True)
class Item:
    """Something stored, with the date from which it must be destroyed (its earliest reason) or none."""

    kind: str  # one of KINDS
    id: int
    project_id: int | None
    label: str
    reasons: tuple[Reason, ...] = ()  # earliest first
    path: str | None = None  # the file destroyed with it, if any
    fingerprint: str | None = None  # the file's SHA-256, or the version hash
    needs: tuple[str, ...] = ()  # keys of what must be destroyed with it

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def due_on(self) -> date | None:
        return self.reasons[0].since if self.reasons else None

    def is_due(self, on: date) -> bool:
        return self.due_on is not None and self.due_on <= on

    @property
    def why(self) -> str:
        return self.reasons[0].text if self.reasons else "no limit"

    def with_reasons(self, *more: Reason | None) -> Item:
        # on the same day an item's own reason comes before one it inherits
        reasons = sorted(
            [*self.reasons, *(r for r in more if r is not None)], key=lambda r: (r.since, r.code in INHERITED, r.code)
        )
        return replace(self, reasons=tuple(reasons))

    def needing(self, *keys: str) -> Item:
        return replace(self, needs=(*self.needs, *keys))


def _day_after(d: date) -> date:
    return d if d == date.max else d + timedelta(days=1)


def _inherit(code: str, text: str, parent: Item | None) -> Reason | None:
    return None if parent is None or parent.due_on is None else Reason(parent.due_on, code, text)


def _not_after(conds: Iterable[dict[str, Any]]) -> date | None:
    """The earliest ``not_after`` date among a grant's conditions, if it has one."""
    dates = [date.fromisoformat(str(c["date"])) for c in conds if c.get("kind") == "not_after"]
    return min(dates) if dates else None


def schedule(store: Store, *, project: str | None = None) -> list[Item]:
    """Every stored recording, clip version, exported file, export record and (when the policy sends them
    with their recording) document, with the date from which it must be destroyed and why (none: kept
    without limit), in the order destruction takes them (dependants first).

    Raises:
        UnknownThing: no such project.
        InvalidRequest: the connected role is not a researcher.
    """
    with store.session() as s:
        require_researcher(s, "see retention dates")
        return schedule_in(s, None if project is None else find_project(s, project).id)


def due(store: Store, *, project: str | None = None, on: date | None = None) -> list[Item]:
    """What must be destroyed on ``on`` (default today), in destruction order. Nothing is changed.

    Raises:
        UnknownThing: no such project.
        InvalidRequest: the connected role is not a researcher.
    """
    when = on or datetime.now(UTC).date()
    return [i for i in schedule(store, project=project) if i.is_due(when)]


@dataclass
class _World:
    """What the dates are computed from, read once."""

    policies: dict[int, Policy]
    people: dict[int, Participant]
    made: dict[int, date]  # recording id -> when it was made

    def policy(self, project_id: int | None) -> Policy:
        return self.policies.get(project_id or 0) or Policy("", None, None, None, "keep", False)

    def name(self, pid: int) -> str:
        p = self.people.get(pid)
        return p.pseudonym if p is not None else f"participant {pid}"

    def withdrawn(self, pid: int) -> date | None:
        p = self.people.get(pid)
        return None if p is None or p.withdrawn_at is None else p.withdrawn_at.date()


def schedule_in(s: Session, project_id: int | None) -> list[Item]:
    """``schedule`` in the caller's unit of work (``project_id``: only that project's)."""
    policies = {
        p.id: _policy_of(p, pol)
        for p, pol in s.execute(
            select(Project, RetentionPolicy).outerjoin(RetentionPolicy, RetentionPolicy.project_id == Project.id)
        ).all()
    }
    world = _World(policies, {p.id: p for p in s.scalars(select(Participant))}, {})
    recordings = _recordings(s, world, project_id)
    versions = _versions(s, world, project_id, recordings)
    files = _files(s, world, project_id, versions)
    exports = _exports(s, world, project_id, files)
    documents = _documents(s, world, recordings)
    return [
        *files.values(),
        *exports.values(),
        *(versions[k] for k in sorted(versions)),
        *documents.values(),
        *recordings.values(),
    ]


def _recordings(s: Session, world: _World, project_id: int | None) -> dict[int, Item]:
    out = {}
    q = select(Recording).order_by(Recording.id)
    if project_id is not None:
        q = q.where(Recording.project_id == project_id)
    for r in s.scalars(q):
        made = world.made[r.id] = r.created_at.date()
        item = Item(
            "recording", r.id, r.project_id, f"recording {r.id} ({r.name})", path=r.abs_path, fingerprint=r.sha256
        )
        kept = world.policy(r.project_id).recordings
        if kept is not None:
            item = item.with_reasons(
                Reason(
                    kept.after(made), "policy", f"recordings are kept {kept.describe()} after they were made ({made})"
                )
            )
        out[r.id] = item
    return out


def _versions(s: Session, world: _World, project_id: int | None, recordings: dict[int, Item]) -> dict[int, Item]:
    q = (
        select(ClipVersion, Clip.recording_id, Clip.project_id)
        .join(Clip, Clip.id == ClipVersion.clip_id)
        .order_by(ClipVersion.clip_id, ClipVersion.number)
    )
    if project_id is not None:
        q = q.where(Clip.project_id == project_id)
    by_clip: dict[int, list[tuple[ClipVersion, int, int]]] = {}
    for v, rec_id, proj in s.execute(q).all():
        by_clip.setdefault(v.clip_id, []).append((v, rec_id, proj))
    last_use = {
        vid: when.date()
        for vid, when in s.execute(
            select(ExportItem.clip_version_id, func.max(Export.exported_at))
            .join(Export, Export.id == ExportItem.export_id)
            .group_by(ExportItem.clip_version_id)
        )
    }
    present: dict[int, set[int]] = {}
    for vid, pid in s.execute(select(Presence.clip_version_id, Presence.participant_id)):
        present.setdefault(vid, set()).add(pid)
    grants: dict[tuple[int, int], list[Decision]] = {}  # (version, participant) -> latest grants per scope
    latest: dict[tuple[int, int, str], Decision] = {}
    for d in s.scalars(select(Decision).order_by(Decision.id)):
        latest[(d.clip_version_id, d.participant_id, d.scope)] = d
    for (vid, pid, _), d in latest.items():
        if d.decision == "granted":
            grants.setdefault((vid, pid), []).append(d)

    out: dict[int, Item] = {}
    for clip_id, group in by_clip.items():
        later: Reason | None = None
        current = group[-1][0].id
        for v, rec_id, proj in reversed(group):  # newest first: a due version takes the older ones with it
            item = Item(
                "version",
                v.id,
                proj,
                f"clip {clip_id} v{v.number} ({v.version_hash[:12]}) of recording {rec_id}",
                fingerprint=v.version_hash,
                needs=tuple(f"version:{w.id}" for w, _, _ in group if w.id != v.id) if v.id == current else (),
            )
            kept = world.policy(proj).clips
            if kept is not None:
                start, _, what = max(  # the latest of the three (on a tie, the most telling)
                    (world.made.get(rec_id, v.created_at.date()), 0, "the recording's date"),
                    (v.created_at.date(), 1, "it was made"),
                    (last_use.get(v.id, date.min), 2, "its last use"),
                )
                item = item.with_reasons(
                    Reason(kept.after(start), "policy", f"clips are kept {kept.describe()} after {what} ({start})")
                )
            for pid in sorted(present.get(v.id, ())):
                if (w := world.withdrawn(pid)) is not None:
                    item = item.with_reasons(Reason(w, "withdrawal", f"{world.name(pid)} withdrew ({w})"))
                mine = grants.get((v.id, pid), [])
                ends = [_not_after(d.conditions) for d in mine]
                if mine and all(e is not None for e in ends):
                    end = max(e for e in ends if e is not None)
                    item = item.with_reasons(
                        Reason(_day_after(end), "consent_ends", f"{world.name(pid)}'s consent ends after {end}")
                    )
            rec = recordings.get(rec_id)
            item = item.with_reasons(_inherit("recording", f"its recording ({rec_id}) is due", rec), later)
            if item.due_on is not None and (later is None or item.due_on < later.since):
                later = Reason(item.due_on, "later_version", f"a later version (v{v.number}) is due")
            out[v.id] = item
            if rec is not None:
                recordings[rec_id] = recordings[rec_id].needing(item.key)
    return out


def _files(s: Session, world: _World, project_id: int | None, versions: dict[int, Item]) -> dict[int, Item]:
    listed = {t.item_id: t for t in destruction_list_in(s, on=date.max)}
    conditions = {d_id: conds for d_id, conds in s.execute(select(Decision.id, Decision.conditions))}
    # a file belongs to its clip's project: one export may hold clips of several projects (it is recorded
    # under the first one's), and a project's clip versions must find their files
    q = (
        select(ExportItem, Clip.project_id, ClipVersion.clip_id, ClipVersion.number)
        .join(ClipVersion, ClipVersion.id == ExportItem.clip_version_id)
        .join(Clip, Clip.id == ClipVersion.clip_id)
        .order_by(ExportItem.id)
    )
    if project_id is not None:
        q = q.where(Clip.project_id == project_id)
    out: dict[int, Item] = {}
    for x, proj, clip_id, number in s.execute(q).all():
        item = Item(
            "export-item",
            x.id,
            proj,
            f"exported file {Path(x.path).name} (export {x.export_id}, clip {clip_id} v{number})",
            path=x.path if x.destroyed_at is None else None,
            fingerprint=x.output_sha256,
        )
        if x.destroyed_at is not None:
            gone = x.destroyed_at.date()
            item = item.with_reasons(
                Reason(gone, "file_destroyed", f"its file was destroyed on {gone}; the record follows")
            )
        elif (t := listed.get(x.id)) is not None and t.since is not None:
            item = item.with_reasons(Reason(t.since, t.cause or "expired", t.why))
        ends = [e for i in x.decision_ids if (e := _not_after(conditions.get(int(i), []))) is not None]
        if ends:
            item = item.with_reasons(
                Reason(_day_after(min(ends)), "consent_ends", f"the consent it relied on ends after {min(ends)}")
            )
        version = versions.get(x.clip_version_id)
        item = item.with_reasons(_inherit("version", "its clip version is due", version))
        if version is not None:
            versions[version.id] = version.needing(item.key)
        out[x.id] = item
    return out


def _exports(s: Session, world: _World, project_id: int | None, files: dict[int, Item]) -> dict[int, Item]:
    manifests: dict[int, tuple[str, str]] = {}
    # the export row does not keep its manifest's name: the log does. The first entry for an export is the
    # gate's own; a name that is not one the gate gives that export's manifest is not taken (on a shared
    # server a presenter appends these entries, with any client, and the file named would be deleted)
    for payload in s.scalars(
        select(AuditEntry.payload).where(AuditEntry.event == "export_finished").order_by(AuditEntry.id)
    ):
        try:
            body = json.loads(payload)
            export_id, name, digest = int(body["export"]), str(body["manifest"]), str(body["manifest_sha256"])
        except (ValueError, TypeError, KeyError):
            continue
        if export_id not in manifests and export_files.is_manifest_name(name, export_id):
            manifests[export_id] = (name, digest)
    per_export: dict[int, list[int]] = {}
    for item_id, export_id in s.execute(select(ExportItem.id, ExportItem.export_id)):
        per_export.setdefault(export_id, []).append(item_id)
    q = select(Export).order_by(Export.id)
    if project_id is not None:
        holds_mine = (
            select(ExportItem.export_id)
            .join(ClipVersion, ClipVersion.id == ExportItem.clip_version_id)
            .join(Clip, Clip.id == ClipVersion.clip_id)
            .where(Clip.project_id == project_id)
        )
        q = q.where(or_(Export.project_id == project_id, Export.id.in_(holds_mine)))
    out: dict[int, Item] = {}
    for e in s.scalars(q):
        manifest = manifests.get(e.id)
        item = Item(
            "export",
            e.id,
            e.project_id,
            f"export {e.id} record and manifest",
            path=str(Path(e.folder) / manifest[0]) if manifest else None,
            fingerprint=manifest[1] if manifest else None,
            needs=tuple(f"export-item:{i}" for i in sorted(per_export.get(e.id, ()))),
        )
        mine = [files[i] for i in per_export.get(e.id, ()) if i in files]
        kept = world.policy(e.project_id).exports
        if per_export.get(e.id):
            ends = [f.due_on for f in mine]
            if mine and len(mine) == len(per_export[e.id]) and all(d is not None for d in ends):
                item = item.with_reasons(
                    Reason(max(d for d in ends if d is not None), "files_due", "its files are all due")
                )
        elif e.expires:
            until = date.fromisoformat(e.expires)
            item = item.with_reasons(Reason(_day_after(until), "expired", f"expired {until}"))
        elif kept is not None:
            item = item.with_reasons(
                Reason(
                    kept.after(e.exported_at.date()),
                    "export_policy",
                    f"kept {kept.describe()} after export (project policy)",
                )
            )
        out[e.id] = item
    return out


def _documents(s: Session, world: _World, recordings: dict[int, Item]) -> dict[int, Item]:
    """Documents coded from a recording, when the project's policy sends them with it."""
    out: dict[int, Item] = {}
    going = [r for r in recordings.values() if world.policy(r.project_id).documents == "with-recording"]
    if not going:
        return out
    for doc_id, doc_name, rec_id in s.execute(
        select(Document.id, Document.name, Document.recording_id)
        .where(Document.recording_id.in_([r.id for r in going]))
        .order_by(Document.id)
    ):
        rec = recordings[rec_id or 0]
        out[doc_id] = Item("document", doc_id, rec.project_id, f"document {doc_id} ({doc_name})").with_reasons(
            _inherit("recording", f"its recording ({rec_id}) is due and documents go with it", rec)
        )
        recordings[rec.id] = rec.needing(f"document:{doc_id}")
    return out
