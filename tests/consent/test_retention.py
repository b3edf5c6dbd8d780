"""Retention and destruction on SQLite and PostgreSQL: dates from the policy and from consent, what is due and
why, destruction of files and rows with one audit entry each, the append-only rules that still hold, the
roles that may not destroy, backups that still hold what was destroyed, and the command line.

The recordings destroyed here are private copies of the generated recording (the session's own file is
shared with other tests and is never destroyed).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from annotation.errors import AccessDenied
from annotation.schema import Base  # every table of annotation (the counts cover them all)
from annotation.services import add_recording, ensure_project, new_document
from annotation.store.engine import Store, schema_revision, upgrade_schema
from annotation.store.tables import Document, Recording
from app.cli.main import main
from consent import audit
from consent.clips import VersionInfo, create_clip, edit_clip
from consent.decisions import record_decision
from consent.errors import InvalidRequest, UnknownThing
from consent.export.gate import export_clips
from consent.models import AuditEntry, ClipVersion, Decision, DestructionPermit, Participant
from consent.participants import add_appearance, add_participant, set_policy
from consent.retention import destruction
from consent.retention import policy as retention
from consent.retention.destruction import confirm_destroyed
from consent.retention.periods import Period, add_months, parse_period
from consent.retention.withdrawal import destruction_list, withdraw
from consent.server import access, roles
from media_tools import cache
from media_tools.files import sha256_file
from media_tools.frames import thumbnails
from media_tools.probe import probe
from media_tools.synth import make_test_recording
from tests.fixtures.team import ME, OTHER, Team

PROJECT = "Retention study"
OTHER_PROJECT = "Other study"
ALPHA, BRAVO, CHARLIE = "Worker Alpha", "Manager Bravo", "Admin Charlie"
TODAY = datetime.now(UTC).date()
FAR = date(2099, 12, 31)


@dataclass
class Site:
    store: Store
    r1: int  # in PROJECT: Alpha 0-12 s, Bravo 0-6 s
    r2: int  # in OTHER_PROJECT: Charlie
    media1: Path
    media2: Path
    x: VersionInfo  # clip of r1 with Alpha and Bravo (two versions)
    y: VersionInfo  # clip of r1 with Alpha only
    z: VersionInfo  # clip of r2 with Charlie
    out: Path
    doc: int  # a document coded from r1


def _register(store: Store, project: str, media: Path) -> int:
    info = probe(media)
    pid = ensure_project(store, project)
    return add_recording(store, pid, media, duration_ms=info.duration_ms, fps=info.fps, mime_type=info.mime_type)


def _grant_all(store: Store, v: VersionInfo, scope: str = "internal_training", conds: tuple[str, ...] = ()) -> None:
    for who in v.present:
        record_decision(store, v.clip_id, who, scope, "granted", condition_texts=conds, version_hash=v.version_hash)


@pytest.fixture(scope="session")
def second_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another recording (other bytes, so another SHA-256 and other cache entries)."""
    return make_test_recording(
        tmp_path_factory.mktemp("retention") / "two.mp4", seconds=12, size="320x180", tone_hz=660
    )


@pytest.fixture
def site(
    store: Store, duty_recording: Path, second_recording: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Site:
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    (tmp_path / "media").mkdir()
    media1 = Path(shutil.copy(duty_recording, tmp_path / "media" / "duty room one.mp4"))
    media2 = Path(shutil.copy(second_recording, tmp_path / "media" / "duty room two.mp4"))
    r1 = _register(store, PROJECT, media1)
    r2 = _register(store, OTHER_PROJECT, media2)
    set_policy(store, PROJECT, keep_real_names=True)
    add_participant(store, PROJECT, ALPHA, real_name="Alice Realname", contact="alice@example.org")
    add_participant(store, PROJECT, BRAVO)
    add_participant(store, OTHER_PROJECT, CHARLIE)
    add_appearance(store, ALPHA, r1, 0, 12_000)
    add_appearance(store, BRAVO, r1, 0, 6_000)
    add_appearance(store, CHARLIE, r2, 0, 12_000)
    x1 = create_clip(store, r1, 1, 3, name="Secret clip name about a school nurse")
    x = edit_clip(store, x1.clip_id, end=3.5, reason="tighter cut")
    y = create_clip(store, r1, 8, 10, name="Later call")
    z = create_clip(store, r2, 1, 3, name="Other project call")
    for v in (x, y, z):
        _grant_all(store, v)
    out = tmp_path / "exports"
    out.mkdir()
    doc = new_document(store, "referral", name="Coding of duty room one", recording_id=r1)
    return Site(store, r1, r2, media1, media2, x, y, z, out, doc)


def _counts(store: Store) -> dict[str, int]:
    with store.session() as s:
        return {
            t.name: int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in Base.metadata.sorted_tables
            if t.name not in ("consent_lock",)
        }


def _destroyed_entries(store: Store) -> list[tuple[AuditEntry, dict[str, object]]]:
    with store.session() as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.event == "destroyed").order_by(AuditEntry.id)))
    return [(e, json.loads(e.payload)) for e in rows]


