"""Someone who withheld, offered a version with their face blurred (``consent.faces.blur_withheld``), where the
project allows it: the new version needs everyone's decision afresh, theirs too (nothing carries over), and once
they all grant it the gate exports it with their face blurred on every frame (decoded) and the other's not."""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest

from annotation.errors import AccessDenied
from annotation.faces import detect_recording
from annotation.services import add_recording, ensure_project
from annotation.store import Store
from consent.audit import entries
from consent.clips import create_clip
from consent.decisions import record_decision
from consent.errors import InvalidRequest, UnknownThing
from consent.export import export_clips
from consent.faces import assign_track, blur_withheld, blur_withheld_allowed, set_blur_withheld
from consent.models import ClipVersion
from consent.participants import add_appearance, add_participant
from consent.usability import latest_decisions
from tests.fixtures.faces import detail, two_faces_video
from tests.fixtures.team import Team

PROJECT = "Duty room study"


@pytest.fixture(scope="module")
def faces_mp4(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("faces") / "duty room faces.mp4"
    return out, two_faces_video(out)


def test_a_person_who_withheld_is_offered_a_version_with_their_face_blurred(
    store: Store, faces_mp4: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    media, truth = faces_mp4
    rid = add_recording(store, ensure_project(store, PROJECT), media)
    add_participant(store, PROJECT, "A")
    add_participant(store, PROJECT, "B")
    for who in ("A", "B"):
        add_appearance(store, who, rid, 0, 2000)
    info = detect_recording(store, rid)
    clip = create_clip(store, rid, 0.0, 2.0).clip_id

    # the project's stored setting: off until a researcher sets it, with a reason, in the audit log
    refusal = (
        f"clip {clip}: project 'Duty room study' does not allow offering a blurred version to someone who withheld "
        "(setting blur-withheld: frontdoor project set-blur-withheld 'Duty room study' on --reason TEXT)"
    )
    assert not blur_withheld_allowed(store, PROJECT)
    with pytest.raises(InvalidRequest) as refused:
        blur_withheld(store, clip)
    assert str(refused.value) == refusal
    with pytest.raises(InvalidRequest, match="say why the setting blur-withheld changes"):
        set_blur_withheld(store, PROJECT, True, reason="  ")
    with pytest.raises(UnknownThing, match="project 'Elsewhere': not found"):
        set_blur_withheld(store, "Elsewhere", True, reason="ethics amendment 3")
    assert set_blur_withheld(store, PROJECT, True, reason="ethics  amendment 3\napproved")
    assert not set_blur_withheld(store, PROJECT, True, reason="again")  # no change, no entry
    assert blur_withheld_allowed(store, PROJECT)
    with store.session() as s:
        changes = [json.loads(e.payload) for e in entries(s) if e.event == "policy_changed"]
    assert changes == [{"project": PROJECT, "blur_withheld": True, "reason": "ethics amendment 3 approved"}]

    with pytest.raises(InvalidRequest, match=f"^clip {clip}: nobody withheld on version 1: nothing to blur$"):
        blur_withheld(store, clip)
    record_decision(store, clip, "A", "external_seminar", "withheld")
    record_decision(store, clip, "B", "publication", "granted")
    # A withheld a wider use only: for the research team's own view nobody withheld
    with pytest.raises(InvalidRequest, match="nobody withheld research_team on version 1"):
        blur_withheld(store, clip, scope="research_team")
    set_blur_withheld(store, PROJECT, False, reason="approval lapsed")
    with pytest.raises(InvalidRequest) as refused:
        blur_withheld(store, clip, scope="publication")
    assert str(refused.value) == refusal
    set_blur_withheld(store, PROJECT, True, reason="approval renewed")
    with pytest.raises(InvalidRequest, match=r"^participant 'A': no face track assigned .*frontdoor faces assign\)$"):
        blur_withheld(store, clip, scope="publication")
    assign_track(store, min(info.tracks, key=lambda t: t.uncertain).id, "A")

    done = blur_withheld(store, clip, scope="publication")
    assert done.blurred == ("A",)
    assert done.version.number == 2 and done.version.present == ("A", "B")
    with store.session() as s:
        v2 = s.get(ClipVersion, done.version.version_id)
        assert v2 is not None
        assert [r["note"] for r in v2.spec["redactions"]]  # A's face, through the track
        assert latest_decisions(s, v2.id) == {}  # no decision carried over, A's refusal neither

    out = tmp_path / "out"
    out.mkdir()
    report = export_clips(store, "research_team", out, clip_ids=[clip])
    assert not report.exported
    why = " ".join(report.skipped[0]["why"])
    assert "A has not decided" in why and "B has not decided" in why
    record_decision(store, clip, "A", "research_team", "granted")
    assert not export_clips(store, "research_team", out, clip_ids=[clip]).exported  # B still has to
    record_decision(store, clip, "B", "research_team", "granted")
    report = export_clips(store, "research_team", out, clip_ids=[clip])
    assert [x["clip"] for x in report.exported] == [clip], report.skipped

    with av.open(str(media)) as x, av.open(str(out / report.exported[0]["output"])) as y:
        before = [f.to_ndarray(format="gray") for f in x.decode(video=0)]
        after = [f.to_ndarray(format="gray") for f in y.decode(video=0)]
    assert len(after) == len(before) == 50
    for i, faces in truth.items():
        for n, (fx, fy, fw, fh) in faces:
            x0, y0 = max(0, round(fx + 0.1 * fw)), max(0, round(fy + 0.1 * fh))
            x1, y1 = min(320, round(fx + 0.9 * fw)), min(200, round(fy + 0.9 * fh))
            ratio = detail(after[i][y0:y1, x0:x1]) / detail(before[i][y0:y1, x0:x1])
            assert ratio < 0.4 if n == 0 else ratio > 0.7, (i, n, ratio)


def test_migration_0013_goes_down_and_up(store: Store) -> None:
    """The setting is a column of the project's consent policy: gone below 0013, back (off) above it, and a
    project's setting made before a downgrade is off again after it (the column is dropped, not kept)."""
    from alembic import command
    from sqlalchemy import inspect

    from annotation.store.engine import HEAD_REVISION, alembic_config, schema_revision, upgrade_schema

    ensure_project(store, PROJECT)
    set_blur_withheld(store, PROJECT, True, reason="ethics amendment 3")
    command.downgrade(alembic_config(store.engine), "0012")
    assert "blur_withheld" not in {c["name"] for c in inspect(store.engine).get_columns("consent_policy")}
    upgrade_schema(store.engine)
    assert schema_revision(store.engine) == HEAD_REVISION == "0013"
    assert not blur_withheld_allowed(store, PROJECT)
    set_blur_withheld(store, PROJECT, True, reason="again")
    assert blur_withheld_allowed(store, PROJECT)


def test_only_a_researcher_changes_the_setting_on_a_shared_server(team: Team) -> None:
    """PostgreSQL with roles: the setting is a column of the project's consent policy, so it has that table's
    grants (``consent.server.roles``): a researcher changes it; a review station reads it but may not change
    it, a presenter and an auditor neither read nor change it (refused by Python first, by the database in
    raw SQL)."""
    rs = team.as_("researcher")
    assert set_blur_withheld(rs, PROJECT, True, reason="ethics amendment 3")
    assert blur_withheld_allowed(rs, PROJECT)
    assert team.raw(team.as_("reviewer"), "SELECT blur_withheld FROM consent_policy") == [(True,)]
    for kind in ("reviewer", "presenter", "auditor"):
        st = team.as_(kind)
        with pytest.raises(InvalidRequest, match=f"only a researcher may change blur-withheld \\(connected as {kind}"):
            set_blur_withheld(st, PROJECT, False, reason="not mine to change")
        with pytest.raises(AccessDenied):
            team.raw(st, "UPDATE consent_policy SET blur_withheld = false")
    for kind in ("presenter", "auditor"):
        with pytest.raises(AccessDenied):
            team.raw(team.as_(kind), "SELECT blur_withheld FROM consent_policy")
    assert blur_withheld_allowed(rs, PROJECT)
