"""Roles on a shared PostgreSQL server, shown against the real server: each test connects as a researcher,
a review station bound to one participant, a presenter and an auditor (and a role Frontdoor does not
know), and shows what each may do and what the database refuses. Refused attempts are made in raw SQL
where the Python API would stop earlier, so what is shown is the database's refusal, not Python's.

Every test works in a schema of its own with role names of its own (roles are cluster-wide) and drops
every role it made; a role left behind fails the test.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from annotation.errors import AccessDenied
from annotation.services import ensure_project
from annotation.store.engine import Store, open_store, sqlite_url
from app.cli.main import main
from consent import audit, scopes
from consent.clips import create_clip, set_presence
from consent.conditions import ExportContext
from consent.decisions import ScopeDecision, record_decision, record_decisions
from consent.errors import InvalidRequest, UnknownThing
from consent.export.gate import export_clips, plan
from consent.models import Decision, Export
from consent.participants import add_participant, edit_participant
from consent.retention.withdrawal import withdraw
from consent.server import access, roles
from consent.station import passphrase, review
from consent.usability import status
from tests.consent.conftest import PROJECT
from tests.fixtures.team import ME, OTHER, STATION_PASSPHRASE, TODAY, Team, drop_test_roles, login_url, new_password


def _insert_decision(t: Team, st: Store, version_id: int, participant_id: int, method: str = "in_app") -> None:
    t.raw(
        st,
        "INSERT INTO decision (clip_version_id, participant_id, scope, decision, conditions, method, recorded_by, "
        "recorded_at) VALUES (:v, :p, 'publication', 'granted', '[]', :m, 'forged', now())",
        v=version_id,
        p=participant_id,
        m=method,
    )


# ---------------------------------------------------------------------------------------------- the station


def test_a_station_sees_only_its_participant(team: Team) -> None:
    record_decision(team.owner, team.both.clip_id, OTHER, "publication", "withheld")
    st = team.as_("reviewer")
    # what `frontdoor review` asks before the station opens, and what the station shows
    me = review.reviewer(st, ME)
    assert (me.participant_id, me.project) == (team.me, PROJECT)
    passphrase.require_passphrase(st, PROJECT)
    assert passphrase.verify_passphrase(st, PROJECT, STATION_PASSPHRASE)
    items = review.review_items(st, ME)
    assert [(i.clip_id, i.version_hash) for i in items] == [(team.both.clip_id, team.both.version_hash)]
    assert items[0].decisions == {}  # OTHER's decision on the same version is not there
    # anyone else is not there at all: by pseudonym or by id
    with pytest.raises(UnknownThing):
        review.reviewer(st, OTHER)
    with pytest.raises(UnknownThing):
        review.review_items(st, team.other)

    # the rows the database shows the station
    assert team.raw(st, "SELECT id, real_name FROM participant") == [(team.me, "Alice Realname")]
    assert team.raw(st, "SELECT real_name FROM participant WHERE id = :p", p=team.other) == []
    assert team.raw(st, "SELECT DISTINCT participant_id FROM presence") == [(team.me,)]
    assert team.raw(st, "SELECT id FROM clip") == [(team.both.clip_id,)]
    assert team.raw(st, "SELECT count(*) FROM decision") == [(0,)]
    assert team.raw(st, "SELECT id, name, sha256 FROM recording")[0][0] == team.recording_id
    # and what it may not read at all
    refused = {
        "SELECT abs_path FROM recording": "SELECT on recording",
        "SELECT rel_path FROM recording": "SELECT on recording",
        "SELECT * FROM export": "SELECT on export",
        "SELECT payload FROM audit_log": "SELECT on audit_log",
        "SELECT * FROM appearance": "SELECT on appearance",
        "SELECT * FROM document": "SELECT on document",
        "SELECT * FROM station_binding": "SELECT on station_binding",
        "SELECT * FROM frontdoor_audit_problem()": "frontdoor_audit_problem",
    }
    for sql, what in refused.items():
        with pytest.raises(AccessDenied, match=what) as caught:
            team.raw(st, sql)
        assert "\n" not in caught.value.message and "access denied" in caught.value.message
    # the recording of a version it may show, and no other
    mine = team.raw(st, "SELECT frontdoor_clip_source(:v, NULL)", v=team.both.version_id)
    assert mine == [(str(team.media),)]
    assert team.raw(st, "SELECT frontdoor_clip_source(:v, NULL)", v=team.not_mine.version_id) == [(None,)]
    with st.session() as s:
        assert access.caller_kind(s) == "reviewer"
        assert access.recording_source(s, team.both.version_id) == str(team.media)


def test_a_station_records_decisions_for_its_participant_only(team: Team) -> None:
    st = team.as_("reviewer")
    done = record_decisions(
        st,
        team.both.clip_id,
        ME,
        [ScopeDecision("internal_training", "granted", texts=("not-after:2031-01-01",))],
    )
    assert done.new_version is None
    assert review.review_items(st, ME)[0].decisions["internal_training"].decision == "granted"
    with team.owner.session() as s:
        d = s.get(Decision, done.decision_ids[0])
        assert d is not None and (d.participant_id, d.method) == (team.me, "in_app")
        assert audit.check(s) is None  # the station's entries are proper links of the chain

    # someone else's decision: Python cannot even find them ...
    with pytest.raises(UnknownThing):
        record_decision(st, team.both.clip_id, OTHER, "publication", "granted")
    # ... and the database refuses it when asked directly
    with pytest.raises(AccessDenied, match=r"INSERT on decision.*row-level security"):
        _insert_decision(team, st, team.both.version_id, team.other)
    # its own, but on a clip it is not in, or from a paper form (the researcher's job)
    with pytest.raises(AccessDenied, match="INSERT on decision"):
        _insert_decision(team, st, team.not_mine.version_id, team.me)
    with pytest.raises(AccessDenied, match="INSERT on decision"):
        _insert_decision(team, st, team.both.version_id, team.me, method="paper_form")
    # decisions, versions and the log are never changed, and a station appends only its own events
    for sql in ("UPDATE decision SET decision = 'withheld'", "DELETE FROM decision", "DELETE FROM audit_log"):
        with pytest.raises(AccessDenied):
            team.raw(st, sql)
    head_id, head_hash = team.raw(st, "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")[0]
    at = datetime.now(UTC).isoformat()
    forged = {"id": head_id + 1, "at": at, "actor": "station", "prev": head_hash, "p": team.me, "payload": "{}"}
    for event in ("withdrawal", "participant_changed"):  # right link, right hash, wrong kind of event
        h = audit.entry_hash(head_hash, head_id + 1, at, "station", event, team.me, None, "{}")
        with pytest.raises(AccessDenied, match="INSERT on audit_log"):
            team.raw(
                st,
                "INSERT INTO audit_log (id, at, actor, event, participant_id, clip_id, payload, prev_hash, hash) "
                "VALUES (:id, :at, :actor, :event, :p, NULL, :payload, :prev, :hash)",
                event=event,
                hash=h,
                **forged,
            )
    # a condition that changes the edit needs a new clip version, which a station cannot make
    with pytest.raises(AccessDenied):
        record_decision(
            st, team.both.clip_id, ME, "publication", "granted", condition_texts=["blur:0.1,0.1,0.2,0.2@1-2"]
        )
    assert team.raw(st, "SELECT count(*) FROM decision") == [(1,)]  # nothing of that was kept
    # after withdrawing, the station's participant decides nothing more
    withdraw(team.owner, ME)
    with pytest.raises(AccessDenied, match="INSERT on decision"):
        _insert_decision(team, st, team.both.version_id, team.me)
    with team.owner.session() as s:
        assert audit.check(s) is None


def test_a_station_appends_only_entries_that_say_what_it_did(team: Team, tmp_path: Path) -> None:
    """One entry naming a decision that does not exist would fail every later audit check, and with it every
    export, for good: the log is append-only (found by review; migration 0010)."""
    record_decision(team.owner, team.both.clip_id, OTHER, "research_team", "granted")
    st = team.as_("reviewer")
    done = record_decisions(st, team.both.clip_id, ME, [ScopeDecision("research_team", "granted")])
    mine = done.decision_ids[0]
    with team.owner.session() as s:
        other = s.scalar(select(Decision.id).where(Decision.participant_id == team.other))
    good = {"decision_id": mine, "version": team.both.version_hash, "scope": "research_team", "decision": "granted",
            "conditions": [], "method": "in_app", "form_reference_sha256": None}  # fmt: skip
    forged: list[tuple[str, dict[str, Any], int]] = [
        ("decision", {**good, "decision_id": 424242}, team.both.clip_id),  # no such decision
        ("decision", {**good, "decision_id": other}, team.both.clip_id),  # someone else's
        ("decision", {**good, "scope": "publication"}, team.both.clip_id),  # its own, but not as stored
        ("decision", good, team.not_mine.clip_id),  # about another clip
        ("decision", {"decision_id": "x"}, team.both.clip_id),
        ("version_reviewed", {"version": team.not_mine.version_hash}, team.not_mine.clip_id),
    ]
    for event, payload, clip_id in forged:
        with pytest.raises(AccessDenied, match="INSERT on audit_log"), st.session() as s:
            audit.append(s, event, payload, participant_id=team.me, clip_id=clip_id)
    head_id, head_hash = team.raw(st, "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")[0]
    at = datetime.now(UTC).isoformat()
    h = audit.entry_hash(head_hash, head_id + 1, at, "station", "decision", team.me, team.both.clip_id, "not json")
    with pytest.raises(AccessDenied, match="INSERT on audit_log"):  # a right link with a payload that is no JSON
        team.raw(
            st,
            "INSERT INTO audit_log (id, at, actor, event, participant_id, clip_id, payload, prev_hash, hash) "
            "VALUES (:id, :at, 'station', 'decision', :p, :c, 'not json', :prev, :hash)",
            id=head_id + 1, at=at, p=team.me, c=team.both.clip_id, prev=head_hash, hash=h,
        )  # fmt: skip
    with team.owner.session() as s:
        assert audit.check(s) is None
    record_decision(team.owner, team.both.clip_id, ME, "internal_training", "granted")  # still fine
    out = tmp_path / "out"
    out.mkdir()
    assert len(export_clips(team.owner, "research_team", out).exported) == 1


def test_a_station_previews_its_clip(team: Team) -> None:
    st = team.as_("reviewer")
    path = review.render_preview(st, ME, team.both.version_hash)  # the path comes from frontdoor_clip_source
    assert path.is_file()


# ---------------------------------------------------------------------------------------------- the presenter


def test_a_presenter_exports_usable_clips_without_reading_decisions(
    team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    o = team.owner
    record_decision(o, team.both.clip_id, ME, "internal_training", "granted")
    record_decision(o, team.both.clip_id, OTHER, "publication", "granted")
    record_decision(o, team.not_mine.clip_id, OTHER, "research_team", "withheld")
    pr = team.as_("presenter")
    ctx = ExportContext("internal_training", TODAY)
    theirs, ours = plan(pr, ctx), plan(o, ctx)
    assert [(p.clip_id, p.usable, p.decision_ids) for p in theirs] == [
        (p.clip_id, p.usable, p.decision_ids) for p in ours
    ]
    assert [p.usable for p in theirs] == [True, False]
    assert theirs[1].reasons == (f"{OTHER} has not consented to this use (internal_training)",)  # not why
    assert theirs[1].recording_path == ""  # the database did not give it the path

    out = tmp_path / "out"
    out.mkdir()
    report = export_clips(pr, "internal_training", out, audience="Team day")
    assert [x["clip"] for x in report.exported] == [team.both.clip_id]
    assert [x["clip"] for x in report.skipped] == [team.not_mine.clip_id]
    assert (out / report.exported[0]["output"]).is_file()
    with o.session() as s:
        assert audit.check(s) is None
        assert s.scalar(select(Export.exported_by)) == "researcher"  # FRONTDOOR_USER

    refused = {
        "SELECT * FROM decision": "SELECT on decision",
        "SELECT real_name FROM participant": "SELECT on participant",
        "SELECT contact FROM participant": "SELECT on participant",
        "SELECT withdrawal_reason FROM participant": "SELECT on participant",
        "SELECT abs_path FROM recording": "SELECT on recording",
        "SELECT payload FROM audit_log": "SELECT on audit_log",
        "SELECT * FROM appearance": "SELECT on appearance",
        "SELECT * FROM consent_policy": "SELECT on consent_policy",
        "UPDATE export_item SET destroyed_by = 'x'": "UPDATE on export_item",
    }
    for sql, what in refused.items():
        with pytest.raises(AccessDenied, match=what):
            team.raw(pr, sql)
    for pid in (team.me, team.other):
        with pytest.raises(AccessDenied, match="INSERT on decision"):
            _insert_decision(team, pr, team.both.version_id, pid)
    assert {r[0] for r in team.raw(pr, "SELECT pseudonym FROM participant")} == {ME, OTHER}
    source = "SELECT frontdoor_clip_source(:v, :s)"
    assert team.raw(pr, source, v=team.both.version_id, s="internal_training") == [(str(team.media),)]
    assert team.raw(pr, source, v=team.both.version_id, s="publication") == [(None,)]  # ME granted less
    assert team.raw(pr, source, v=team.not_mine.version_id, s="research_team") == [(None,)]
    # the consent table would show decisions: refused, one line on the command line
    with pytest.raises(AccessDenied):
        status(pr)
    assert main(["--db", team.urls["presenter"], "consent", "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("frontdoor: error: ") and "access denied" in err and err.count("\n") == 1
    assert "Traceback" not in err


def test_a_function_of_ones_own_does_not_pass_a_forged_audit_entry(team: Team) -> None:
    """Where roles may create functions (PostgreSQL 14 and older: everyone in ``public``), a presenter's own
    ``encode`` ahead of ``pg_catalog`` on its search path made the hash check pass anything (found by review;
    migration 0010 fixes the check's search path)."""
    with team.owner.engine.begin() as conn:
        before = conn.exec_driver_sql("SELECT has_schema_privilege('public', 'public', 'CREATE')").scalar()
        conn.exec_driver_sql("GRANT CREATE ON SCHEMA public TO PUBLIC")  # the default before PostgreSQL 15
    try:
        pr = team.as_("presenter")
        schema = team.raw(team.owner, "SELECT current_schema()")[0][0]
        with pytest.raises(AccessDenied, match="INSERT on audit_log"), pr.engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE FUNCTION public.encode(bytea, text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'x' $$"
            )
            conn.exec_driver_sql(f'SET LOCAL search_path = public, pg_catalog, "{schema}"')
            head_id, head_hash = conn.exec_driver_sql("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").one()
            conn.execute(
                text(
                    "INSERT INTO audit_log (id, at, actor, event, participant_id, clip_id, payload, prev_hash, hash) "
                    "VALUES (:id, 'now', 'pat', 'export', NULL, NULL, '{}', :prev, 'x')"
                ),
                {"id": head_id + 1, "prev": head_hash},
            )
        with team.owner.session() as s:
            assert audit.check(s) is None
    finally:
        with team.owner.engine.begin() as conn:
            conn.exec_driver_sql("DROP FUNCTION IF EXISTS public.encode(bytea, text)")
            if not before:
                conn.exec_driver_sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


def test_a_presenter_and_a_researcher_agree_on_every_pattern_of_decisions(team: Team) -> None:
    """The grants the database hands a presenter give the same verdicts as the rule over the decisions."""
    o = team.owner
    soon = (TODAY + timedelta(days=10)).isoformat()
    patterns: list[list[tuple[str, str, tuple[str, ...]]]] = [
        [],
        [("internal_training", "granted", ())],
        [("publication", "granted", ())],
        [("research_team", "withheld", ()), ("publication", "granted", ())],
        [("external_seminar", "granted", ()), ("external_seminar", "withheld", ())],
        [("external_seminar", "withheld", ()), ("external_seminar", "granted", (f"not-after:{soon}",))],
    ]
    for mine in patterns:
        for theirs in patterns:
            c = create_clip(o, team.recording_id, 1, 3)
            for who, decisions in ((ME, mine), (OTHER, theirs)):
                for scope, decision, conds in decisions:
                    record_decision(o, c.clip_id, who, scope, decision, condition_texts=conds)
    third = add_participant(o, PROJECT, "Admin Charlie")
    gone = create_clip(o, team.recording_id, 2, 4, add_present=[third])
    for who in (ME, OTHER, third):
        record_decision(o, gone.clip_id, who, "publication", "granted")
    withdraw(o, third)

    pr = team.as_("presenter")
    usable = 0
    for scope in scopes.SCOPES:
        for expires in (None, TODAY + timedelta(days=30)):
            ctx = ExportContext(scope, TODAY, internal_audience=True, expires=expires)
            ours = [(p.clip_id, p.usable, p.decision_ids) for p in plan(o, ctx)]
            assert [(p.clip_id, p.usable, p.decision_ids) for p in plan(pr, ctx)] == ours
            usable += sum(u for _, u, _ in ours)
    assert 0 < usable < len(scopes.SCOPES) * 2 * (len(patterns) ** 2 + 3)  # some of each


# ---------------------------------------------------------------------------------------------- the auditor


def test_an_auditor_reads_the_log_and_nothing_else(team: Team, capsys: pytest.CaptureFixture[str]) -> None:
    record_decision(team.owner, team.both.clip_id, ME, "internal_training", "granted")
    au = team.as_("auditor")
    with au.session() as s:
        assert access.caller_kind(s) == "auditor"
        events = [e.event for e in audit.entries(s)]
        assert "decision" in events and "participant_added" in events
        assert access.records_problem(s) is None
    assert main(["--db", team.urls["auditor"], "audit", "verify"]) == 0
    assert "chain intact" in capsys.readouterr().out
    assert main(["--db", team.urls["auditor"], "audit", "show"]) == 0
    assert "decision" in capsys.readouterr().out
    for table in ("decision", "participant", "clip", "clip_version", "presence", "recording", "export", "project"):
        with pytest.raises(AccessDenied, match=f"SELECT on {table}"):
            team.raw(au, f"SELECT * FROM {table}")
    with pytest.raises(AccessDenied, match="INSERT on audit_log"):
        team.raw(
            au,
            "INSERT INTO audit_log (id, at, actor, event, payload, prev_hash, hash) VALUES (0, '', '', '', '', '', '')",
        )
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(AccessDenied):
            team.raw(au, sql)
    assert team.raw(au, "SELECT frontdoor_clip_source(:v, 'research_team')", v=team.both.version_id) == [(None,)]
    assert team.raw(au, "SELECT count(*) FROM frontdoor_grants(:v, 'research_team')", v=team.both.version_id) == [(0,)]


def test_the_database_check_of_the_log_finds_what_the_researchers_check_finds(team: Team) -> None:
    o = team.owner
    d = record_decision(o, team.both.clip_id, ME, "internal_training", "withheld").decision_id
    au = team.as_("auditor")

    def both_checks() -> tuple[str | None, str | None]:
        with o.session() as s:
            ours = audit.check(s)
        with au.session() as s:
            theirs = access.records_problem(s)
        return (ours and ours.message), (theirs and theirs.message)

    assert both_checks() == (None, None)
    # the owner goes around the triggers: a withheld decision turned into a grant, then an entry altered
    owner_sql = (
        "ALTER TABLE {t} DISABLE TRIGGER {t}_append_only; {change}; ALTER TABLE {t} ENABLE TRIGGER {t}_append_only"
    )
    with o.engine.begin() as conn:
        conn.exec_driver_sql(
            owner_sql.format(t="decision", change=f"UPDATE decision SET decision = 'granted' WHERE id = {d}")
        )
    ours, theirs = both_checks()
    assert ours == theirs and ours is not None and f"decision {d}: differs from audit entry" in ours
    with o.engine.begin() as conn:
        conn.exec_driver_sql(
            owner_sql.format(t="decision", change=f"UPDATE decision SET decision = 'withheld' WHERE id = {d}")
        )
        conn.exec_driver_sql(
            owner_sql.format(t="audit_log", change="UPDATE audit_log SET actor = 'someone' WHERE id = 3")
        )
    ours, theirs = both_checks()
    assert ours == theirs == "audit entry 3: its contents do not match its hash (altered outside Frontdoor)"
    assert main(["--db", team.urls["auditor"], "audit", "verify"]) == 3


# ---------------------------------------------------------------------------------------------- the researcher


def test_a_researcher_does_everything_the_append_only_rules_allow(team: Team) -> None:
    rs = team.as_("researcher")
    pid = add_participant(rs, PROJECT, "Admin Charlie", real_name="Carol Realname")
    c = create_clip(rs, team.recording_id, 2, 4, add_present=["Admin Charlie"])
    record_decision(rs, c.clip_id, "Admin Charlie", "publication", "granted")
    set_presence(rs, c.clip_id, add=[OTHER])
    edit_participant(rs, pid, role="admin")
    rows, _ = status(rs)
    assert {r.participant for r in rows} == {ME, OTHER, "Admin Charlie"}
    assert team.raw(rs, "SELECT count(*) FROM participant WHERE real_name IS NOT NULL") == [(3,)]
    assert team.raw(rs, "SELECT abs_path FROM recording") == [(str(team.media),)]
    with rs.session() as s:
        assert access.caller_kind(s) == "researcher"
        assert access.records_problem(s) is None
    # the append-only triggers still refuse, for the researcher as for everyone
    for sql in (
        "UPDATE decision SET decision = 'withheld'",
        "DELETE FROM decision",
        "UPDATE clip_version SET reason = 'x'",
        "DELETE FROM clip_version",
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(IntegrityError, match="never changed"):
            team.raw(rs, sql)
    with pytest.raises(AccessDenied, match="TRUNCATE on audit_log"):
        team.raw(rs, "TRUNCATE audit_log")
    # the roles themselves are the administrator's
    with pytest.raises(AccessDenied, match="on station_binding"):
        team.raw(rs, "INSERT INTO station_binding (role_name, participant_id) VALUES ('x', :p)", p=pid)
    with pytest.raises(AccessDenied, match="on db_role"):
        team.raw(rs, "UPDATE db_role SET kind = 'researcher'")
    for kind in ("reviewer", "presenter", "auditor"):
        st = team.as_(kind)
        for sql in ("UPDATE decision SET decision = 'withheld'", "DELETE FROM clip_version", "TRUNCATE audit_log"):
            with pytest.raises(AccessDenied):
                team.raw(st, sql)


def test_a_role_the_database_does_not_know_sees_nothing(team: Team) -> None:
    """Fail closed: a login granted tables by hand, outside the four groups, gets no row and no path."""
    name, pw = f"{team.prefix}_stranger", new_password()
    with team.owner.engine.begin() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        conn.exec_driver_sql(f"CREATE ROLE {name} LOGIN PASSWORD '{pw}'")
        conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{schema}" TO {name}')
        tables = ", ".join(f'"{schema}".{t}' for t in ("alembic_version", "participant", "decision", "clip"))
        conn.exec_driver_sql(f"GRANT SELECT ON {tables} TO {name}")
    st = open_store(login_url(team.url, name, pw))
    try:
        for table in ("participant", "decision", "clip"):
            assert team.raw(st, f"SELECT count(*) FROM {table}") == [(0,)]
        assert team.raw(st, "SELECT frontdoor_clip_source(:v, 'research_team')", v=team.both.version_id) == [(None,)]
        with pytest.raises(AccessDenied):
            team.raw(st, "SELECT * FROM frontdoor_audit_problem()")
    finally:
        st.close()
        with team.owner.engine.begin() as conn:
            conn.exec_driver_sql(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {name}')
            conn.exec_driver_sql(f'REVOKE ALL ON SCHEMA "{schema}" FROM {name}')
            conn.exec_driver_sql(f"DROP ROLE {name}")


# ---------------------------------------------------------------------------------------------- the commands


def test_db_roles_and_db_user_on_the_command_line(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = f"fdc{uuid.uuid4().hex[:8]}"
    owner = open_store(pg_url)
    try:
        pid = ensure_project(owner, PROJECT)
        assert pid
        add_participant(owner, PROJECT, ME)
        for _ in range(2):  # idempotent
            assert main(["--db", pg_url, "db", "roles", "--prefix", prefix]) == 0
        out = capsys.readouterr().out
        assert f"{prefix}_reviewer" in out and f"{prefix}_auditor" in out
        assert sorted(roles.groups(owner)) == sorted((f"{prefix}_{k}", k) for k in roles.KINDS)

        def add(*args: str, password: str = "a long enough password") -> int:
            r, w = os.pipe()
            os.write(w, (password + "\n").encode())
            os.close(w)
            return main(["--db", pg_url, "db", "user", "add", *args, "--prefix", prefix, "--password-fd", str(r)])

        assert add(f"{prefix}_station1", "--role", "reviewer", "--participant", ME) == 0
        assert "bound to participant 'Worker Alpha'" in capsys.readouterr().out
        assert add(f"{prefix}_pat", "--role", "presenter") == 0
        assert main(["--db", pg_url, "db", "user", "list"]) == 0
        listed = capsys.readouterr().out
        assert f"{prefix}_station1" in listed and ME in listed and f"{prefix}_pat" in listed
        # refused, in one line each: a station without its participant, a presenter bound to one, a short
        # password, a name taken on the server, groups with login roles left
        assert add(f"{prefix}_station2", "--role", "reviewer") == 2
        assert add(f"{prefix}_pat2", "--role", "presenter", "--participant", ME) == 2
        assert add(f"{prefix}_pat3", "--role", "presenter", password="short") == 2
        assert add("frontdoor", "--role", "presenter") == 2
        assert main(["--db", pg_url, "db", "roles", "--prefix", prefix, "--drop"]) == 2
        err = capsys.readouterr().err
        for line in (
            "one participant",
            "only a review station",
            "shorter than 12",
            "exists already",
            "drop them first",
        ):
            assert line in err
        assert err.count("frontdoor: error:") == 5 and "Traceback" not in err
        # the station logs in with what it was given
        station = open_store(login_url(pg_url, f"{prefix}_station1", "a long enough password"))
        try:
            assert [i.clip_id for i in review.review_items(station, ME)] == []
        finally:
            station.close()
        for name in (f"{prefix}_station1", f"{prefix}_pat"):
            assert main(["--db", pg_url, "db", "user", "drop", name]) == 0
        assert main(["--db", pg_url, "db", "user", "drop", "frontdoor"]) == 2  # not one of this store's
        assert main(["--db", pg_url, "db", "roles", "--prefix", prefix, "--drop"]) == 0
        assert roles.groups(owner) == []
    finally:
        owner.close()
        drop_test_roles(pg_url, prefix)


def test_roles_need_postgresql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    st = open_store(sqlite_url(tmp_path / "one user.sqlite"))
    try:
        with pytest.raises(InvalidRequest, match="roles need a shared PostgreSQL server"):
            roles.create_roles(st)
        with st.session() as s:  # one user: everything, as before
            assert access.caller_kind(s) == "owner"
    finally:
        st.close()
    assert main(["--db", sqlite_url(tmp_path / "one user.sqlite"), "db", "roles"]) == 2
    assert "roles need a shared PostgreSQL server" in capsys.readouterr().err


def test_the_migration_ranks_the_scopes_as_the_rule_does() -> None:
    path = Path(__file__).resolve().parents[2] / "annotation" / "store" / "migrations" / "versions" / "0005_roles.py"
    spec = importlib.util.spec_from_file_location("roles_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.SCOPES == scopes.SCOPES
    assert set(module.KINDS) == set(roles.KINDS)
