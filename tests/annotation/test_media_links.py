"""Finding a document's media on this machine, with their time origins, as ELAN looks for them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from annotation.errors import NotFound
from annotation.services import add_recording, ensure_project, import_file
from annotation.store.engine import Store
from annotation.store.media_links import document_media, path_of_url

EAF = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="" DATE="2026-11-29T00:00:00+00:00" FORMAT="3.0" VERSION="3.0"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:noNamespaceSchemaLocation="http://www.mpi.nl/tools/elan/EAFv3.0.xsd">
  <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">
{descriptors}
  </HEADER>
  <TIME_ORDER/>
  <TIER LINGUISTIC_TYPE_REF="default" TIER_ID="Phase"/>
  <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default" TIME_ALIGNABLE="true"/>
</ANNOTATION_DOCUMENT>
"""


def _media(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    video, mic = folder / "duty room.mp4", folder / "desk mic.wav"
    for out, src in ((video, "testsrc=duration=1:size=160x90:rate=25"), (mic, "sine=duration=2")):
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", src, str(out)], check=True)
    return video, mic


def _eaf(folder: Path, *descriptors: str) -> Path:
    p = folder / "session.eaf"
    p.write_text(EAF.format(descriptors="\n".join(f"    <MEDIA_DESCRIPTOR {d}/>" for d in descriptors)), "utf-8")
    return p


def test_media_are_found_beside_the_file_with_their_origins(store: Store, tmp_path: Path) -> None:
    video, mic = _media(tmp_path / "moved here")
    eaf = _eaf(
        tmp_path / "moved here",
        'MEDIA_URL="file:///D:/Data/duty%20room.mp4" MIME_TYPE="video/mp4" TIME_ORIGIN="200"',
        'MEDIA_URL="file:///D:/Data/desk%20mic.wav" MIME_TYPE="audio/x-wav" '
        'RELATIVE_MEDIA_URL="./desk%20mic.wav" TIME_ORIGIN="1500"',
        'MEDIA_URL="file:///D:/Data/duty%20room.wav" MIME_TYPE="audio/x-wav" '
        'EXTRACTED_FROM="file:///D:/Data/duty%20room.mp4"',
    )
    doc = import_file(store, eaf).doc_id
    primary, follower, extracted = document_media(store, doc)
    assert (primary.primary, primary.path, primary.time_origin_ms) == (True, str(video.resolve()), 200)
    assert (follower.primary, follower.path, follower.time_origin_ms) == (False, str(mic.resolve()), 1500)
    assert extracted.extracted_from and extracted.path is None
    assert extracted.problem == "D:/Data/duty room.wav: media file not found"


def test_the_recording_is_the_primary_medium_and_keeps_its_descriptor_origin(store: Store, tmp_path: Path) -> None:
    video, mic = _media(tmp_path / "media")
    other = tmp_path / "elsewhere"
    other.mkdir()
    eaf = _eaf(
        other,
        'MEDIA_URL="file:///old/duty%20room.mp4" MIME_TYPE="video/mp4" TIME_ORIGIN="40"',
        f'MEDIA_URL="{mic.as_uri()}" MIME_TYPE="audio/x-wav" TIME_ORIGIN="-5"',
    )
    rec = add_recording(store, ensure_project(store, "P"), video)
    doc = import_file(store, eaf, recording_id=rec).doc_id
    primary, follower = document_media(store, doc)
    assert primary.path == str(video.resolve()) and primary.time_origin_ms == 40 and primary.is_video
    assert follower.path == str(mic.resolve()) and follower.time_origin_ms == 0  # a negative origin is 0
    video.unlink()
    primary, _ = document_media(store, doc)
    assert primary.path is None and primary.problem is not None and str(video.resolve()) in primary.problem


def test_without_media_or_document(store: Store, tmp_path: Path) -> None:
    doc = import_file(store, _eaf(tmp_path)).doc_id
    assert document_media(store, doc) == []
    with pytest.raises(NotFound, match="document 999999"):
        document_media(store, 999999)


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("file:///D:/Data/a%20b.wav", "D:/Data/a b.wav"),
        ("file:///home/r/x.mp4", "/home/r/x.mp4"),
        ("file:/./x.wav", "./x.wav"),
        ("file://server/share/x.wav", "//server/share/x.wav"),
        ("./x.mov", "./x.mov"),
        ("/abs/y.mp4", "/abs/y.mp4"),
    ],
)
def test_elan_media_urls(url: str, path: str) -> None:
    assert path_of_url(url) == path