def _check(store: Store) -> str | None:
    with store.session() as s:
        problem = audit.check(s)
        db_problem = access.records_problem(s)
    assert (problem and problem.message) == (db_problem and db_problem.message)
    return None if problem is None else problem.message


def _by_key(items: list[retention.Item]) -> dict[str, retention.Item]:
    return {i.key: i for i in items}


# ---------------------------------------------------------------------------------------------- periods


def test_periods_count_calendar_months_and_never_end_late() -> None:
    assert parse_period("60m") == Period(60, "m") and parse_period(" 5Y ") == Period(5, "y")
    assert parse_period("keep") is None and parse_period(None) is None
    assert Period(1, "m").after(date(2027, 1, 31)) == date(2027, 2, 28)
    assert Period(1, "m").after(date(2028, 1, 31)) == date(2028, 2, 29)
    assert Period(2, "y").after(date(2028, 2, 29)) == date(2030, 2, 28)
    assert Period(30, "d").after(date(2027, 1, 15)) == date(2027, 2, 14)
    assert add_months(date(2027, 12, 15), 1) == date(2028, 1, 15)
    for bad in ("6x", "m", "-1m", "1.5y", "101y"):
        with pytest.raises(InvalidRequest, match="period"):
            parse_period(bad)


# ---------------------------------------------------------------------------------------------- dates


def test_dates_come_from_the_policy_and_from_consent(site: Site) -> None:
    st = site.store
    expires = TODAY + timedelta(days=200)
    export_clips(st, "internal_training", site.out, recording_id=site.r1, expires=expires)
    # no policy: only the export's own expiry makes anything due
    items = _by_key(retention.schedule(st, project=PROJECT))
    assert items["recording:1"].due_on is None and items["recording:1"].why == "no limit"
    assert items["export-item:1"].due_on == expires + timedelta(days=1)
    assert items["export-item:1"].reasons[0].code == "expired"
    assert items[f"version:{site.x.version_id}"].due_on is None

    retention.set_policy(st, PROJECT, recordings="60m", clips="24m", exports="12m")
    items = _by_key(retention.schedule(st, project=PROJECT))
    assert items["recording:1"].due_on == add_months(TODAY, 60)
    assert items[f"version:{site.y.version_id}"].due_on == add_months(TODAY, 24)  # last used today
    assert "after its last use" in items[f"version:{site.y.version_id}"].why
    assert items["export-item:1"].due_on == expires + timedelta(days=1)  # the expiry comes first
    assert items["export:1"].due_on == expires + timedelta(days=1)
    assert items["export:1"].why == "its files are all due"

    # a grant that ends: the version goes the day after the last use consented, its older version with it,
    # and so do its exports (which had to expire by then anyway)
    ends = TODAY + timedelta(days=30)
    record_decision(st, site.x.clip_id, ALPHA, "internal_training", "granted", condition_texts=[f"not-after:{ends}"])
    export_clips(st, "research_team", site.out, recording_id=site.r1, clip_ids=[site.y.clip_id])  # no --expires
    items = _by_key(retention.schedule(st, project=PROJECT))
    current = items[f"version:{site.x.version_id}"]
    assert current.due_on == ends + timedelta(days=1)
    assert (current.reasons[0].code, current.why) == ("consent_ends", f"{ALPHA}'s consent ends after {ends}")
    older = items[f"version:{site.x.version_id - 1}"]
    assert older.due_on == ends + timedelta(days=1) and older.reasons[0].code == "later_version"
    assert set(current.needs) >= {f"version:{site.x.version_id - 1}"}
    x_file = next(i for i in items.values() if i.kind == "export-item" and f"clip {site.x.clip_id} " in i.label)
    assert x_file.due_on == ends + timedelta(days=1) and x_file.why == "its clip version is due"
    # an export without --expires: the policy's 12 months
    y_file = max((i for i in items.values() if i.kind == "export-item"), key=lambda i: i.id)
    assert y_file.due_on == add_months(TODAY, 12) and y_file.reasons[0].code == "export_policy"

    # an old recording: due by policy, and everything cut from it goes with it (no earlier than its own date)
    with st.session() as s:
        s.execute(
            Recording.__table__.update()
            .where(Recording.id == site.r1)
            .values(created_at=datetime(2020, 1, 15, tzinfo=UTC))
        )
    items = _by_key(retention.schedule(st, project=PROJECT))
    assert items["recording:1"].due_on == date(2025, 1, 15)
    y = items[f"version:{site.y.version_id}"]
    assert (y.due_on, y.reasons[0].code) == (date(2025, 1, 15), "recording")
    assert {f"version:{site.x.version_id}", f"version:{site.y.version_id}"} <= set(items["recording:1"].needs)
    # the other project has no policy: nothing of it has a date
    other = _by_key(retention.schedule(st, project=OTHER_PROJECT))
    assert {k: i.due_on for k, i in other.items()} == {"version:4": None, "recording:2": None}


