"""The rule for use, decision by decision, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from consent.clips import create_clip, edit_clip, set_presence
from consent.conditions import ExportContext
from consent.decisions import record_decision
from consent.errors import InvalidRequest, UnknownThing
from consent.export.gate import plan
from consent.models import AuditEntry
from consent.participants import add_appearance, add_participant, list_participants, set_policy
from consent.retention.withdrawal import withdraw
from consent.rows import clip as find_clip
from consent.rows import current_version
from consent.usability import evaluate
from tests.consent.conftest import PROJECT, World

TODAY = date(2026, 12, 1)


def usable(w: World, clip_id: int, scope: str, **ctx: object) -> tuple[bool, tuple[str, ...]]:
    (p,) = plan(w.store, ExportContext(scope, ctx.pop("on", TODAY), **ctx), clip_ids=[clip_id])  # type: ignore[arg-type]
    return p.usable, p.reasons


def two_people_clip(w: World) -> int:
    add_participant(w.store, PROJECT, "A")
    add_participant(w.store, PROJECT, "B")
    add_appearance(w.store, "A", w.recording_id, 0, 12_000)
    add_appearance(w.store, "B", w.recording_id, 2_000, 5_000)
    info = create_clip(w.store, w.recording_id, 1.0, 4.0, name="call")
    assert info.present == ("A", "B")
    return info.clip_id


def test_missing_decisions_mean_no(world: World) -> None:
    c = two_people_clip(world)
    assert usable(world, c, "research_team") == (
        False,
        ("A has not decided (research_team)", "B has not decided (research_team)"),
    )
    record_decision(world.store, c, "A", "research_team", "granted")
    assert usable(world, c, "research_team") == (False, ("B has not decided (research_team)",))
    record_decision(world.store, c, "B", "research_team", "granted")
    assert usable(world, c, "research_team") == (True, ())
    assert usable(world, c, "internal_training")[0] is False


def test_a_wider_grant_covers_narrower_uses_but_a_narrower_no_wins(world: World) -> None:
    c = two_people_clip(world)
    record_decision(world.store, c, "A", "publication", "granted")
    record_decision(world.store, c, "B", "external_seminar", "granted")
    assert usable(world, c, "internal_training") == (True, ())
    assert usable(world, c, "external_seminar") == (True, ())
    assert usable(world, c, "publication") == (False, ("B has not decided (publication)",))
    record_decision(world.store, c, "A", "internal_training", "withheld")
    assert usable(world, c, "research_team") == (True, ())
    assert usable(world, c, "external_seminar") == (False, ("A withheld internal_training",))


def test_the_latest_decision_counts(world: World) -> None:
    c = two_people_clip(world)
    record_decision(world.store, c, "B", "research_team", "granted")
    record_decision(world.store, c, "A", "research_team", "granted")
    record_decision(world.store, c, "A", "research_team", "withheld")
    assert usable(world, c, "research_team") == (False, ("A withheld research_team",))
    record_decision(world.store, c, "A", "research_team", "granted")
    assert usable(world, c, "research_team") == (True, ())


def test_conditions_on_the_export(world: World) -> None:
    c = two_people_clip(world)
    record_decision(world.store, c, "A", "internal_training", "granted", condition_texts=["not-after:2027-03-31"])
    record_decision(world.store, c, "B", "internal_training", "granted", condition_texts=["audience:internal"])
    ok, why = usable(world, c, "internal_training")
    assert not ok and why == (
        "A's condition: not after 2027-03-31 (give the export --expires 2027-03-31 or earlier)",
        "B's condition: only for audiences inside the authority (export with --internal)",
    )
    assert usable(world, c, "internal_training", internal_audience=True, expires=date(2027, 3, 31)) == (True, ())
    assert usable(world, c, "internal_training", internal_audience=True, expires=date(2027, 4, 1))[0] is False
    late = usable(world, c, "internal_training", on=date(2027, 4, 2), internal_audience=True, expires=date(2027, 5, 1))
    assert late[1][0] == "A's condition: not after 2027-03-31"


def test_a_condition_that_changes_the_edit_makes_a_version_needing_fresh_consent(world: World) -> None:
    c = two_people_clip(world)
    record_decision(world.store, c, "A", "external_seminar", "granted")
    res = record_decision(
        world.store, c, "B", "external_seminar", "granted", condition_texts=["blur:0.5,0.1,0.3,0.4@1-4"]
    )
    assert res.new_version is not None and res.new_version.number == 2
    assert res.new_version.present == ("A", "B")
    # nobody has consented to version 2 yet, A's grant was on version 1
    assert usable(world, c, "external_seminar") == (
        False,
        ("A has not decided (external_seminar)", "B has not decided (external_seminar)"),
    )
    record_decision(world.store, c, "A", "external_seminar", "granted")
    record_decision(world.store, c, "B", "external_seminar", "granted")
    assert usable(world, c, "external_seminar") == (True, ())
    with world.store.session() as s:
        v = current_version(s, find_clip(s, c))
        assert v.spec["redactions"][0]["keyframes"] == [{"t": 1.0, "x": 0.5, "y": 0.1, "w": 0.3, "h": 0.4}]


def test_a_grant_whose_edit_condition_is_not_in_the_version_does_not_count(world: World) -> None:
    c = two_people_clip(world)
    record_decision(world.store, c, "A", "research_team", "granted")
    spec = {
        "kind": "redact",
        "redaction": {"kind": "box", "start": 1, "end": 2, "keyframes": [{"t": 1, "x": 0, "y": 0, "w": 0.1, "h": 0.1}]},
    }
    # recorded through the structured path on version 1: a new version is made, version 1 stays unmet
    record_decision(world.store, c, "B", "research_team", "granted", structured=[spec])
    with world.store.session() as s:
        v1 = find_clip(s, c).versions[0]
        from pathlib import Path

        verdict = evaluate(s, v1, ExportContext("research_team", TODAY), Path(world.media))
    assert (
        not verdict.usable and "B's condition: asks for a box over 1-2 s this version does not have" in verdict.reasons
    )


def test_withdrawal_revokes_everything(world: World) -> None:
    c = two_people_clip(world)
    for who in ("A", "B"):
        record_decision(world.store, c, who, "publication", "granted")
    assert usable(world, c, "publication") == (True, ())
    withdraw(world.store, "B", reason="changed job")
    for scope in ("research_team", "publication"):
        assert usable(world, c, scope) == (False, ("B withdrew",))
    with pytest.raises(InvalidRequest, match=r"^participant 'B': has withdrawn; no further decisions are recorded$"):
        record_decision(world.store, c, "B", "publication", "granted")
    with pytest.raises(InvalidRequest, match=r"^participant 'B': withdrew already on "):
        withdraw(world.store, "B")


def test_nobody_present_is_not_usable(world: World) -> None:
    info = create_clip(world.store, world.recording_id, 1.0, 2.0)
    assert info.present == ()
    assert usable(world, info.clip_id, "research_team") == (
        False,
        ("nobody is recorded as present (frontdoor clip presence)",),
    )


def _audit_count(w: World) -> int:
    with w.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _rec(
    who: str = "A", scope: str = "research_team", decision: str = "granted", clip: int | None = None, **kw: object
):  # type: ignore[no-untyped-def]
    return lambda w, c: record_decision(w.store, clip or c, who, scope, decision, **kw)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (_rec(who="Z"), r"^participant 'Z': not found"),
        (_rec(clip=999), r"^clip '999': not found"),
        (_rec(scope="broadcast"), r"^scope 'broadcast': unknown \(use one of research_team, internal_training, "),
        (_rec(decision="maybe"), r"^decision 'maybe': use granted or withheld$"),
        (
            _rec(decision="withheld", condition_texts=["audience:internal"]),
            r"^a withheld decision takes no conditions$",
        ),
        (_rec(condition_texts=["blur:0.9,0,0.3,0.3@1-2"]), r"^condition redact: .*w: the box runs past the right edge"),
        (_rec(condition_texts=["not-after:2027-13-01"]), r"^condition not-after: '2027-13-01' is not a date"),
        (_rec(condition_texts=["smile:please"]), r"^condition 'smile:please': use blur"),
        (_rec(method="paper_form"), r"^a decision from a paper form needs the form's reference"),
        (_rec(who="C"), r"^participant 'C': is not present in clip \d+ version 1"),
        (lambda w, c: add_participant(w.store, PROJECT, "A"), r"^participant 'A': already in project"),
        (lambda w, c: add_participant(w.store, PROJECT, "D", real_name="D"), r"does not keep real names"),
        (lambda w, c: set_presence(w.store, c, remove=["C"]), r"^participant 'C': is not present in clip"),
    ],
)
def test_bad_requests_are_one_line_and_change_nothing(world: World, call: object, message: str) -> None:
    c = two_people_clip(world)
    add_participant(world.store, PROJECT, "C")
    before = _audit_count(world)
    with pytest.raises((InvalidRequest, UnknownThing)) as err:
        call(world, c)  # type: ignore[operator]
    assert "\n" not in str(err.value)
    import re

    assert re.search(message, str(err.value)), str(err.value)
    assert _audit_count(world) == before


def test_a_decision_on_a_superseded_version_is_refused(world: World) -> None:
    c = two_people_clip(world)
    with world.store.session() as s:
        v1 = current_version(s, find_clip(s, c)).version_hash
    edit_clip(world.store, c, end=4.5, reason="trimmed later")
    before = _audit_count(world)
    with pytest.raises(
        InvalidRequest, match=r"^clip \d+: version 1 is superseded by version 2; decide on the current version$"
    ):
        record_decision(world.store, c, "A", "research_team", "granted", version_hash=v1[:12])
    assert _audit_count(world) == before
    with pytest.raises(InvalidRequest, match="this edit exists already as a version"):
        edit_clip(world.store, c, end=4.5)


def test_real_names_only_when_the_project_keeps_them(world: World) -> None:
    set_policy(world.store, PROJECT, keep_real_names=True)
    pid = add_participant(world.store, PROJECT, "E", real_name="Erin Example", contact="erin@example.org")
    set_policy(world.store, PROJECT, keep_real_names=False)
    (p,) = [x for x in list_participants(world.store, PROJECT) if x.id == pid]
    assert p.real_name is None  # dropped when the policy changed
    with world.store.session() as s:
        logged = " ".join(e.payload for e in s.scalars(select(AuditEntry)))
    assert "Erin" not in logged and "erin@" not in logged  # the permanent log never held them
