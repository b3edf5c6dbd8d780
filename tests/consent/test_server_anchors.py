"""The heads the PostgreSQL server keeps (``audit_anchor``, migration 0012): no application role may change or
delete them, the database refuses an anchor that does not match the log, a tail cut by the tables' owner with
every client's anchor log gone is still caught (and what the owner can still do), and a presenter's export
goes on after an acknowledged rollback and is refused after one nobody acknowledged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from annotation.errors import AccessDenied, AnnotationError
from annotation.services import ensure_project
from annotation.store.engine import HEAD_REVISION, Store, alembic_config, schema_revision, upgrade_schema
from app.cli.main import main
from consent import anchors, server_anchors
from consent.decisions import record_decision
from consent.errors import InvalidRequest
from consent.export.gate import export_clips
from consent.forms import receipt_for_entry
from consent.participants import add_participant
from consent.retention.withdrawal import withdraw
from consent.verification import acknowledge_rollback, verify_records
from tests.consent.conftest import PROJECT
from tests.fixtures.team import ME, OTHER, Team

REFUSED = (DBAPIError, AnnotationError)  # the database's refusal (AccessDenied for a missing grant)


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def _last_entry(store: Store) -> tuple[int, str]:
    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")).one()
    return int(row[0]), str(row[1])


def _server_rows(store: Store) -> list[tuple[int, int, str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, entry_id, kind, written_by FROM audit_anchor ORDER BY id"))
        return [(int(a), int(b), str(c), str(d)) for a, b, c, d in rows]


def test_no_application_role_changes_or_removes_the_servers_anchors(team: Team) -> None:
    me = team.as_("researcher")
    record_decision(me, team.both.clip_id, ME, "research_team", "granted")
    entry, digest = _last_entry(me)
    rows = _server_rows(team.owner)
    assert rows[-1][1:3] == (entry, "head") and rows[-1][3] == team.urls["researcher"].split("//")[1].split(":")[0]
    # one head per entry, each written in the entry's own transaction
    assert sorted(r[1] for r in rows if r[2] == "head") == list(range(1, entry + 1))
    for kind in ("researcher", "presenter", "auditor", "reviewer"):
        st = me if kind == "researcher" else team.as_(kind)
        for sql in (
            "DELETE FROM audit_anchor",
            "UPDATE audit_anchor SET hash = repeat('0', 64)",
            "TRUNCATE audit_anchor",
            "ALTER TABLE audit_anchor DISABLE TRIGGER USER",
        ):
            with pytest.raises(REFUSED):
                team.raw(st, sql)
    # the owner too, while the triggers stand
    for sql in ("DELETE FROM audit_anchor", "UPDATE audit_anchor SET kind = 'x'", "TRUNCATE audit_anchor"):
        with pytest.raises(DBAPIError, match="audit_anchor rows are never changed"):
            team.raw(team.owner, sql)
    insert = (
        "INSERT INTO audit_anchor (entry_id, hash, kind, back_to, lost_to, written_at, written_by) "
        "VALUES (:e, :h, :k, :b, :l, '2000-01-01', 'someone else')"
    )
    # an anchor the log does not have (it would fail every later check, and every export, for good)
    with pytest.raises(DBAPIError, match="with that hash is not in the log"):
        team.raw(me, insert, e=entry + 50, h="a" * 64, k="head", b=None, l=None)
    with pytest.raises(DBAPIError, match="with that hash is not in the log"):
        team.raw(me, insert, e=entry, h="a" * 64, k="head", b=None, l=None)
    # an acknowledgement no rollback_acknowledged entry says (it would excuse a cut)
    with pytest.raises(DBAPIError, match="does not say what audit entry"):
        team.raw(me, insert, e=entry, h=digest, k="rollback_acknowledged", b=0, l=entry)
    with pytest.raises(REFUSED):
        team.raw(team.as_("auditor"), insert, e=entry, h=digest, k="head", b=None, l=None)
    # a true anchor is taken, with who wrote it and when as the database says
    team.raw(me, insert, e=entry, h=digest, k="head", b=None, l=None)
    who, year = team.raw(
        team.owner, "SELECT written_by, extract(year FROM written_at) FROM audit_anchor ORDER BY id DESC LIMIT 1"
    )[0]
    assert who != "someone else" and int(year) > 2000
    assert verify_records(me).problem is None


def test_a_tail_cut_by_the_owner_with_every_anchor_log_gone_is_caught_by_the_servers_anchors(
    team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    me = team.as_("researcher")
    record_decision(me, team.both.clip_id, ME, "research_team", "granted")
    record_decision(me, team.both.clip_id, OTHER, "research_team", "granted")
    withdraw(me, OTHER, reason="changed my mind")
    last, _ = _last_entry(me)
    receipt = receipt_for_entry(me, last)
    (anchor_id,) = [r[0] for r in _server_rows(team.owner) if r[1] == last]
    # the tables' owner goes around the audit log's triggers: the withdrawal and its entry, gone
    with team.owner.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(text(f"DELETE FROM audit_log WHERE id = {last}"))
        conn.execute(text("UPDATE participant SET withdrawn_at = NULL, withdrawal_reason = NULL"))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    anchors.log_path(None).unlink()  # every client's anchor log lost (here one machine holds them all)
    assert not anchors.log_path(None).exists()
    problem = verify_records(me).problem
    assert problem is not None
    assert problem.message.startswith(f"audit entry {last}: anchored in server anchor {anchor_id} (written by ")
    assert "but no longer in the log" in problem.message
    with pytest.raises(InvalidRequest, match="fail their audit"):
        export_clips(me, "research_team", tmp_path / "out")
    capsys.readouterr()
    assert main(["--db", team.urls["researcher"], "audit", "verify"]) == 3
    assert f"server anchor {anchor_id}" in capsys.readouterr().err

    # What the owner can still do on its own server: take the triggers off the anchor table as well and cut
    # the anchors too. Then the chain and the server agree again; the person's receipt still tells.
    with team.owner.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_anchor DISABLE TRIGGER USER"))
        conn.execute(text(f"DELETE FROM audit_anchor WHERE entry_id >= {last}"))
        conn.execute(text("ALTER TABLE audit_anchor ENABLE TRIGGER USER"))
    assert verify_records(me).problem is None
    assert main(["--db", team.urls["researcher"], "audit", "verify", "--head", receipt.head.text]) == 3
    assert f"audit entry {last}: anchored in --head" in capsys.readouterr().err


def test_a_presenter_exports_after_an_acknowledged_rollback_and_not_before(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each client keeps its own anchor log: the presenter's holds the heads of its exports, which the
    researcher's never sees. After the store is restored from an older dump, the presenter's old anchors fail
    its check until a researcher acknowledges the rollback; the presenter, who may not read the log's
    entries, reads the acknowledgement from the server's anchor table."""
    researcher_log, presenter_log = tmp_path / "researcher anchors", tmp_path / "presenter anchors"

    def as_researcher() -> None:
        monkeypatch.setenv(anchors.ENV, str(researcher_log))

    def as_presenter() -> None:
        monkeypatch.setenv(anchors.ENV, str(presenter_log))

    as_researcher()
    me = team.as_("researcher")
    for who in (ME, OTHER):
        record_decision(me, team.both.clip_id, who, "research_team", "granted")
    info = anchors.backup(team.owner)
    assert info is not None
    record_decision(me, team.not_mine.clip_id, OTHER, "research_team", "granted")  # lost in the restore
    as_presenter()
    pr = team.as_("presenter")
    first = export_clips(pr, "research_team", tmp_path / "before")
    assert len(first.exported) == 2
    presenter_head, _ = _last_entry(pr)
    researcher_heads = [int(x.head.entry) for x in _log(researcher_log)]
    assert presenter_head > max(researcher_heads)  # the researcher's log never saw the exports

    assert main(["--db", _url(team.owner), "restore", str(info.path)]) == 0
    capsys.readouterr()
    pr = team.as_("presenter")  # fresh connections to the restored tables
    as_presenter()
    v = verify_records(pr)
    assert v.rolled_back and v.problem is not None and "no longer in the log" in v.problem.message
    out = tmp_path / "after"
    with pytest.raises(InvalidRequest, match="fail their audit"):
        export_clips(pr, "research_team", out)  # not acknowledged: refused
    assert not out.exists()

    as_researcher()
    me = team.as_("researcher")
    ack = acknowledge_rollback(me, "the server's disk failed; restored last night's dump")
    with team.owner.session() as s:
        (k,) = server_anchors.read(s).acknowledgements
    assert (k.entry, k.lost_to) == (ack.entry, max(researcher_heads)) and k.lost_to < presenter_head
    as_presenter()
    v = verify_records(pr)
    assert v.problem is None and v.server_anchors > 0, v.problem
    assert any(f"lost in the rollback acknowledged in entry {ack.entry}" in n for n in v.notes)
    report = export_clips(pr, "research_team", out)
    assert len(report.exported) == 1  # OTHER's grant on the later clip was lost with the rollback
    assert verify_records(pr).problem is None