def test_due_on_a_date_lists_exactly_what_is_due_with_reasons(site: Site) -> None:
    st = site.store
    retention.set_policy(st, PROJECT, recordings="5y", clips="1y")
    retention.set_policy(st, OTHER_PROJECT, recordings="2y")
    expires = TODAY + timedelta(days=90)
    export_clips(st, "internal_training", site.out, recording_id=site.r1, expires=expires)

    assert retention.due(st, on=TODAY) == []
    assert [i.key for i in retention.due(st, on=expires)] == []
    on = expires + timedelta(days=1)
    assert [(i.key, i.due_on, i.why) for i in retention.due(st, on=on)] == [
        ("export-item:1", on, f"expired {expires}"),
        ("export-item:2", on, f"expired {expires}"),
        ("export:1", on, "its files are all due"),
    ]
    year = add_months(TODAY, 12)
    assert [i.key for i in retention.due(st, on=year)] == [
        "export-item:1",
        "export-item:2",
        "export:1",
        f"version:{site.x.version_id - 1}",
        f"version:{site.x.version_id}",
        f"version:{site.y.version_id}",
    ]
    two = add_months(TODAY, 24)
    assert [i.key for i in retention.due(st, on=two, project=OTHER_PROJECT)] == [
        f"version:{site.z.version_id}",
        "recording:2",
    ]
    assert retention.due(st, on=two, project=OTHER_PROJECT)[0].why == "its recording (2) is due"
    # nothing was changed by asking
    assert len(retention.schedule(st)) == 9


def test_a_withdrawn_participants_clips_and_exports_are_due_at_once(site: Site) -> None:
    st = site.store
    export_clips(st, "internal_training", site.out, recording_id=site.r1, expires=FAR)
    todo = withdraw(st, BRAVO)
    assert [t.item_id for t in todo] == [1] and todo[0].since == TODAY and todo[0].cause == "withdrawal"
    due = retention.due(st)
    assert [(i.key, i.reasons[0].code) for i in due] == [
        ("export-item:1", "withdrawal"),
        (f"version:{site.x.version_id - 1}", "withdrawal"),
        (f"version:{site.x.version_id}", "withdrawal"),
    ]
    assert due[0].why == f"{BRAVO} withdrew" and due[2].why == f"{BRAVO} withdrew ({TODAY})"
    # the list a withdrawal prints is the same for the file
    assert [t.item_id for t in destruction_list(st)] == [1]


def test_one_export_of_two_projects_is_destroyed_project_by_project(site: Site) -> None:
    """An export of every clip is recorded under the first clip's project; the file of another project's clip
    is that project's to destroy (found by review: 'due --project' left it out, and 'destroy --project'
    stopped with 'exported again since it was listed')."""
    st = site.store
    report = export_clips(st, "internal_training", site.out, expires=FAR)
    z_file = next(x for x in report.exported if x["clip"] == site.z.clip_id)
    withdraw(st, CHARLIE)  # in z only
    due = [i.key for i in retention.due(st, project=OTHER_PROJECT)]
    assert due == [f"export-item:{z_file['export_item']}", f"version:{site.z.version_id}"]
    assert [i.key for i in retention.due(st, project=PROJECT)] == []
    done = destruction.destroy(st, project=OTHER_PROJECT)
    assert [i.key for i in done.items] == due and not (site.out / z_file["output"]).exists()
    assert all((site.out / x["output"]).exists() for x in report.exported if x is not z_file)
    assert [i.key for i in retention.due(st)] == [] and _check(st) is None
    # the export's record goes with its last file, whichever project that file is of
    withdraw(st, ALPHA)
    withdraw(st, BRAVO)
    assert f"export:{report.export_id}" in [i.key for i in retention.due(st, project=PROJECT)]
    destruction.destroy(st, project=PROJECT)
    assert [i.key for i in retention.due(st)] == [] and _check(st) is None


def test_expired_exports_join_the_destruction_list(site: Site) -> None:
    st = site.store
    expires = TODAY + timedelta(days=10)
    export_clips(st, "internal_training", site.out, recording_id=site.r1, expires=expires)
    export_clips(st, "internal_training", site.out, recording_id=site.r2)  # no expiry, no policy yet
    assert destruction_list(st) == []
    late = destruction_list(st, on=expires + timedelta(days=1))
    assert [(t.item_id, t.why, t.since) for t in late] == [
        (1, f"expired {expires}", expires + timedelta(days=1)),
        (2, f"expired {expires}", expires + timedelta(days=1)),
    ]
    retention.set_policy(st, OTHER_PROJECT, exports="6m")
    later = destruction_list(st, on=add_months(TODAY, 6))
    assert [(t.item_id, t.why, t.cause) for t in later][-1] == (
        3,
        "kept 6 months after export (project policy)",
        "export_policy",
    )


# ---------------------------------------------------------------------------------------------- destruction


