"""The edit spec: one clip of one recording, with its redactions, captions, title card and watermark.

A spec is a JSON document described by ``resources/schemas/edit-spec.schema.json``. Times are seconds of
the source recording. A clip holds the source frames whose timestamps lie in ``[start, end)``; a picture
redaction covers every frame that is on screen at any moment of its range, and an audio redaction every
sample in its range.

``load_spec`` / ``parse_spec`` check the document against the schema, then what a schema cannot say (end
after start, boxes inside the frame, keyframes in time order, times inside the source). Every refusal is
one line naming the field, e.g. ``clip.json: redactions[0].keyframes[1].x: 1.3 is greater than the maximum
of 1``. A parsed spec is immutable; ``canonical_json`` gives the byte-stable form its identity is hashed
from.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from media_tools.errors import SpecError, os_problem

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "resources" / "schemas" / "edit-spec.schema.json"

Mode = Literal["accurate", "copy", "smart"]
BoxKind = Literal["blur", "pixelate", "box"]
AudioKind = Literal["mute", "bleep"]


@dataclass(frozen=True)
class Keyframe:
    t: float
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Redaction:
    """A box over a time range; between keyframes the box moves and resizes linearly."""

    kind: BoxKind
    start: float
    end: float
    keyframes: tuple[Keyframe, ...]
    note: str | None = None

    def box_at(self, t: float) -> tuple[float, float, float, float]:
        """The box (x, y, w, h) at source time ``t``: held before the first keyframe and after the last."""
        ks = self.keyframes
        if t <= ks[0].t:
            k = ks[0]
            return k.x, k.y, k.w, k.h
        for a, b in itertools.pairwise(ks):
            if t <= b.t:
                f = (t - a.t) / (b.t - a.t)
                return (
                    a.x + (b.x - a.x) * f,
                    a.y + (b.y - a.y) * f,
                    a.w + (b.w - a.w) * f,
                    a.h + (b.h - a.h) * f,
                )
        k = ks[-1]
        return k.x, k.y, k.w, k.h


@dataclass(frozen=True)
class AudioRedaction:
    kind: AudioKind
    start: float
    end: float
    note: str | None = None


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Captions:
    mode: Literal["burn", "soft"] = "burn"
    cues: tuple[Cue, ...] = ()
    document: str | None = None
    tier: str | None = None

    @property
    def resolved(self) -> bool:
        return self.document is None


@dataclass(frozen=True)
class Title:
    text: str
    seconds: float = 3.0


@dataclass(frozen=True)
class Encode:
    crf: int = 20
    preset: str = "veryfast"
    audio_bitrate: str = "128k"


@dataclass(frozen=True)
class EditSpec:
    source: Path
    start: float
    end: float
    mode: Mode = "accurate"
    redactions: tuple[Redaction, ...] = ()
    audio: tuple[AudioRedaction, ...] = ()
    captions: Captions | None = None
    title: Title | None = None
    watermark: str | None = None
    encode: Encode = field(default_factory=Encode)

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def must_reencode(self) -> bool:
        """True when the pictures or sound are changed: copy and smart modes can then never be used."""
        return bool(self.redactions or self.audio or self.captions or self.title or self.watermark)

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready data (defaults included, source as given)."""
        d: dict[str, Any] = {"source": str(self.source), "start": self.start, "end": self.end, "mode": self.mode}
        if self.redactions:
            d["redactions"] = [
                _drop_none(
                    {
                        "kind": r.kind,
                        "start": r.start,
                        "end": r.end,
                        "keyframes": [{"t": k.t, "x": k.x, "y": k.y, "w": k.w, "h": k.h} for k in r.keyframes],
                        "note": r.note,
                    }
                )
                for r in self.redactions
            ]
        if self.audio:
            d["audio"] = [
                _drop_none({"kind": a.kind, "start": a.start, "end": a.end, "note": a.note}) for a in self.audio
            ]
        if self.captions is not None:
            c = self.captions
            d["captions"] = _drop_none(
                {
                    "mode": c.mode,
                    "cues": [{"start": q.start, "end": q.end, "text": q.text} for q in c.cues] if c.resolved else None,
                    "document": c.document,
                    "tier": c.tier,
                }
            )
        if self.title is not None:
            d["title"] = {"text": self.title.text, "seconds": self.title.seconds}
        if self.watermark:
            d["watermark"] = self.watermark
        d["encode"] = {
            "crf": self.encode.crf,
            "preset": self.encode.preset,
            "audio_bitrate": self.encode.audio_bitrate,
        }
        return d

    def canonical_json(self, *, source_sha256: str | None = None) -> str:
        """Sorted, compact JSON: the same edit always gives the same bytes. With ``source_sha256`` the
        source is named by its content, not its path, so a moved file keeps the clip's identity."""
        d = self.to_dict()
        if source_sha256 is not None:
            d["source"] = f"sha256:{source_sha256}"
        return json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def version_hash(self, source_sha256: str) -> str:
        """The identity of this exact clip version: SHA-256 of the canonical spec and the source's hash."""
        return hashlib.sha256(self.canonical_json(source_sha256=source_sha256).encode("utf-8")).hexdigest()

    def with_changes(self, **changes: Any) -> EditSpec:
        return replace(self, **changes)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@functools.cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _field(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(spec)"


def _schema_message(err: Any) -> str:
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        return f"unknown key {extra[0]!r}" if len(extra) == 1 else f"unknown keys {', '.join(map(repr, extra))}"
    if err.validator == "required":
        return str(err.message).replace("is a required property", "is required")
    return str(err.message)


def parse_spec(data: Any, *, name: str = "spec", base_dir: str | os.PathLike[str] | None = None) -> EditSpec:
    """Check and build a spec from JSON data. ``name`` (usually the spec's file name) starts every error.

    Raises:
        SpecError: the data breaks the schema or a rule the schema cannot state; the message names the field.
    """
    try:
        errors = sorted(_validator().iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.path))))
    except RecursionError:  # a message quoting a value nested a thousand deep
        where = _deepest_key(data)
        raise SpecError(f"{name}: {where + ': ' if where else ''}lists or objects nested too deeply") from None
    if errors:
        err = errors[0]
        where = _field(err.absolute_path) + ": " if err.absolute_path else ""
        raise SpecError(f"{name}: {where}{_schema_message(err)}")
    _check_values(data, name)
    src = Path(data["source"]).expanduser()
    if not src.is_absolute() and base_dir is not None:
        src = Path(base_dir) / src
    enc = data.get("encode", {})
    cap = data.get("captions")
    spec = EditSpec(
        source=src,
        start=float(data["start"]),
        end=float(data["end"]),
        mode=data.get("mode", "accurate"),
        redactions=tuple(
            Redaction(
                r["kind"],
                float(r["start"]),
                float(r["end"]),
                tuple(Keyframe(*(float(k[c]) for c in "txywh")) for k in r["keyframes"]),
                r.get("note"),
            )
            for r in data.get("redactions", [])
        ),
        audio=tuple(
            AudioRedaction(a["kind"], float(a["start"]), float(a["end"]), a.get("note")) for a in data.get("audio", [])
        ),
        captions=None
        if cap is None
        else Captions(
            mode=cap.get("mode", "burn"),
            cues=tuple(Cue(float(q["start"]), float(q["end"]), q["text"]) for q in cap.get("cues", [])),
            document=cap.get("document"),
            tier=cap.get("tier"),
        ),
        title=None if "title" not in data else Title(data["title"]["text"], float(data["title"].get("seconds", 3.0))),
        watermark=data.get("watermark") or None,
        encode=Encode(
            crf=int(enc.get("crf", 20)),
            preset=enc.get("preset", "veryfast"),
            audio_bitrate=enc.get("audio_bitrate", "128k"),
        ),
    )
    check_rules(spec, name=name)
    return spec