def test_migration_0012_goes_down_and_up(store: Store) -> None:
    """On SQLite the table is there, refuses changes and stays empty (the anchor log is the outside copy); on
    PostgreSQL every entry appended is anchored."""
    from alembic import command

    ensure_project(store, PROJECT)
    add_participant(store, PROJECT, "A")
    command.downgrade(alembic_config(store.engine), "0011")
    assert schema_revision(store.engine) == "0011"
    assert "audit_anchor" not in inspect(store.engine).get_table_names()
    upgrade_schema(store.engine)
    assert schema_revision(store.engine) == HEAD_REVISION and "audit_anchor" in inspect(store.engine).get_table_names()
    add_participant(store, PROJECT, "B")
    entry, _ = _last_entry(store)
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT entry_id FROM audit_anchor")).scalars().all()
    assert rows == ([entry] if store.dialect == "postgresql" else [])
    if store.dialect == "sqlite":
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_anchor (entry_id, hash, kind, written_at, written_by) "
                    "VALUES (1, 'x', 'head', '', '')"
                )
            )
    for sql in ("DELETE FROM audit_anchor", "UPDATE audit_anchor SET hash = 'y'"):
        with pytest.raises(DBAPIError, match="audit_anchor rows are never"), store.engine.begin() as conn:
            conn.execute(text(sql))
    assert verify_records(store).problem is None  # SQLite reads no server anchors: that row is not looked at