def test_destruction_removes_files_and_rows_and_leaves_one_entry_each(site: Site) -> None:
    st = site.store
    export_clips(st, "internal_training", site.out, recording_id=site.r1, expires=FAR)
    export_clips(st, "internal_training", site.out, recording_id=site.r2, expires=FAR)
    files = {p.name for p in site.out.iterdir()}
    x_file = next(site.out.glob(f"e1-clip{site.x.clip_id}-*.mp4"))
    thumbnails(site.media1, [1.0])  # cached by the recording's hash
    digest1 = cache.file_hash(site.media1)
    assert list((cache.cache_dir() / "thumbnail").rglob(f"{digest1}*"))

    # 1. Bravo withdraws: clip X (both versions, its decisions) and its exported file go, nothing else
    withdraw(st, BRAVO)
    before = _counts(st)
    with st.session() as s:
        x_decisions = s.scalar(
            select(func.count()).select_from(Decision).join(ClipVersion).where(ClipVersion.clip_id == site.x.clip_id)
        )
        x_presence = 4  # Alpha and Bravo in two versions
    done = destruction.destroy(st)
    assert [i.key for i in done.items] == [
        "export-item:1",
        f"version:{site.x.version_id - 1}",
        f"version:{site.x.version_id}",
    ]
    assert done.files_deleted == [str(x_file)] and not x_file.exists()
    assert {p.name for p in site.out.iterdir()} == files - {x_file.name}
    after = _counts(st)
    changed = {t: after[t] - before[t] for t in before if after[t] != before[t]}
    assert changed == {
        "export_item": -1,
        "clip": -1,
        "clip_version": -2,
        "decision": -x_decisions,
        "presence": -x_presence,
        "audit_log": 3,
        **({"audit_anchor": 3} if st.dialect == "postgresql" else {}),  # each entry's head, kept by the server
    }
    assert _check(st) is None
    assert destruction.destroy(st).items == []  # nothing is due twice

    # 2. the project keeps recordings 0 days: recording 1 and all that is left of it go; its document stays
    retention.set_policy(st, PROJECT, recordings="0d")
    before = _counts(st)
    done = destruction.destroy(st)
    assert [i.key for i in done.items] == [
        "export-item:2",
        "export:1",
        f"version:{site.y.version_id}",
        "recording:1",
    ]
    assert not site.media1.exists() and site.media2.exists()
    assert not list((cache.cache_dir() / "thumbnail").rglob(f"{digest1}*"))
    assert not list((cache.cache_dir() / "probe").rglob(f"{digest1}*"))
    assert digest1 not in {f.read_text() for f in (cache.cache_dir() / "hashes").rglob("*") if f.is_file()}
    assert list((cache.cache_dir() / "probe").rglob(f"{cache.file_hash(site.media2)}*"))  # the other's stays
    assert not list(site.out.glob("manifest-1-*")) and list(site.out.glob("manifest-2-*"))
    assert {p.name for p in site.out.glob("*.mp4")} == {f"e2-clip{site.z.clip_id}-v1-{site.z.version_hash[:10]}.mp4"}
    after = _counts(st)
    changed = {t: after[t] - before[t] for t in before if after[t] != before[t]}
    assert changed.pop("audit_log") == 4 + 1  # one per item, and Alpha's real name and contact cleared
    assert changed.pop("audit_anchor", 0) == (5 if st.dialect == "postgresql" else 0)  # the server's heads
    assert changed == {
        "export_item": -1,
        "export": -1,
        "clip": -1,
        "clip_version": -1,
        "decision": -1,
        "presence": -1,
        "recording": -1,
        "appearance": -2,
    }
    with st.session() as s:
        doc = s.get(Document, site.doc)
        assert doc is not None and doc.recording_id is None  # the coding stays, unlinked
        alpha = s.scalar(select(Participant).where(Participant.pseudonym == ALPHA))
        assert alpha is not None and (alpha.real_name, alpha.contact) == (None, None)
        assert s.scalar(select(func.count()).select_from(DestructionPermit)) == 0
    assert done.pseudonymised == [alpha.id]

    # exactly one entry per destroyed item, with kinds, ids and hashes but no names or text
    entries = _destroyed_entries(st)
    assert [(b["kind"], b["id"]) for _, b in entries] == [
        ("export_item", 1),
        ("clip_version", site.x.version_id - 1),
        ("clip_version", site.x.version_id),
        ("export_item", 2),
        ("export", 1),
        ("clip_version", site.y.version_id),
        ("recording", 1),
    ]
    for e, body in entries:
        assert e.actor == "researcher" and e.participant_id is None
        assert body["due_since"] == TODAY.isoformat() and body["reason"]
        for secret in (ALPHA, BRAVO, "Alice", "Secret clip", "Later call", "duty room", "Coding of", str(site.out)):
            assert secret not in e.payload
    assert entries[2][1]["decision_ids"] and entries[2][1]["clip_removed"] is True
    assert entries[6][1]["sha256"] == digest1 and entries[6][1]["documents_unlinked"] == [site.doc]
    with st.session() as s:
        assert audit.verify(s) is None
    assert _check(st) is None
    assert main(["--db", st.engine.url.render_as_string(hide_password=False), "audit", "verify"]) == 0

    # the gate still works for what is left
    report = export_clips(st, "internal_training", site.out, recording_id=site.r2)
    assert [x["clip"] for x in report.exported] == [site.z.clip_id]


