"""The media of a document, found on this machine: the recording's video and any further media (a desk
microphone, a second camera) the ELAN file names, each with its time origin.

ELAN keeps media as ``MEDIA_DESCRIPTOR`` elements: an absolute ``MEDIA_URL`` (often a path on the machine
that wrote the file), an optional ``RELATIVE_MEDIA_URL`` (relative to the ``.eaf``), ``TIME_ORIGIN`` (the
offset in ms into that file at which the document's time 0 falls) and ``EXTRACTED_FROM`` (audio that was
extracted from a video, which ELAN uses for the waveform rather than playing it twice). Files are looked for
where ELAN looks: the absolute path, the relative one beside the ``.eaf``, and the same file name beside
the ``.eaf`` or the recording; the store's recording (found again by hash with ``relink``) wins for the
primary medium.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from sqlalchemy import select

from annotation.store.documents import get_document_row
from annotation.store.engine import Store
from annotation.store.tables import MediaDescriptor, Recording

__all__ = ["DocumentMedia", "document_media", "path_of_url"]


@dataclass(frozen=True)
class DocumentMedia:
    """One medium of a document. ``path`` is None when the file was not found (``problem`` says where it
    was looked for, in one line)."""

    url: str
    path: str | None
    mime_type: str | None
    time_origin_ms: int
    primary: bool
    extracted_from: str | None = None
    problem: str | None = None

    @property
    def is_video(self) -> bool:
        return (self.mime_type or "").startswith("video") or Path(self.url).suffix.lower() in _VIDEO_SUFFIXES


_VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mpg", ".mpeg", ".avi", ".mkv", ".webm", ".mts", ".ts"}


def path_of_url(url: str) -> str:
    """A file path from an ELAN media URL (``file:///C:/x.wav``, ``file:/./x.wav``, ``./x.wav``, plain paths)."""
    if url.startswith("file:"):
        parsed = urlparse(url)
        path = unquote(parsed.path)
        if parsed.netloc and parsed.netloc not in ("", "localhost"):
            path = f"//{parsed.netloc}{path}"  # a UNC share
        if len(path) > 2 and path[0] == "/" and path[2] == ":":  # /C:/... on Windows
            path = path[1:]
        if path.startswith("/./") or path.startswith("/../"):
            path = path[1:]  # ELAN's file:/./x relative form
        return path
    return unquote(url)


def _candidates(url: str, relative: str | None, doc_dir: Path | None, rec_dir: Path | None) -> list[Path]:
    out: list[Path] = []
    if relative and doc_dir is not None:
        out.append(doc_dir / path_of_url(relative))
    out.append(Path(path_of_url(url)))
    name = Path(path_of_url(url).replace("\\", "/")).name
    for d in (doc_dir, rec_dir):
        if d is not None and name:
            out.append(d / name)
    return out


def descriptor_origin(media: Sequence[Mapping[str, str]], recording_name: str) -> int:
    """The TIME_ORIGIN (ms, never negative) of the media descriptor that stands for a recording: the one that
    names its file, else the only video descriptor that is not extracted from another; 0 without one."""
    for m in media:
        url = m.get("MEDIA_URL") or m.get("RELATIVE_MEDIA_URL") or ""
        if Path(path_of_url(url).replace("\\", "/")).name == recording_name:
            return _int(m.get("TIME_ORIGIN"))
    videos = [
        m
        for m in media
        if not m.get("EXTRACTED_FROM")
        and (
            (m.get("MIME_TYPE") or "").startswith("video")
            or Path(path_of_url(m.get("MEDIA_URL") or "")).suffix.lower() in _VIDEO_SUFFIXES
        )
    ]
    return _int(videos[0].get("TIME_ORIGIN")) if len(videos) == 1 else 0


def _int(text: str | None) -> int:
    try:
        return max(int(text or 0), 0)
    except ValueError:
        return 0


def document_media(store: Store, doc_id: int) -> list[DocumentMedia]:
    """The document's media, the primary (the recording's video) first.

    The primary medium is the store's recording when the document has one, with the time origin of the
    descriptor that names the same file (by name); without a recording, the first video descriptor found.
    Media extracted from another (``EXTRACTED_FROM``) are listed but marked, not to be played.

    Raises:
        NotFound: no such document.
    """
    with store.session() as s:
        doc = get_document_row(s, doc_id)
        rec = s.get(Recording, doc.recording_id) if doc.recording_id else None
        rec_path, rec_name = (rec.abs_path, rec.name) if rec else (None, None)
        descriptors = [
            (
                d.attr("MEDIA_URL") or "",
                d.attr("RELATIVE_MEDIA_URL"),
                d.attr("MIME_TYPE"),
                d.attr("TIME_ORIGIN"),
                d.attr("EXTRACTED_FROM"),
            )
            for d in s.scalars(
                select(MediaDescriptor).where(MediaDescriptor.document_id == doc_id).order_by(MediaDescriptor.pos)
            )
        ]
        source = doc.source_path
        stored_origin = int(doc.media_origin_ms or 0)
    doc_dir = Path(source).parent if source else None
    rec_dir = Path(rec_path).parent if rec_path else None

    out: list[DocumentMedia] = []
    primary_taken = False
    if rec_path is not None:
        mine = next((d for d in descriptors if Path(path_of_url(d[0]).replace("\\", "/")).name == rec_name), None)
        found = rec_path if os.path.isfile(rec_path) else None
        out.append(
            DocumentMedia(
                url=Path(rec_path).as_uri(),
                path=found,
                mime_type=(mine[2] if mine else None),
                time_origin_ms=stored_origin,  # set from the descriptor at import; one truth for every use
                primary=True,
                problem=None if found else f"{rec_path}: media file not found (relink it by its hash)",
            )
        )
        primary_taken = True
        descriptors = [d for d in descriptors if d is not mine]

    for url, relative, mime, origin, extracted in descriptors:
        if not url and not relative:
            continue
        found_path = next((p for p in _candidates(url, relative, doc_dir, rec_dir) if p.is_file()), None)
        media = DocumentMedia(
            url=url or relative or "",
            path=str(found_path.resolve()) if found_path else None,
            mime_type=mime,
            time_origin_ms=_int(origin),
            primary=False,
            extracted_from=extracted,
            problem=None if found_path else f"{path_of_url(url or relative or '')}: media file not found",
        )
        if not primary_taken and media.is_video and media.path and not extracted:
            media = DocumentMedia(**{**media.__dict__, "primary": True})
            primary_taken = True
            out.insert(0, media)
            continue
        out.append(media)
    return out
