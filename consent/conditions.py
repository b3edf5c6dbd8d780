"""Structured conditions on a grant, as JSON objects (stored with the decision):

``{"kind": "redact", "redaction": {"kind": "blur", "start": S, "end": S, "keyframes": [...]}}``
    "blur my face": the picture must carry this redaction. It changes the edit, so recording it makes a
    new clip version with the redaction added, which everyone present must consent to afresh.
``{"kind": "blur_face", "participant": ID}``
    "blur my face", through the person's face tracks (``consent.faces``): met by a version whose edit carries
    redactions noted as that person's face (``frontdoor clip edit --blur-face``); the export gate checks
    that they cover every frame of the person's tracks (``consent.export.face_coverage``).
``{"kind": "mute", "start": S, "end": S}``
    "not my voice here": the sound must be muted over this range (also a new version).
``{"kind": "not_after", "date": "YYYY-MM-DD"}``
    no use after this date: exports must expire by then.
``{"kind": "audience", "within": "authority"}``
    only for audiences inside the authority: exports must be declared internal.

From the command line: ``blur:X,Y,W,H@START-END`` (or ``pixelate:``/``box:``), ``blur-face:ID``, ``mute:START-END``,
``not-after:2027-12-31``, ``audience:internal`` (times in seconds of the recording).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from consent.errors import InvalidRequest
from media_tools.errors import SpecError
from media_tools.spec import AudioRedaction, EditSpec, Keyframe, Redaction, parse_spec


@dataclass(frozen=True)
class ExportContext:
    """What an export declares about itself; conditions are checked against it."""

    scope: str
    on: date
    internal_audience: bool = False
    expires: date | None = None


_NUM = r"-?\d+(?:\.\d+)?"
_BOX = re.compile(rf"^(blur|pixelate|box):({_NUM}),({_NUM}),({_NUM}),({_NUM})@({_NUM})-({_NUM})$")
_RANGE = re.compile(rf"^mute:({_NUM})-({_NUM})$")
_FACE = re.compile(r"^blur-face:(\d{1,9})$")


def face_note(participant_id: int) -> str:
    """The note on the redactions that blur a participant's face through their tracks."""
    return f"face of participant {participant_id}"


def parse(text: str, spec: EditSpec) -> dict[str, Any]:
    """A condition from its command-line form, checked against the clip version's spec.

    Raises:
        InvalidRequest: unknown form, a date that is not a date, a box outside the frame or clip.
    """
    t = text.strip()
    cond: dict[str, Any]
    if m := _BOX.match(t):
        kind, x, y, w, h, a, b = m.groups()
        cond = {
            "kind": "redact",
            "redaction": {
                "kind": kind,
                "start": float(a),
                "end": float(b),
                "keyframes": [{"t": float(a), "x": float(x), "y": float(y), "w": float(w), "h": float(h)}],
            },
        }
    elif m := _FACE.match(t):
        cond = {"kind": "blur_face", "participant": int(m.group(1))}
    elif m := _RANGE.match(t):
        cond = {"kind": "mute", "start": float(m.group(1)), "end": float(m.group(2))}
    elif t.startswith("not-after:"):
        cond = {"kind": "not_after", "date": t.split(":", 1)[1]}
    elif t in ("audience:internal", "audience:authority"):
        cond = {"kind": "audience", "within": "authority"}
    else:
        raise InvalidRequest(
            f"condition {text!r}: use blur|pixelate|box:X,Y,W,H@START-END, blur-face:ID, mute:START-END, "
            "not-after:YYYY-MM-DD or audience:internal"
        )
    validate(cond, spec)
    return cond