def test_an_encrypted_archive_goes_whole_and_its_other_clips_are_marked_destroyed(site: Site) -> None:
    st = site.store
    report = export_clips(st, "internal_training", site.out, recording_id=site.r1, archive_passphrase="p" * 16)
    assert report.archive is not None and len(report.exported) == 2
    withdraw(st, BRAVO)  # in clip X only: its file is the archive, which holds clip Y too
    done = destruction.destroy(st)
    assert done.items[0].key == "export-item:1" and done.files_deleted == [str(report.archive)]
    assert not report.archive.exists()
    with st.session() as s:
        last = list(s.scalars(select(AuditEntry).where(AuditEntry.event == "destruction")))
    assert [json.loads(e.payload)["export_item"] for e in last] == [2]
    left = _by_key(retention.due(st))
    assert left["export-item:2"].why == f"its file was destroyed on {TODAY}; the record follows"
    done = destruction.destroy(st)
    assert [i.key for i in done.items] == ["export-item:2", "export:1"] and done.files_deleted == []
    assert _destroyed_entries(st)[-2][1]["file"] == "destroyed_before"
    assert _check(st) is None


def test_documents_go_with_their_recording_when_the_policy_says_so(site: Site) -> None:
    st = site.store
    retention.set_policy(st, PROJECT, recordings="0d", documents="with-recording")
    keys = [i.key for i in retention.due(st)]
    assert keys[-2:] == [f"document:{site.doc}", "recording:1"]
    destruction.destroy(st)
    with st.session() as s:
        assert s.get(Document, site.doc) is None
    assert [b["kind"] for _, b in _destroyed_entries(st)][-2:] == ["document", "recording"]
    assert _check(st) is None


def test_face_tracks_go_with_their_recording(site: Site) -> None:
    from annotation.faces import FaceScan, detect_recording

    st = site.store
    detect_recording(st, site.r1)
    detect_recording(st, site.r2)
    retention.set_policy(st, PROJECT, recordings="0d")
    assert f"recording:{site.r1}" in [i.key for i in retention.due(st)]
    destruction.destroy(st)
    with st.session() as s:
        kept = set(s.scalars(select(FaceScan.recording_sha256)))
    assert kept == {sha256_file(site.media2)}  # the other project's recording keeps its tracks


def test_a_dry_run_changes_nothing(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    st = site.store
    export_clips(st, "internal_training", site.out, recording_id=site.r1, expires=FAR)
    withdraw(st, BRAVO)
    retention.set_policy(st, PROJECT, recordings="0d")
    before, files = _counts(st), sorted(site.out.iterdir())
    planned = destruction.plan(st)
    assert [i.key for i in planned][-1] == "recording:1"
    url = st.engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "retention", "destroy"]) == 0
    out = capsys.readouterr().out
    assert f"would destroy {len(planned)} item(s):" in out and "nothing was destroyed (a dry run)" in out
    assert main(["--db", url, "retention", "due"]) == 0
    assert "nothing was destroyed" in capsys.readouterr().out
    assert _counts(st) == before and sorted(site.out.iterdir()) == files and site.media1.exists()
    # only what is asked for, and what must go with it
    only = destruction.plan(st, keys=[f"version:{site.x.version_id}"])
    assert [i.key for i in only] == [
        "export-item:1",
        f"version:{site.x.version_id - 1}",
        f"version:{site.x.version_id}",
    ]


def test_the_append_only_rules_still_refuse_everything_else(site: Site) -> None:
    st = site.store
    v = site.y.version_id
    statements = (
        f"DELETE FROM decision WHERE clip_version_id = {v}",
        f"DELETE FROM clip_version WHERE id = {v}",
        "DELETE FROM clip_version",
        f"UPDATE decision SET decision = 'withheld' WHERE clip_version_id = {v}",
        f"UPDATE clip_version SET reason = 'x' WHERE id = {v}",
        "DELETE FROM audit_log",
    )
    for sql in statements:
        with pytest.raises(DBAPIError, match="rows are never"), st.engine.begin() as conn:
            conn.execute(text(sql))
    # a permit that names no 'destroyed' entry about the clip is no permit
    with st.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO destruction_permit (kind, row_id, audit_id) VALUES ('clip_version', :v, 1)"), {"v": v}
        )
    for sql in statements[:2] + statements[3:5]:
        with pytest.raises(DBAPIError, match="rows are never"), st.engine.begin() as conn:
            conn.execute(text(sql))
    # one that names such an entry (written here by hand, left over from another transaction) lets no
    # update through, nor a delete of another version; on PostgreSQL not even the deletes of its version
    with st.session() as s:
        entry = audit.append(s, "destroyed", {"kind": "clip_version", "id": v}, clip_id=site.y.clip_id)
        s.execute(text("DELETE FROM destruction_permit"))
        s.execute(
            text("INSERT INTO destruction_permit (kind, row_id, audit_id) VALUES ('clip_version', :v, :a)"),
            {"v": v, "a": entry.id},
        )
    if st.dialect == "postgresql":  # the permit was of another transaction: refused there too
        with pytest.raises(DBAPIError, match="rows are never"), st.engine.begin() as conn:
            conn.execute(text(f"DELETE FROM decision WHERE clip_version_id = {v}"))
    for sql in (*statements[3:5], f"DELETE FROM decision WHERE clip_version_id = {site.x.version_id}"):
        with pytest.raises(DBAPIError, match="rows are never"), st.engine.begin() as conn:
            conn.execute(text(sql))
    assert _counts(st)["decision"] == 4