def check_rules(spec: EditSpec, *, name: str = "spec", source_duration: float | None = None) -> None:
    """The rules a schema cannot state; with ``source_duration`` also that every time lies in the source.

    Raises:
        SpecError: naming the first field that breaks a rule.
    """

    def bad(where: str, problem: str) -> SpecError:
        return SpecError(f"{name}: {where}: {problem}")

    # NaN passes every comparison silently (a NaN end would drop a redaction): refuse it everywhere
    for where, value in _numbers(spec.to_dict()):
        if not math.isfinite(value):
            raise bad(where, f"{value} is not a finite number")
    if spec.end <= spec.start:
        raise bad("end", f"{spec.end:g} s is not after start ({spec.start:g} s)")
    limit = source_duration
    if limit is not None and spec.end > limit + 1e-6:
        raise bad("end", f"{spec.end:g} s is past the end of the source ({limit:.3f} s)")
    for i, r in enumerate(spec.redactions):
        where = f"redactions[{i}]"
        if r.end <= r.start:
            raise bad(f"{where}.end", f"{r.end:g} s is not after start ({r.start:g} s)")
        if limit is not None and r.start > limit + 1e-6:
            raise bad(f"{where}.start", f"{r.start:g} s is past the end of the source ({limit:.3f} s)")
        prev = -math.inf
        for j, k in enumerate(r.keyframes):
            kw = f"{where}.keyframes[{j}]"
            if k.t <= prev:
                raise bad(f"{kw}.t", f"{k.t:g} s is not after the previous keyframe ({prev:g} s)")
            prev = k.t
            if k.x + k.w > 1 + 1e-9:
                raise bad(f"{kw}.w", f"the box runs past the right edge of the frame (x + w = {k.x + k.w:g} > 1)")
            if k.y + k.h > 1 + 1e-9:
                raise bad(f"{kw}.h", f"the box runs past the bottom edge of the frame (y + h = {k.y + k.h:g} > 1)")
    for i, a in enumerate(spec.audio):
        if a.end <= a.start:
            raise bad(f"audio[{i}].end", f"{a.end:g} s is not after start ({a.start:g} s)")
        if limit is not None and a.start > limit + 1e-6:
            raise bad(f"audio[{i}].start", f"{a.start:g} s is past the end of the source ({limit:.3f} s)")
    if spec.captions is not None:
        c = spec.captions
        if (c.document is None) != (c.tier is None):
            raise bad("captions", "document and tier go together (or give cues)")
        if c.document is not None and c.cues:
            raise bad("captions.cues", "give either cues or a document and tier, not both")
        for i, q in enumerate(c.cues):
            if q.end <= q.start:
                raise bad(f"captions.cues[{i}].end", f"{q.end:g} s is not after start ({q.start:g} s)")


