"""The audit log: append-only by database triggers, a hash chain that names the first bad entry."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.cli.main import main
from consent import audit
from consent.clips import create_clip, edit_clip
from consent.decisions import record_decision
from consent.models import AuditEntry
from consent.participants import add_appearance, add_participant
from tests.consent.conftest import PROJECT, World


def _events(w: World, n: int = 6) -> None:
    for i in range(n):
        add_participant(w.store, PROJECT, f"P{i}", role="duty worker")


def _tamper(w: World, sql: str) -> None:
    """Change the log the way someone going around Frontdoor would: with the triggers out of the way."""
    with w.store.engine.begin() as conn:
        if w.store.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
            conn.execute(text(sql))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            conn.execute(text(sql))
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def _verify(w: World) -> audit.Problem | None:
    with w.store.session() as s:
        return audit.verify(s)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_log SET payload = '{}' WHERE id = 3",
        "DELETE FROM audit_log WHERE id = 3",
        "DELETE FROM audit_log",
    ],
)
def test_the_database_refuses_changes_to_the_log(world: World, sql: str) -> None:
    _events(world, 3)
    with pytest.raises(DBAPIError) as err, world.store.engine.begin() as conn:
        conn.execute(text(sql))
    assert "audit_log rows are never" in str(err.value)
    assert _verify(world) is None


def test_truncate_is_refused_on_postgresql(world: World) -> None:
    if world.store.dialect != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    _events(world, 2)
    with pytest.raises(DBAPIError), world.store.engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))


def test_versions_and_decisions_are_never_updated(world: World) -> None:
    add_participant(world.store, PROJECT, "A")
    add_appearance(world.store, "A", world.recording_id, 0, 5000)
    c = create_clip(world.store, world.recording_id, 1, 2).clip_id
    record_decision(world.store, c, "A", "research_team", "granted")
    for sql in (
        "UPDATE clip_version SET reason = 'x'",
        "UPDATE decision SET decision = 'granted', scope = 'publication'",
    ):
        with pytest.raises(DBAPIError) as err, world.store.engine.begin() as conn:
            conn.execute(text(sql))
        assert "rows are never changed" in str(err.value)


@pytest.mark.parametrize(
    ("sql", "first_bad", "words"),
    [
        ('UPDATE audit_log SET payload = \'{"pseudonym": "P9"}\' WHERE id = 3', 3, "contents do not match its hash"),
        ("UPDATE audit_log SET actor = 'someone else' WHERE id = 5", 5, "contents do not match its hash"),
        ("DELETE FROM audit_log WHERE id = 4", 5, "entry 4 before it is missing"),
        ("UPDATE audit_log SET id = 100 WHERE id = 2", 3, "entry 2 before it is missing"),
    ],
)
def test_verify_names_the_first_bad_entry(
    world: World, sql: str, first_bad: int, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _events(world)
    assert main(["--db", str(world.store.engine.url.render_as_string(hide_password=False)), "audit", "verify"]) == 0
    assert "chain intact" in capsys.readouterr().out
    _tamper(world, sql)
    problem = _verify(world)
    assert problem is not None and problem.entry_id == first_bad and words in problem.message
    assert main(["--db", str(world.store.engine.url.render_as_string(hide_password=False)), "audit", "verify"]) == 3
    assert capsys.readouterr().err.startswith(f"frontdoor: audit: audit entry {first_bad}: ")


def test_an_entry_inserted_out_of_order_breaks_the_chain(world: World) -> None:
    _events(world, 4)
    with world.store.session() as s:
        e = s.get(AuditEntry, 2)
        assert e is not None
        forged = dict(id=5, at=e.at, actor="x", event="decision", participant_id=None, clip_id=None, payload="{}")
    # a well-formed entry 5 that claims to follow entry 2
    h = audit.entry_hash(e.hash, 5, forged["at"], "x", "decision", None, None, "{}")  # type: ignore[arg-type]
    _tamper(world, "DELETE FROM audit_log WHERE id = 5")
    with world.store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (id, at, actor, event, payload, prev_hash, hash) "
                "VALUES (5, :at, 'x', 'decision', '{}', :prev, :h)"
            ),
            {"at": forged["at"], "prev": "f" * 64, "h": h},
        )
    problem = _verify(world)
    assert problem is not None and problem.entry_id == 5 and "does not follow entry 4" in problem.message


def test_concurrent_writers_keep_one_chain(world: World) -> None:
    errors: list[BaseException] = []

    def add(prefix: str) -> None:
        try:
            for i in range(8):
                add_participant(world.store, PROJECT, f"{prefix}{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(p,)) for p in ("x", "y", "z")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _verify(world) is None
    with world.store.session() as s:
        ids = list(s.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
    assert ids == list(range(1, 25))


def test_history_a_participant_may_see(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    add_participant(world.store, PROJECT, "A")
    add_participant(world.store, PROJECT, "B")
    for who in ("A", "B"):
        add_appearance(world.store, who, world.recording_id, 0, 5000)
    c = create_clip(world.store, world.recording_id, 1, 2).clip_id
    record_decision(world.store, c, "A", "research_team", "granted")
    record_decision(world.store, c, "B", "research_team", "withheld")
    url = world.store.engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "audit", "show", "--participant", "A"]) == 0
    out = capsys.readouterr().out
    assert "clip_created" in out and '"decision":"granted"' in out
    assert '"decision":"withheld"' not in out  # B's own decision is B's business


def test_the_log_keeps_no_reason_typed_for_a_new_version(world: World) -> None:
    """The log is never deleted: a reason typed for a re-cut may name who was cut out (found by review: it was
    kept word for word). The log keeps its kind and a fingerprint; the text stays on the version row."""
    add_participant(world.store, PROJECT, "Worker")
    add_appearance(world.store, "Worker", world.recording_id, 0, 12_000)
    c = create_clip(world.store, world.recording_id, 1, 3, name="call")
    reason = "cut before the mother names Kayden"
    v2 = edit_clip(world.store, c.clip_id, end=3.5, reason=reason)
    with world.store.session() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.event == "version_created")))
        assert all("Kayden" not in e.payload for e in s.scalars(select(AuditEntry)))
        stored = s.scalar(text("SELECT reason FROM clip_version WHERE version_hash = :h"), {"h": v2.version_hash})
        assert audit.check(s) is None
    bodies = [json.loads(e.payload) for e in entries]
    assert [b["reason"] for b in bodies] == ["created", "edited"]
    assert bodies[1]["reason_sha256"] == hashlib.sha256(reason.encode()).hexdigest() and stored == reason