def validate(cond: dict[str, Any], spec: EditSpec) -> None:
    """Raises InvalidRequest when a structured condition is malformed or cannot apply to ``spec``."""
    kind = cond.get("kind")
    if kind == "not_after":
        try:
            date.fromisoformat(str(cond.get("date")))
        except ValueError:
            raise InvalidRequest(f"condition not-after: {cond.get('date')!r} is not a date (YYYY-MM-DD)") from None
    elif kind == "audience":
        if cond.get("within") != "authority":
            raise InvalidRequest("condition audience: only 'internal' (inside the authority) is known")
    elif kind == "blur_face":
        if not isinstance(cond.get("participant"), int) or isinstance(cond.get("participant"), bool):
            raise InvalidRequest("condition blur-face: names a participant by id (blur-face:ID)")
    elif kind in ("redact", "mute"):
        try:
            apply(cond, spec)
        except SpecError as exc:
            raise InvalidRequest(f"condition {kind}: {exc.message.split(': ', 1)[-1]}") from None
        rng = cond["redaction"] if kind == "redact" else cond
        if float(rng["end"]) <= spec.start or float(rng["start"]) >= spec.end:
            raise InvalidRequest(
                f"condition {kind}: {float(rng['start']):g}-{float(rng['end']):g} s is outside the clip "
                f"({spec.start:g}-{spec.end:g} s of the recording)"
            )
    else:
        raise InvalidRequest(f"condition {kind!r}: unknown kind")


def changes_edit(cond: dict[str, Any]) -> bool:
    return cond.get("kind") in ("redact", "mute")


def apply(cond: dict[str, Any], spec: EditSpec) -> EditSpec:
    """The spec with the condition's redaction added (checked as any spec is).

    Raises:
        SpecError: the redaction does not fit (a box outside the frame, an empty range...).
    """
    d = spec.to_dict()
    if cond["kind"] == "redact":
        d.setdefault("redactions", []).append(dict(cond["redaction"], note="condition of consent"))
    elif cond["kind"] == "mute":
        d.setdefault("audio", []).append(
            {"kind": "mute", "start": cond["start"], "end": cond["end"], "note": "condition of consent"}
        )
    return parse_spec(d, name="condition")


def met_by_spec(cond: dict[str, Any], spec: EditSpec) -> bool:
    """Whether a version's edit carries what an edit-changing condition asks for."""
    if cond["kind"] == "redact":
        r = cond["redaction"]
        want = Redaction(
            r["kind"],
            float(r["start"]),
            float(r["end"]),
            tuple(Keyframe(*(float(k[c]) for c in "txywh")) for k in r["keyframes"]),
        )
        return any(
            (x.kind, x.start, x.end, x.keyframes) == (want.kind, want.start, want.end, want.keyframes)
            for x in spec.redactions
        )
    if cond["kind"] == "blur_face":
        return any(r.note == face_note(int(cond["participant"])) for r in spec.redactions)
    if cond["kind"] == "mute":
        return any(
            a.kind == "mute" and a.start <= cond["start"] and a.end >= cond["end"] for a in spec.audio
        ) or _covered(spec.audio, float(cond["start"]), float(cond["end"]))
    return True


def _covered(audio: tuple[AudioRedaction, ...], a: float, b: float) -> bool:
    """Whether mutes together cover [a, b)."""
    t = a
    for m in sorted((x for x in audio if x.kind == "mute"), key=lambda x: x.start):
        if m.start <= t < m.end:
            t = m.end
        if t >= b:
            return True
    return t >= b


def violation(cond: dict[str, Any], spec: EditSpec, ctx: ExportContext) -> str | None:
    """Why this condition forbids this export of this version, or None when it is met."""
    kind = cond["kind"]
    if kind == "not_after":
        until = date.fromisoformat(cond["date"])
        if ctx.on > until:
            return f"not after {until.isoformat()}"
        if ctx.expires is None or ctx.expires > until:
            return f"not after {until.isoformat()} (give the export --expires {until.isoformat()} or earlier)"
        return None
    if kind == "audience":
        return None if ctx.internal_audience else "only for audiences inside the authority (export with --internal)"
    if kind in ("redact", "mute"):
        return None if met_by_spec(cond, spec) else f"asks for a {describe(cond)} this version does not have"
    if kind == "blur_face":
        return (
            None
            if met_by_spec(cond, spec)
            else f"asks for the {describe(cond)} through their face tracks (frontdoor clip edit --blur-face)"
        )
    return f"unknown condition {kind!r}"


def describe(cond: dict[str, Any]) -> str:
    kind = cond["kind"]
    if kind == "redact":
        r = cond["redaction"]
        return f"{r['kind']} over {r['start']:g}-{r['end']:g} s"
    if kind == "blur_face":
        return f"face of participant {cond['participant']} blurred"
    if kind == "mute":
        return f"mute over {cond['start']:g}-{cond['end']:g} s"
    if kind == "not_after":
        return f"not after {cond['date']}"
    if kind == "audience":
        return "audiences inside the authority only"
    return str(kind)