def test_the_upgrade_grants_the_anchor_table_to_the_groups_already_made(team: Team, tmp_path: Path) -> None:
    """A server whose roles were made before 0012 goes on working after ``db upgrade``, without ``db roles``."""
    from alembic import command

    command.downgrade(alembic_config(team.owner.engine), "0011")
    upgrade_schema(team.owner.engine)
    record_decision(team.as_("reviewer"), team.both.clip_id, ME, "research_team", "granted")
    me = team.as_("researcher")
    record_decision(me, team.both.clip_id, OTHER, "research_team", "granted")
    pr = team.as_("presenter")
    assert len(export_clips(pr, "research_team", tmp_path / "out").exported) == 1
    written = {r[3] for r in _server_rows(team.owner)}
    assert len(written) == 3  # the station, the researcher and the presenter each anchored their entries
    with pytest.raises(AccessDenied, match="DELETE on audit_anchor"):
        team.raw(me, "DELETE FROM audit_anchor")
    assert verify_records(pr).problem is None and verify_records(team.as_("auditor")).problem is None


def _log(folder: Path) -> list[anchors.Anchor]:
    """The anchors in one client's anchor log."""
    out = []
    for raw in (folder / anchors.LOG_NAME).read_text(encoding="utf-8").splitlines():
        line = json.loads(raw)
        out.append(anchors.Anchor(anchors.Head(int(line["entry"]), str(line["hash"])), str(folder)))
    return out