def test_the_audit_check_knows_destroyed_rows_from_tampering(site: Site) -> None:
    st = site.store
    withdraw(st, BRAVO)
    with st.session() as s:
        gone = list(s.scalars(select(Decision.id).join(ClipVersion).where(ClipVersion.clip_id == site.x.clip_id)))
    destruction.destroy(st)
    assert _check(st) is None
    entry = next(e.id for e, b in _destroyed_entries(st) if b["id"] == site.x.version_id)
    # a decision recorded as destroyed put back behind Frontdoor's back is found
    with st.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO decision (id, clip_version_id, participant_id, scope, decision, conditions, method, "
                "recorded_by, recorded_at) VALUES (:d, :v, 1, 'internal_training', 'granted', '[]', 'in_app', 'x', "
                ":t)"
            ),
            {"d": gone[-1], "v": site.y.version_id, "t": datetime.now(UTC)},
        )
    assert _check(st) == f"decision {gone[-1]}: recorded as destroyed in audit entry {entry} but still stored"


def test_a_file_that_cannot_be_deleted_stops_the_destruction_with_nothing_recorded(site: Site) -> None:
    st = site.store
    retention.set_policy(st, PROJECT, recordings="0d")
    before = _counts(st)
    aside = site.media1.with_name("aside.mp4")
    site.media1.rename(aside)
    site.media1.mkdir()  # something at its path that unlink refuses
    (site.media1 / "x").write_bytes(b"x")
    with pytest.raises(
        InvalidRequest, match=r"duty room one\.mp4: cannot be deleted \(.*\); the records are unchanged"
    ):
        destruction.destroy(st)
    assert _counts(st) == before
    shutil.rmtree(site.media1)
    aside.rename(site.media1)
    assert [i.key for i in destruction.destroy(st).items][-1] == "recording:1" and not site.media1.exists()
    assert _check(st) is None


def test_sqlite_overwrites_what_it_destroys(site: Site) -> None:
    if site.store.dialect != "sqlite":
        pytest.skip("SQLite's own files")
    st = site.store
    assert st.path is not None
    withdraw(st, BRAVO)
    destruction.destroy(st)
    raw = st.path.read_bytes() + Path(f"{st.path}-wal").read_bytes()
    assert b"Secret clip name" not in raw
    assert b"Later call" in raw  # what was not destroyed is still there, in the same file


# ---------------------------------------------------------------------------------------------- backups


