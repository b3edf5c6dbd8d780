"""The audit chain's head held outside the store: a withdrawal cut from the log's tail is caught, like the
four tamperings the chain already caught; a store restored from an older backup is flagged as rolled back
until the rollback is acknowledged; heads printed on receipts, forms and manifests verify with --head and
--anchors. On SQLite and PostgreSQL (there also as a researcher's connection)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from annotation.errors import AnnotationError
from annotation.store.engine import Store, open_store
from app.cli.main import main
from consent import anchors
from consent.clips import create_clip
from consent.decisions import record_decision
from consent.errors import AnchorLogError, InvalidRequest
from consent.export.gate import export_clips
from consent.forms import receipt_for_entry, write_form, write_receipt
from consent.participants import add_appearance, add_participant, list_participants
from consent.retention.withdrawal import withdraw
from consent.verification import acknowledge_rollback, verify_records
from tests.consent.conftest import PROJECT, World
from tests.fixtures.team import ME, OTHER, Team


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def _clip_with(w: World, *people: str) -> int:
    for who in people:
        add_participant(w.store, PROJECT, who)
        add_appearance(w.store, who, w.recording_id, 0, 12_000)
    return create_clip(w.store, w.recording_id, 1, 3).clip_id


def _owner_sql(store: Store, *sql: str) -> None:
    """Statements run by whoever holds the store file (or the tables' owner), with the triggers out of the way."""
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            for table in ("decision", "audit_log"):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            for trig in ("audit_log_no_update", "audit_log_no_delete", "decision_no_update", "decision_no_delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {trig}"))
        for q in sql:
            conn.execute(text(q))
        if store.dialect == "postgresql":
            for table in ("decision", "audit_log"):
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def _last_entry(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT max(id) FROM audit_log")).scalar_one())


def _withdrawal_cut(w: World) -> str:
    _owner_sql(
        w.store,
        f"DELETE FROM audit_log WHERE id = {_last_entry(w.store)}",
        "UPDATE participant SET withdrawn_at = NULL, withdrawal_reason = NULL WHERE pseudonym = 'B'",
    )
    return "no longer in the log"


def _forged_grant(w: World) -> str:
    with w.store.engine.begin() as conn:  # no trigger stands in the way of an insert
        vid = conn.execute(text("SELECT max(id) FROM clip_version")).scalar_one()
        pid = conn.execute(text("SELECT id FROM participant WHERE pseudonym = 'B'")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO decision (clip_version_id, participant_id, scope, decision, conditions, method, "
                "recorded_by, recorded_at) VALUES (:v, :p, 'research_team', 'granted', '[]', 'in_app', 'x', "
                "CURRENT_TIMESTAMP)"
            ),
            {"v": vid, "p": pid},
        )
    return "has no audit entry"


def _withheld_flipped(w: World) -> str:
    _owner_sql(w.store, "UPDATE decision SET decision = 'granted' WHERE decision = 'withheld'")
    return "differs from audit entry"


def _payload_edited(w: World) -> str:
    _owner_sql(w.store, "UPDATE audit_log SET payload = replace(payload, 'withheld', 'granted')")
    return "contents do not match its hash"


def _deleted_mid_chain(w: World) -> str:
    _owner_sql(w.store, "DELETE FROM audit_log WHERE id = 3")
    return "entry 3 before it is missing"


TAMPERINGS: dict[str, Callable[[World], str]] = {
    "withdrawal cut from the tail": _withdrawal_cut,
    "forged grant inserted": _forged_grant,
    "withheld decision flipped": _withheld_flipped,
    "payload edited": _payload_edited,
    "entry deleted mid-chain": _deleted_mid_chain,
}


@pytest.mark.parametrize("how", list(TAMPERINGS))
def test_each_tampering_is_caught_and_stops_the_gate(
    world: World, how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = _clip_with(world, "A", "B")
    record_decision(world.store, c, "A", "research_team", "granted")
    if how == "withdrawal cut from the tail":
        record_decision(world.store, c, "B", "research_team", "granted")
        withdraw(world.store, "B", reason="changed my mind")
    elif how != "forged grant inserted":
        record_decision(world.store, c, "B", "research_team", "withheld")
    assert verify_records(world.store).problem is None
    words = TAMPERINGS[how](world)
    problem = verify_records(world.store).problem
    assert problem is not None and words in problem.message
    out = tmp_path / "out"
    with pytest.raises(InvalidRequest, match=r"the consent records fail their audit .*: nothing exported$"):
        export_clips(world.store, "research_team", out)
    assert not out.exists()
    capsys.readouterr()
    assert main(["--db", _url(world.store), "audit", "verify"]) == 3
    assert words in capsys.readouterr().err


def test_without_its_anchors_a_cut_tail_goes_unseen_and_a_receipt_still_catches_it(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the anchors add: the same cut with the anchor log gone passes the chain's own check; the head on
    the person's receipt (typed, or the receipt file in a folder) still names the cut."""
    c = _clip_with(world, "A", "B")
    for who in ("A", "B"):
        record_decision(world.store, c, who, "research_team", "granted")
    withdraw(world.store, "B")
    entry = _last_entry(world.store)
    receipt = receipt_for_entry(world.store, entry)
    assert receipt.kind == "withdrawal" and receipt.head.entry == entry
    folder = tmp_path / "receipts"
    folder.mkdir()
    write_receipt(receipt, folder / "B withdrawal.pdf")
    _withdrawal_cut(world)
    anchors.log_path(world.store.path).unlink()
    if world.store.dialect == "postgresql":  # the server's anchors name the cut (test_server_anchors.py) ...
        assert "server anchor" in str(verify_records(world.store).problem)
        with world.store.engine.begin() as conn:  # ... unless the tables' owner cuts them as well
            conn.execute(text("ALTER TABLE audit_anchor DISABLE TRIGGER USER"))
            conn.execute(text(f"DELETE FROM audit_anchor WHERE entry_id >= {entry}"))
            conn.execute(text("ALTER TABLE audit_anchor ENABLE TRIGGER USER"))
    assert verify_records(world.store).problem is None  # the chain alone cannot tell
    url = _url(world.store)
    assert main(["--db", url, "audit", "verify", "--head", receipt.head.text]) == 3
    err = capsys.readouterr().err
    assert f"audit entry {entry}: anchored in --head {entry}:{receipt.head.hash[:16]}" in err
    assert main(["--db", url, "audit", "verify", "--anchors", str(folder)]) == 3
    assert f"anchored in {folder / 'B withdrawal.pdf'} but no longer in the log" in capsys.readouterr().err


def test_a_researcher_on_postgresql_cannot_cut_the_tail_and_what_the_role_allows_is_caught(
    team: Team, tmp_path: Path
) -> None:
    """As the researcher role: deleting or changing entries and decisions is refused by the database; what
    the role may do (clear a withdrawal, insert a decision row) is caught. The tables' owner cutting the tail
    is caught by the anchors the researcher's client keeps."""
    me = team.as_("researcher")
    record_decision(me, team.both.clip_id, ME, "research_team", "granted")
    record_decision(me, team.both.clip_id, OTHER, "research_team", "granted")
    withdraw(me, OTHER)
    last = _last_entry(me)
    for sql in (
        f"DELETE FROM audit_log WHERE id = {last}",
        f"UPDATE audit_log SET payload = '{{}}' WHERE id = {last}",
        "UPDATE decision SET decision = 'withheld'",
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
    ):
        with pytest.raises((DBAPIError, AnnotationError)):
            team.raw(me, sql)
    assert verify_records(me).problem is None
    team.raw(me, "UPDATE participant SET withdrawn_at = NULL WHERE id = :p", p=team.other)
    problem = verify_records(me).problem
    assert problem is not None and "withdrawal does not match the audit log" in problem.message
    team.raw(me, "UPDATE participant SET withdrawn_at = now() WHERE id = :p", p=team.other)
    assert verify_records(me).problem is None
    # the owner goes around the triggers: the last entry (the withdrawal) and its row, gone
    _owner_sql(team.owner, f"DELETE FROM audit_log WHERE id = {last}", "UPDATE participant SET withdrawn_at = NULL")
    problem = verify_records(me).problem
    assert problem is not None and f"audit entry {last}: anchored in anchor log" in problem.message
    with pytest.raises(InvalidRequest, match="fail their audit"):
        export_clips(me, "research_team", tmp_path / "out")


def test_anchors_never_share_the_store_folder(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    if world.store.path is None:
        pytest.skip("a store in a file")
    add_participant(world.store, PROJECT, "A")
    monkeypatch.setenv(anchors.ENV, str(world.store.path.parent))
    with pytest.raises(AnchorLogError, match="a store and its anchors never sit in one folder"):
        add_participant(world.store, PROJECT, "B")
    assert [p.pseudonym for p in list_participants(world.store, PROJECT)] == ["A"]  # nothing saved
    monkeypatch.setenv(anchors.ENV, str(world.store.path.parent / "elsewhere"))
    add_participant(world.store, PROJECT, "B")
    lines = (world.store.path.parent / "elsewhere" / anchors.LOG_NAME).read_text().splitlines()
    assert json.loads(lines[-1])["act"] == "participant_added"


def test_a_store_restored_from_an_older_backup_is_flagged_until_acknowledged(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = _clip_with(world, "A", "B")
    record_decision(world.store, c, "A", "research_team", "granted")
    record_decision(world.store, c, "B", "research_team", "granted")
    info = anchors.backup(world.store)
    assert info is not None and info.note["audit_head"].startswith(f"{_last_entry(world.store)}:")
    withdraw(world.store, "B", reason="no longer")  # after the backup: lost when it is restored
    url = _url(world.store)
    assert main(["--db", url, "backups"]) == 0
    assert f"{info.path.name}  audit head {info.note['audit_head'].split(':')[0]}" in capsys.readouterr().out
    world.store.close()
    assert main(["--db", url, "restore", str(info.path)]) == 0
    assert "exports are refused until you record them again and acknowledge" in capsys.readouterr().out
    store = open_store(url)
    try:
        v = verify_records(store)
        assert v.rolled_back and v.problem is not None
        assert f"the store was rolled back to backup {info.path.name}" in v.problem.message
        with pytest.raises(InvalidRequest, match="fail their audit"):
            export_clips(store, "research_team", tmp_path / "out")
        assert main(["--db", url, "audit", "acknowledge-rollback"]) == 2  # a reason is required
        assert "--reason" in capsys.readouterr().err
        assert main(["--db", url, "audit", "acknowledge-rollback", "--reason", "disk failed; restored"]) == 0
        assert "rollback acknowledged in audit entry" in capsys.readouterr().out
        v = verify_records(store)
        assert v.problem is None and any("lost in the rollback acknowledged" in n for n in v.notes)
        with pytest.raises(InvalidRequest, match="no rollback to accept"):
            acknowledge_rollback(store, "again")
        withdraw(store, "B", reason="recorded again")  # what was lost, recorded again
        assert verify_records(store).problem is None
    finally:
        store.close()


def test_a_rewrite_is_no_rollback(world: World) -> None:
    c = _clip_with(world, "A")
    record_decision(world.store, c, "A", "research_team", "withheld")
    _payload_edited(world)
    with pytest.raises(InvalidRequest, match="a rollback is not the cause"):
        acknowledge_rollback(world.store, "trying")


def test_receipts_render_and_their_head_verifies(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = _clip_with(world, "A")
    done = record_decision(world.store, c, "A", "external_seminar", "granted", condition_texts=["not-after:2030-01-31"])
    assert done.head is not None and done.head.entry == done.entry_id
    url = _url(world.store)
    for name in ("receipt.html", "receipt.pdf"):
        assert main(["--db", url, "consent", "receipt", str(done.entry_id), str(tmp_path / name)]) == 0
    capsys.readouterr()
    page = (tmp_path / "receipt.html").read_text(encoding="utf-8")
    assert f'<meta name="frontdoor-audit-head" content="{done.head.text}">' in page
    assert "external seminar</th><td>granted, on condition: not after 2030-01-31" in page
    pdf = PdfReader(str(tmp_path / "receipt.pdf"))
    words = "".join(p.extract_text() for p in pdf.pages)
    flat = "".join(words.split())
    assert "Receiptforyourconsentdecision" in flat and done.head.hash in flat and f"Auditentry{done.entry_id}" in flat
    assert anchors.day_text(receipt_for_entry(world.store, done.entry_id).at) in words  # e.g. "6 Dec 2026"
    assert str(pdf.metadata.subject) == f"frontdoor-audit-head {done.head.text}"
    assert main(["--db", url, "audit", "verify", "--head", done.head.text, "--anchors", str(tmp_path)]) == 0
    assert "anchors checked" in capsys.readouterr().out
    # a form printed now carries the head too, and is found in a folder of anchors
    write_form(world.store, "A", tmp_path / "form.html")
    assert 'name="frontdoor-audit-head"' in (tmp_path / "form.html").read_text(encoding="utf-8")
    assert main(["--db", url, "audit", "verify", "--head", "x:y"]) == 2
    capsys.readouterr()
    # a withdrawal: its entry and head are printed, and its receipt says so
    assert main(["--db", url, "consent", "withdraw", "A"]) == 0
    entry = _last_entry(world.store)
    assert f"audit entry {entry}, head {entry}:" in capsys.readouterr().out
    assert main(["--db", url, "consent", "receipt", str(entry), str(tmp_path / "withdrawal.html")]) == 0
    page = (tmp_path / "withdrawal.html").read_text(encoding="utf-8")
    assert "Receipt for your withdrawal" in page and "withdrawn from this date on" in page


def test_an_export_into_a_new_folder_names_its_files_and_carries_the_head(world: World, tmp_path: Path) -> None:
    c = _clip_with(world, "A")
    record_decision(world.store, c, "A", "research_team", "granted")
    out = tmp_path / "new" / "exports"
    report = export_clips(world.store, "research_team", out)
    manifest = json.loads(report.manifest.read_text(encoding="utf-8"))
    (item,) = manifest["clips"]
    assert item["render"]["output"] == item["output"] and (out / item["output"]).is_file()
    assert not any(p.name.startswith(".pending") for p in out.iterdir())
    head = anchors.parse_head(manifest["audit_head"])
    assert verify_records(world.store, anchor_dirs=[out], heads=[head]).problem is None
    with world.store.session() as s:
        assert any(a.source == str(report.manifest) for a in anchors.file_anchors(out))
        assert anchors.current_head(s) is not None


def test_status_names_the_decision_that_counts(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    c = _clip_with(world, "A", "B")
    record_decision(world.store, c, "A", "external_seminar", "granted")
    record_decision(world.store, c, "B", "publication", "granted")
    record_decision(world.store, c, "B", "research_team", "withheld")
    assert main(["--db", _url(world.store), "consent", "status", "--scope", "external_seminar"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = {ln.split()[2]: ln for ln in lines[1:3]}
    assert "withheld (via research_team)" in row["B"] and row["A"].rstrip().endswith("granted")
    record_decision(world.store, c, "B", "research_team", "granted")
    assert main(["--db", _url(world.store), "consent", "status", "--scope", "external_seminar"]) == 0
    out = capsys.readouterr().out
    assert "granted (via publication)" in out and "USABLE" in out


def test_backups_carry_the_head(world: World) -> None:
    add_participant(world.store, PROJECT, "A")
    info = anchors.backup(world.store)
    assert info is not None
    with world.store.session() as s:
        (found,) = anchors.backup_anchors(s)
        assert found.head == anchors.current_head(s) and found.source == f"backup {info.path.name}"
    assert os.stat(anchors.log_path(world.store.path)).st_mode & 0o077 == 0  # the log is the user's own