def _deepest_key(data: Any) -> str | None:
    """The top-level key whose value is nested deepest (counted without recursing: it may be very deep)."""
    if not isinstance(data, dict):
        return None
    best, best_depth = None, -1
    for key, value in data.items():
        depth, level = 0, [value]
        while level:
            depth += 1
            level = [c for v in level if isinstance(v, dict | list) for c in (v.values() if isinstance(v, dict) else v)]
        if depth > best_depth:
            best, best_depth = (str(key) if str(key).isprintable() else repr(key)), depth
    return best


#: Larger whole numbers are no time or size: refused before ``float()`` overflows on them.
_MAX_WHOLE = 2**53


def _values(data: Any, path: str = "") -> Iterable[tuple[str, Any]]:
    """Every leaf of JSON-like data with its field path, as it is."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _values(v, f"{path}.{k}" if path else str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _values(v, f"{path}[{i}]")
    else:
        yield path, data


def _check_values(data: Any, name: str) -> None:
    """What passes the schema but cannot be used: whole numbers too large for a float, text with a lone
    surrogate (JSON's ``\\ud800`` escape), which no file, caption or ffmpeg argument can carry.

    Raises:
        SpecError: naming the field.
    """
    for where, value in _values(data):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_WHOLE:
            digits = str(value)
            shown = digits if len(digits) <= 20 else f"{digits[:8]}…({len(digits)} digits)"
            raise SpecError(f"{name}: {where}: {shown} is too large a number")
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise SpecError(
                    f"{name}: {where}: not text (a lone surrogate {value[exc.start]!r} at character {exc.start + 1})"
                ) from None


def _numbers(data: Any, path: str = "") -> Iterable[tuple[str, float]]:
    """Every number in JSON-like data with its field path (``redactions[0].keyframes[1].x``)."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _numbers(v, f"{path}.{k}" if path else str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _numbers(v, f"{path}[{i}]")
    elif isinstance(data, float | int) and not isinstance(data, bool):
        yield path, float(data)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def load_spec(path: str | os.PathLike[str]) -> EditSpec:
    """Read a spec file; a relative source path is taken from the spec file's folder.

    Raises:
        SpecError: the file is missing, not JSON, or not a valid spec (one line naming the field).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{p}: spec file not found") from None
    except OSError as exc:  # the name shortened: a system error would quote all of it again
        raise SpecError(os_problem(p, exc, "read the spec")) from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{p}: cannot read the spec ({exc})") from None
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{p}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except ValueError as exc:
        raise SpecError(f"{p}: not JSON ({exc})") from None
    except RecursionError:
        raise SpecError(f"{p}: not an edit spec (lists or objects nested too deeply)") from None
    return parse_spec(data, name=str(p), base_dir=p.parent)