def test_backups_made_before_a_destruction_are_listed_and_replaced(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    from annotation.backup.catalogue import list_backups
    from annotation.backup.rolling import make_backup

    st = site.store
    if st.dialect == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("no pg_dump")
    old = make_backup(st)
    url = st.engine.url.render_as_string(hide_password=False)
    assert destruction.stale_backups(st) == []
    withdraw(st, BRAVO)
    destruction.destroy(st)
    assert [b.path for b in destruction.stale_backups(st)] == [old.path]
    assert main(["--db", url, "retention", "due"]) == 0
    out = capsys.readouterr().out
    assert "1 backup(s) made before the last destruction still hold what it destroyed:" in out and str(old.path) in out
    assert main(["--db", url, "retention", "destroy", "--including-backups", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "fresh backup:" in out and "1 older backup(s) deleted" in out
    assert not old.path.exists() and [b.path for b in list_backups(url)] != [old.path]
    assert destruction.stale_backups(st) == []
    assert _destroyed_entries(st)[-1][1]["kind"] == "backup"
    assert _check(st) is None


# ---------------------------------------------------------------------------------------------- roles


def test_only_a_researcher_destroys_and_no_other_role_forges_a_permit(team: Team) -> None:
    o = team.owner
    record_decision(o, team.both.clip_id, ME, "research_team", "granted")
    record_decision(o, team.not_mine.clip_id, OTHER, "research_team", "withheld")
    withdraw(o, OTHER)  # both clips show Other: their versions and decisions are due at once
    due = [i.key for i in retention.due(o)]
    assert due == [f"version:{team.both.version_id}", f"version:{team.not_mine.version_id}"]
    attempts = (
        "SELECT count(*) FROM destruction_permit",
        "INSERT INTO destruction_permit (kind, row_id, audit_id) VALUES ('clip_version', 1, 1)",
        "SELECT count(*) FROM retention_policy",
        "INSERT INTO retention_policy (project_id, documents, changed_at) VALUES (1, 'keep', now())",
        "DELETE FROM decision",
        "DELETE FROM clip_version",
    )
    for kind in ("presenter", "auditor", "reviewer"):
        st = team.as_(kind)
        with pytest.raises((InvalidRequest, AccessDenied), match=r"only a researcher|access denied"):
            destruction.destroy(st)
        with pytest.raises((InvalidRequest, AccessDenied)):
            retention.due(st)
        for sql in attempts:
            with pytest.raises(AccessDenied):
                team.raw(st, sql)
    assert main(["--db", team.urls["presenter"], "retention", "destroy", "--yes"]) == 2

    # grants given by mistake do not help: the policy refuses the permit, the trigger the delete
    with o.engine.begin() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        group = roles.group_name(team.prefix, "presenter")
        conn.exec_driver_sql(f'GRANT SELECT, INSERT ON "{schema}".destruction_permit TO "{group}"')
        conn.exec_driver_sql(f'GRANT SELECT, DELETE ON "{schema}".decision, "{schema}".clip_version TO "{group}"')
        seq = conn.execute(text("SELECT pg_get_serial_sequence('destruction_permit', 'id')")).scalar_one()
        conn.exec_driver_sql(f'GRANT USAGE ON SEQUENCE {seq} TO "{group}"')
    pr = team.as_("presenter")
    assert team.raw(pr, "SELECT count(*) FROM destruction_permit") == [(0,)]
    with pytest.raises(AccessDenied, match="row-level security"):
        team.raw(pr, "INSERT INTO destruction_permit (kind, row_id, audit_id) VALUES ('clip_version', :v, 1)",
                 v=team.both.version_id)  # fmt: skip
    for table, column in (("decision", "clip_version_id"), ("clip_version", "id")):
        with pytest.raises(IntegrityError, match="never changed"):
            team.raw(pr, f"DELETE FROM {table} WHERE {column} = :v", v=team.both.version_id)

    # the researcher destroys; the database's own audit check, as an auditor runs it, agrees
    rs = team.as_("researcher")
    done = destruction.destroy(rs)
    assert [i.key for i in done.items] == due and done.files_deleted == []
    assert team.raw(o, "SELECT count(*) FROM decision") == [(0,)]
    assert [b["decision_ids"] for _, b in _destroyed_entries(o)] == [[1], [2]]
    assert team.raw(rs, "SELECT count(*) FROM clip_version") == [(0,)]
    assert team.raw(rs, "SELECT count(*) FROM destruction_permit") == [(0,)]
    with rs.session() as s:
        assert audit.check(s) is None
    with team.as_("auditor").session() as s:
        assert access.records_problem(s) is None
    assert main(["--db", team.urls["auditor"], "audit", "verify"]) == 0
    assert team.media.exists()  # the shared recording was not due


def test_a_presenters_records_never_get_a_researchers_file_deleted(team: Team, tmp_path: Path) -> None:
    """A presenter writes export records with any client: an expired export whose item, or whose
    ``export_finished`` entry, names a file the gate never writes (the store, a recording) leaves that file
    where it is when the researcher destroys what is due (found by review: it was deleted)."""
    precious = tmp_path / "study" / "frontdoor.sqlite"
    precious.parent.mkdir()
    precious.write_bytes(b"the researcher's store")
    pr = team.as_("presenter")
    eid = team.raw(
        pr,
        "INSERT INTO export (project_id, scope, folder, internal_audience, expires, exported_by, exported_at) "
        "VALUES (NULL, 'research_team', :f, false, '2020-01-01', 'pat', now()) RETURNING id",
        f=str(precious.parent),
    )[0][0]
    team.raw(
        pr,
        "INSERT INTO export_item (export_id, clip_version_id, path, output_sha256, decision_ids, participant_ids) "
        "VALUES (:e, :v, :p, :h, '[]', '[]')",
        e=eid,
        v=team.both.version_id,
        p=str(precious),
        h="0" * 64,
    )
    digest = sha256_file(precious)
    for name in (str(precious), "frontdoor.sqlite", f"manifest-{eid}-20200101T000000Z.json/../frontdoor.sqlite"):
        with pr.session() as s:
            audit.append(s, "export_finished", {"export": eid, "manifest": name, "manifest_sha256": digest})
    with pr.session() as s:
        audit.append(s, "export_finished", {"export": "not a number"})
    rs = team.as_("researcher")
    assert [i.key for i in destruction.plan(rs)] == ["export-item:1", f"export:{eid}"]
    done = destruction.destroy(rs)
    assert precious.read_bytes() == b"the researcher's store"
    assert done.files_deleted == [] and done.files_kept == [str(precious)]
    assert [b["file"] for _, b in _destroyed_entries(team.owner) if b["kind"] == "export_item"] == ["kept_not_exported"]
    # nor by confirming a withdrawal's destruction list
    eid2 = team.raw(
        pr,
        "INSERT INTO export (project_id, scope, folder, internal_audience, exported_by, exported_at) "
        "VALUES (NULL, 'research_team', :f, false, 'pat', now()) RETURNING id",
        f=str(precious.parent),
    )[0][0]
    item = team.raw(
        pr,
        "INSERT INTO export_item (export_id, clip_version_id, path, output_sha256, decision_ids, participant_ids) "
        "VALUES (:e, :v, :p, :h, '[]', '[]') RETURNING id",
        e=eid2,
        v=team.both.version_id,
        p=str(precious),
        h="0" * 64,
    )[0][0]
    with pytest.raises(InvalidRequest, match="not a file the export gate wrote"):
        confirm_destroyed(rs, item, delete_file=True)
    assert precious.exists()


def test_a_researcher_cannot_bring_a_permit_of_their_own_in_a_temporary_table(team: Team) -> None:
    """The trigger looks for permits and entries in the store's schema, never in the caller's pg_temp (which
    comes first on an unset search path): else a decision goes with no ``destroyed`` entry (found by review)."""
    record_decision(team.owner, team.both.clip_id, OTHER, "publication", "withheld")
    did, vid = team.raw(team.owner, "SELECT id, clip_version_id FROM decision")[0]
    rs = team.as_("researcher")
    with pytest.raises(IntegrityError, match="never changed"), rs.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE destruction_permit (kind text, row_id int, audit_id int, txid bigint)")
        conn.exec_driver_sql("CREATE TEMP TABLE audit_log (id int, event text, clip_id int)")
        conn.execute(text("INSERT INTO pg_temp.audit_log VALUES (1, 'destroyed', :c)"), {"c": team.both.clip_id})
        conn.execute(
            text("INSERT INTO pg_temp.destruction_permit VALUES ('clip_version', :v, 1, txid_current())"), {"v": vid}
        )
        conn.execute(text("DELETE FROM decision WHERE id = :d"), {"d": did})
    assert team.raw(team.owner, "SELECT id FROM decision") == [(did,)]
    with team.owner.session() as s:
        assert audit.check(s) is None


def test_migration_0007_goes_down_and_up(site: Site) -> None:
    from alembic import command

    from annotation.store.engine import alembic_config

    st = site.store
    withdraw(st, BRAVO)
    destruction.destroy(st)
    command.downgrade(alembic_config(st.engine), "0006")
    assert schema_revision(st.engine) == "0006"
    assert not {"retention_policy", "destruction_permit"} & set(inspect(st.engine).get_table_names())
    for sql in ("DELETE FROM clip_version", "DELETE FROM decision"):
        with pytest.raises(DBAPIError, match="rows are never"), st.engine.begin() as conn:
            conn.execute(text(sql))
    upgrade_schema(st.engine)
    assert {"retention_policy", "destruction_permit"} <= set(inspect(st.engine).get_table_names())
    for sql in ("DELETE FROM clip_version", "DELETE FROM decision"):
        with pytest.raises(DBAPIError, match="rows are never"), st.engine.begin() as conn:
            conn.execute(text(sql))
    assert _check(st) is None


# ---------------------------------------------------------------------------------------------- the commands


def test_the_commands(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    st = site.store
    url = st.engine.url.render_as_string(hide_password=False)

    def run(*argv: str, code: int = 0) -> str:
        assert main(["--db", url, *argv]) == code
        got = capsys.readouterr()
        return got.out if code == 0 else got.err

    assert "no retention policy yet" in run("retention", "policy", "--project", PROJECT)
    out = run("retention", "policy", "--project", PROJECT, "--recordings", "60m", "--clips", "2y", "--exports", "keep")
    assert "recordings  60m" in out and "clips       2y" in out and "exports     keep" in out
    assert _last_event(st) == (
        "retention_policy",
        {"clips": "2y", "documents": "keep", "exports": "keep", "project": 1, "recordings": "60m"},
    )
    assert "nothing is due on" in run("retention", "due")
    out = run("retention", "due", "--on", add_months(TODAY, 60).isoformat(), "--project", PROJECT)
    assert "recording:1" in out and "recordings are kept 60 months after they were made" in out
    assert "note: project" not in out
    assert f"note: project {OTHER_PROJECT!r} has no retention policy" in run("retention", "dates")
    for argv, message in (
        (("retention", "policy", "--project", "Nowhere"), "frontdoor: error: project 'Nowhere': not found\n"),
        (
            ("retention", "policy", "--project", PROJECT, "--clips", "2 years"),
            "frontdoor: error: period '2 years': use a number with d, m or y (30d, 60m, 5y), or 'keep'\n",
        ),
        (
            ("retention", "destroy", "--ids", "clip:3"),
            "frontdoor: error: 'clip:3': not an item; use KIND:ID as 'frontdoor retention due' prints it "
            "(e.g. version:4)\n",
        ),
        (("retention", "destroy", "--ids", "version:99"), "frontdoor: error: version:99: not found\n"),
        (
            ("retention", "destroy", "--ids", "recording:1", "--yes"),
            f"frontdoor: error: recording:1: not due on {TODAY} (due from {add_months(TODAY, 60)}); "
            "see 'frontdoor retention due'\n",
        ),
        (("retention", "due", "--project", "Nowhere"), "frontdoor: error: project 'Nowhere': not found\n"),
    ):
        assert run(*argv, code=2) == message
    with pytest.raises(SystemExit) as stop:
        main(["--db", url, "retention", "due", "--on", "2027-02-30"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert err.startswith("frontdoor: error: argument --on: '2027-02-30' is not a date")

    withdraw(st, BRAVO)
    out = run("retention", "due")
    assert f"version:{site.x.version_id}" in out and f"{BRAVO} withdrew ({TODAY})" in out
    out = run("retention", "destroy", "--ids", f"version:{site.x.version_id - 1}", "--yes")
    assert out.startswith("destroyed 1 item(s), 0 file(s) deleted:")
    out = run("retention", "destroy", "--yes")
    assert out.startswith("destroyed 1 item(s)") and f"version:{site.x.version_id}" in out
    assert run("audit", "verify").startswith("audit log verified")


def _last_event(store: Store) -> tuple[str, dict[str, object]]:
    with store.session() as s:
        e = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
    return e.event, json.loads(e.payload)


def test_unknown_things(site: Site) -> None:
    with pytest.raises(UnknownThing):
        retention.get_policy(site.store, "Nowhere")
