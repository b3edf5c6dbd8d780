"""The printable consent form, built from a real store (SQLite and PostgreSQL) and a generated recording."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import av
import numpy as np
import pypdf
import pytest

from annotation.services import add_recording, ensure_project
from annotation.store.engine import Store, open_store, sqlite_url
from consent.clips import create_clip, edit_clip, set_presence
from consent.decisions import record_decision
from consent.errors import InvalidRequest, UnknownThing
from consent.form_reference import form_reference
from consent.forms.content import form_data
from consent.forms.form import write_form
from consent.forms.html_page import render_html
from consent.participants import add_appearance, add_participant, edit_participant, set_policy
from consent.retention.withdrawal import withdraw
from consent.rows import clip as find_clip
from consent.rows import current_version
from consent.scopes import LABELS, SCOPES
from media_tools.frames import thumbnail
from media_tools.synth import make_coded_recording, make_test_recording, read_frame_code

PROJECT = "Łódź duty room"
ME = '<Duty & "A">'
OTHER = "Zebedee"  # in clip 1 with ME
THIRD = "Yolanda"  # alone in clip 3
REAL_NAME = "Jane Realname"
CONTACT = "jane.realname@example.org"
HUDDLE = "Morning huddle — Łódź"
CALL = 'Call <b>&amp; "x"'
ON = date(2026, 12, 1)
BOX = {"x": 0.1, "y": 0.1, "w": 0.4, "h": 0.5}
BOX2 = {"x": 0.6, "y": 0.5, "w": 0.3, "h": 0.3}


@pytest.fixture(scope="session")
def form_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_recording(tmp_path_factory.mktemp("forms") / "duty room.mp4", seconds=6, size="320x180")


@pytest.fixture(scope="session")
def coded_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_coded_recording(tmp_path_factory.mktemp("forms") / "coded.mp4", seconds=4, size="320x192")


@pytest.fixture(autouse=True)
def _env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path_factory.getbasetemp() / "forms-cache"))


@dataclass
class Scene:
    store: Store
    media: Path
    recording_id: int
    me: int
    other: int
    third: int
    huddle: int  # ME and OTHER, blurred, bleeped, captioned, titled
    call: int  # ME alone, edited once (version 2)
    afternoon: int  # THIRD alone


def build(store: Store, media: Path) -> Scene:
    pid = ensure_project(store, PROJECT)
    rec = add_recording(store, pid, media, duration_ms=6000, fps=25.0)
    set_policy(store, PROJECT, keep_real_names=True)
    me = add_participant(store, PROJECT, ME, real_name=REAL_NAME, contact=CONTACT, role="duty social worker")
    other = add_participant(store, PROJECT, OTHER)
    third = add_participant(store, PROJECT, THIRD)
    add_appearance(store, me, rec, 0, 4000)
    add_appearance(store, other, rec, 1000, 3000)
    add_appearance(store, third, rec, 4500, 6000)
    huddle = create_clip(
        store,
        rec,
        0.5,
        2.5,
        name=HUDDLE,
        description="Team & <manager> plan the day",
        extra={
            "redactions": [{"kind": "blur", "start": 0.5, "end": 2.5, "keyframes": [{"t": 0.5, **BOX}]}],
            "audio": [{"kind": "bleep", "start": 1.0, "end": 1.4}, {"kind": "bleep", "start": 2.0, "end": 2.2}],
            "captions": {"mode": "burn", "cues": [{"start": 0.6, "end": 1.2, "text": "Morning"}]},
            "title": {"text": "Duty — Łódź"},
        },
    )
    assert set(huddle.present) == {ME, OTHER}
    call = create_clip(store, rec, 3.0, 3.8, name=CALL)
    afternoon = create_clip(store, rec, 4.6, 5.8, name="Afternoon")
    assert afternoon.present == (THIRD,)
    record_decision(store, huddle.clip_id, me, "research_team", "granted")
    record_decision(store, huddle.clip_id, me, "publication", "withheld")
    record_decision(store, huddle.clip_id, other, "internal_training", "granted")  # not ME's: not shown
    record_decision(store, call.clip_id, me, "research_team", "withheld")  # on version 1: superseded
    v2 = edit_clip(store, call.clip_id, end=3.9, reason="a tenth longer")
    assert v2.number == 2
    record_decision(store, call.clip_id, me, "internal_training", "granted", condition_texts=["not-after:2030-01-01"])
    return Scene(store, media, rec, me, other, third, huddle.clip_id, call.clip_id, afternoon.clip_id)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty folder for the forms (the SQLite store lives in tmp_path itself)."""
    d = tmp_path / "forms out"
    d.mkdir()
    return d


@pytest.fixture
def scene(store: Store, form_media: Path) -> Scene:
    return build(store, form_media)


@pytest.fixture
def sqlite_scene(tmp_path: Path, form_media: Path) -> Iterator[Scene]:
    s = open_store(sqlite_url(tmp_path / "forms.sqlite"))
    try:
        yield build(s, form_media)
    finally:
        s.close()


def decode_jpeg(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data), format="jpeg_pipe") as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


class _Page(HTMLParser):
    """Tags and text of an HTML page, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    p.close()
    return p


def pdf_text(path: Path) -> tuple[str, pypdf.PdfReader]:
    reader = pypdf.PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", text), reader


# ---------------------------------------------------------------------------------------------- the data


def test_form_lists_the_current_version_of_each_clip_the_participant_is_present_in(scene: Scene) -> None:
    data = form_data(scene.store, scene.me, on=ON)
    assert (data.participant_id, data.pseudonym, data.project_name, data.generated_on) == (scene.me, ME, PROJECT, ON)
    assert [c.clip_id for c in data.clips] == [scene.huddle, scene.call]  # not the afternoon: ME is not in it
    huddle, call = data.clips
    assert (huddle.name, huddle.version_number, huddle.start, huddle.end, huddle.duration) == (HUDDLE, 1, 0.5, 2.5, 2.0)
    assert huddle.description == "Team & <manager> plan the day"
    assert huddle.recording_name == "duty room.mp4"
    assert (call.version_number, call.end) == (2, 3.9)  # the edit, not the version first made
    with scene.store.session() as s:
        current = current_version(s, find_clip(s, scene.call))
        assert call.version_hash == current.version_hash
        assert len(current.version_hash) == 64
    assert huddle.shows == [
        "1 other member of staff appears",
        "2 passages bleeped (names of children or families)",
        "1 area blurred",
        "captions shown",
        "title: Duty — Łódź",
    ]
    assert call.shows == ["no other member of staff appears", "nothing is blurred or bleeped"]
    # ME's own decisions on this version only: OTHER's grant and the withholding on call version 1 do not show
    assert huddle.decisions == {
        "research_team": "granted",
        "internal_training": "",
        "external_seminar": "",
        "publication": "withheld",
    }
    assert call.decisions == {
        "research_team": "",
        "internal_training": "granted with conditions: not after 2030-01-01",
        "external_seminar": "",
        "publication": "",
    }
    for c in data.clips:
        assert list(c.decisions) == list(SCOPES)
        assert len(c.thumbnails) == 3
        assert all(t.startswith(b"\xff\xd8") and t.endswith(b"\xff\xd9") for t in c.thumbnails)
        assert all(decode_jpeg(t).shape == (180, 320, 3) for t in c.thumbnails)


@dataclass
class Coded:
    store: Store
    media: Path
    clip_id: int


@pytest.fixture
def coded(tmp_path: Path, coded_media: Path) -> Iterator[Coded]:
    """A clip of a recording whose frames carry their number and fine detail, blurred in one area throughout
    and boxed in another for its first half second."""
    st = open_store(sqlite_url(tmp_path / "coded.sqlite"))
    try:
        rec = add_recording(st, ensure_project(st, PROJECT), coded_media)
        add_participant(st, PROJECT, "A")
        info = create_clip(
            st,
            rec,
            0.5,
            2.5,
            add_present=["A"],
            extra={
                "redactions": [
                    {"kind": "blur", "start": 0.5, "end": 2.5, "keyframes": [{"t": 0.5, **BOX}]},
                    {"kind": "box", "start": 0.5, "end": 1.0, "keyframes": [{"t": 0.5, **BOX2}]},
                ]
            },
        )
        yield Coded(st, coded_media, info.clip_id)
    finally:
        st.close()


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(float) @ np.array([0.299, 0.587, 0.114])


def region(a: np.ndarray, box: dict[str, float], w: int = 320, h: int = 192) -> np.ndarray:
    x0, y0 = int(box["x"] * w), int(box["y"] * h)
    x1, y1 = int((box["x"] + box["w"]) * w), int((box["y"] + box["h"]) * h)
    return a[y0:y1, x0:x1]


def test_stills_are_the_frames_at_10_50_and_90_percent_of_the_clip(sqlite_scene: Scene) -> None:
    call = form_data(sqlite_scene.store, sqlite_scene.me).clips[1]  # no redaction: the cached thumbnails
    assert call.thumbnails == [thumbnail(sqlite_scene.media, 3.0 + f * (3.9 - 3.0), width=320) for f in (0.1, 0.5, 0.9)]


def test_stills_show_the_right_frames_with_the_redactions_on_screen(coded: Coded) -> None:
    (clip,) = form_data(coded.store, "A").clips
    times = [0.5 + f * 2.0 for f in (0.1, 0.5, 0.9)]  # 0.7, 1.5 and 2.3 s: frames 17, 37 and 57 at 25 fps
    for t, jpeg in zip(times, clip.thumbnails, strict=True):
        still = decode_jpeg(jpeg)
        assert read_frame_code(luma(still)) == int(t * 25)
        plain = decode_jpeg(thumbnail(coded.media, t, width=320))
        # the blurred area keeps no detail of the picture beneath
        assert region(luma(still), BOX).std() < region(luma(plain), BOX).std() / 4, t
        assert np.abs(region(luma(still), BOX) - region(luma(plain), BOX)).mean() > 15, t
        # the box is filled while it is on screen, and only then
        if t < 1.0:
            assert region(luma(still), BOX2).max() < 40
        else:
            assert np.array_equal(region(still, BOX2), region(plain, BOX2))
        # the rest of the picture is untouched (JPEG blocks away from the boxes encode the same)
        assert np.array_equal(still[128:, :96], plain[128:, :96])


def test_presence_not_appearance_decides_which_clips_are_on_the_form(scene: Scene) -> None:
    # someone the appearances place in a clip cannot be taken out of it by hand
    with pytest.raises(InvalidRequest, match="appears in the recording during this clip"):
        set_presence(scene.store, scene.huddle, remove=[scene.me])
    set_presence(scene.store, scene.afternoon, add=[scene.me])
    data = form_data(scene.store, scene.me)
    assert [c.clip_id for c in data.clips] == [scene.huddle, scene.call, scene.afternoon]  # by time
    assert data.clips[2].shows[0] == "1 other member of staff appears"


def test_a_clip_edited_away_from_the_participant_leaves_the_form(scene: Scene) -> None:
    edit_clip(scene.store, scene.huddle, start=4.6, end=5.5)  # now only THIRD appears in it
    data = form_data(scene.store, scene.me)
    assert [c.clip_id for c in data.clips] == [scene.call]


def test_the_reference_names_the_versions_on_the_form(scene: Scene) -> None:
    data = form_data(scene.store, scene.me)
    ref = data.reference
    assert re.fullmatch(rf"FD-{scene.me}-[0-9A-F]{{8}}", ref)
    assert form_data(scene.store, scene.me).reference == ref  # stable
    assert form_reference(scene.me, reversed([c.version_hash for c in data.clips])) == ref  # order-free
    edit_clip(scene.store, scene.call, end=3.7)
    fresh = form_data(scene.store, scene.me).reference
    assert fresh != ref  # a stale paper form can be told
    # a decision from the stale form is refused: the person never saw the edited clip
    with pytest.raises(InvalidRequest, match=r"^form FD-\d+-[0-9A-F]{8}: does not match the clips as they are now"):
        record_decision(
            scene.store, scene.huddle, scene.me, "external_seminar", "granted", method="paper_form", form_reference=ref
        )
    # the researcher types the reference of the form the person signed back in
    record_decision(
        scene.store, scene.huddle, scene.me, "external_seminar", "granted", method="paper_form", form_reference=fresh
    )


def test_a_withdrawn_participant_gets_no_form(scene: Scene, out_dir: Path) -> None:
    withdraw(scene.store, scene.me, reason="moved on")
    with pytest.raises(InvalidRequest) as err:
        form_data(scene.store, scene.me)
    assert "withdrew" in err.value.message and "\n" not in err.value.message
    with pytest.raises(InvalidRequest):
        write_form(scene.store, ME, out_dir / "form.pdf")
    assert list(out_dir.iterdir()) == []


def test_unknown_participant_and_one_in_no_clip(scene: Scene, out_dir: Path) -> None:
    with pytest.raises(UnknownThing):
        form_data(scene.store, "nobody")
    lonely = add_participant(scene.store, PROJECT, "Lonely")
    data = form_data(scene.store, lonely)
    assert data.clips == []
    assert "nothing to decide" in render_text(render_html(data))
    with pytest.raises(InvalidRequest) as err:
        write_form(scene.store, lonely, out_dir / "form.html")
    assert "present in no clip" in err.value.message
    assert list(out_dir.iterdir()) == []


def render_text(page: str) -> str:
    return " ".join(" ".join(parse(page).text).split())


def test_missing_media_is_one_line(tmp_path: Path, form_media: Path) -> None:
    copy = tmp_path / "moved.mp4"
    copy.write_bytes(form_media.read_bytes())
    st = open_store(sqlite_url(tmp_path / "s.sqlite"))
    try:
        rec = add_recording(st, ensure_project(st, PROJECT), copy)
        add_participant(st, PROJECT, "A")
        create_clip(st, rec, 1.0, 2.0, add_present=["A"])
        copy.unlink()
        with pytest.raises(InvalidRequest) as err:
            form_data(st, "A")
        assert "moved.mp4" in err.value.message and "\n" not in err.value.message
    finally:
        st.close()


# ---------------------------------------------------------------------------------------------- HTML


def test_html_form_is_self_contained_escaped_and_complete(scene: Scene, out_dir: Path) -> None:
    data = form_data(scene.store, scene.me, on=ON)
    out = write_form(scene.store, scene.me, out_dir / "form.html", on=ON)
    assert out == out_dir / "form.html"
    page = out.read_text(encoding="utf-8")
    assert page == render_html(data)
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "@page { size: A4" in page and "break-before: page" in page
    # escaped in the source, intact once parsed
    assert "&lt;Duty &amp; &quot;A&quot;&gt;" in page and ME not in page
    assert "Call &lt;b&gt;&amp;amp; &quot;x&quot;" in page and "<b>" not in page
    parsed = parse(page)
    text = render_text(page)
    assert ME in text and HUDDLE in text and CALL in text and PROJECT in text and "title: Duty — Łódź" in text
    assert "Team & <manager> plan the day" in text
    assert set(parsed.tags) <= {
        *("html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "table", "thead", "tbody"),
        *("tr", "th", "td", "p", "strong", "section", "article", "ul", "li", "div", "figure", "img", "figcaption"),
        "span",
    }
    # nothing is fetched when it is opened or printed
    assert "script" not in parsed.tags and "url(" not in page and "@import" not in page and "href" not in page
    # three inline stills per clip, the clip's own bytes
    assert len(parsed.images) == 3 * len(data.clips)
    assert all(src.startswith("data:image/jpeg;base64,") for src in parsed.images)
    assert [base64.b64decode(src.split(",", 1)[1]) for src in parsed.images] == [
        t for c in data.clips for t in c.thumbnails
    ]
    # a row per use per clip, in order, with two tick boxes each
    for label in LABELS.values():
        assert text.count(label) == len(data.clips)
    assert [text.index(LABELS[sc]) for sc in SCOPES] == sorted(text.index(LABELS[sc]) for sc in SCOPES)
    assert page.count('<span class="box"></span>') == 2 * len(SCOPES) * len(data.clips)
    assert "granted with conditions: not after 2030-01-01" in text and "withheld" in text
    assert text.count(data.reference) >= 2 and "version 2" in text
    assert "Signature" in text and "Date" in text and "Conditions, if any:" in text
    # privacy: the pseudonym only; others are counted, never named
    for secret in (OTHER, THIRD, REAL_NAME, CONTACT, "duty social worker"):
        assert secret not in page
    assert sorted(p.name for p in out_dir.iterdir()) == ["form.html"]  # no temporary file left


def test_writing_again_replaces_the_file(sqlite_scene: Scene, out_dir: Path) -> None:
    out = out_dir / "form.html"
    out.write_text("old", encoding="utf-8")
    write_form(sqlite_scene.store, sqlite_scene.me, out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out_dir.iterdir()) == ["form.html"]


@pytest.mark.parametrize("name", ["form.docx", "form", "form.html.txt", "form.pdf.bak"])
def test_other_extensions_are_refused(sqlite_scene: Scene, out_dir: Path, name: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        write_form(sqlite_scene.store, sqlite_scene.me, out_dir / name)
    assert err.value.message.endswith(": use an .html or .pdf name")
    assert list(out_dir.iterdir()) == []


def test_a_missing_folder_is_refused(sqlite_scene: Scene, out_dir: Path) -> None:
    with pytest.raises(InvalidRequest) as err:
        write_form(sqlite_scene.store, sqlite_scene.me, out_dir / "nowhere" / "form.pdf")
    assert "does not exist" in err.value.message


# ---------------------------------------------------------------------------------------------- PDF


def test_pdf_form_carries_the_same_content(scene: Scene, out_dir: Path) -> None:
    out = write_form(scene.store, scene.me, out_dir / "Form.PDF", on=ON)
    raw = out.read_bytes()
    assert raw.startswith(b"%PDF-")
    data = form_data(scene.store, scene.me, on=ON)
    text, reader = pdf_text(out)
    for want in (ME, PROJECT, HUDDLE, CALL, data.reference, "title: Duty — Łódź", "Team & <manager> plan the day"):
        assert want in text, want
    for label in LABELS.values():
        assert text.count(label) == len(data.clips), label
    assert "Granted" in text and "Withheld" in text and "Conditions, if any:" in text
    assert "granted with conditions: not after 2030-01-01" in text
    assert "Signature" in text and "Name (written by the researcher)" in text
    assert "2026-12-01" in text and "version 2" in text
    for secret in (OTHER, THIRD, REAL_NAME, CONTACT):
        assert secret not in text
        assert secret.encode() not in raw
    # the stills are embedded, as JPEGs
    images = [img for page in reader.pages for img in page.images]
    assert len(images) >= 3 * len(data.clips)
    assert all(img.data.startswith(b"\xff\xd8") for img in images)
    assert reader.metadata is not None and reader.metadata.title is not None and ME in reader.metadata.title
    assert sorted(p.name for p in out_dir.iterdir()) == ["Form.PDF"]


def test_pdf_keeps_odd_characters(sqlite_scene: Scene, out_dir: Path) -> None:
    odd = "Łódź & <Ève> \"quoted\" 'single' — ½"
    edit_participant(sqlite_scene.store, sqlite_scene.me, pseudonym=odd)
    pdf = write_form(sqlite_scene.store, odd, out_dir / "f.pdf")
    page = write_form(sqlite_scene.store, odd, out_dir / "f.html").read_text(encoding="utf-8")
    text, _ = pdf_text(pdf)
    assert odd in text
    assert odd in render_text(page)
