"""The rule for use, and the status table built on it.

``evaluate``: the current version of a clip may be used for a scope only when somebody is recorded as
present in it, and every participant present
- has not withdrawn,
- has not withheld that scope or a narrower one (withholding the research team's view and granting
  publication contradict each other: the narrower no wins),
- has granted that scope or a wider one on exactly this version, and
- every condition of that grant (the narrowest one at or above the scope) is met by this version and this
  export.
Missing decisions mean no. The latest decision for (version, participant, scope) is the one that counts.
The export gate (``consent.export.gate``) asks this rule for every clip it renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation.store import Recording, Store
from consent import conditions, scopes
from consent.models import Clip, ClipVersion, Decision, Participant, Presence
from consent.rows import current_version, version_spec
from consent.server import access
from media_tools.spec import EditSpec


@dataclass
class Verdict:
    usable: bool
    reasons: list[str] = field(default_factory=list)
    decision_ids: dict[int, list[int]] = field(default_factory=dict)  # participant id -> decisions relied on
    present: dict[int, str] = field(default_factory=dict)  # participant id -> pseudonym


def latest_decisions(s: Session, version_id: int) -> dict[tuple[int, str], Decision]:
    """The decision that counts per (participant, scope): the latest recorded."""
    out: dict[tuple[int, str], Decision] = {}
    for d in s.scalars(select(Decision).where(Decision.clip_version_id == version_id).order_by(Decision.id)):
        out[(d.participant_id, d.scope)] = d
    return out


def evaluate(s: Session, v: ClipVersion, ctx: conditions.ExportContext, source: str | Path) -> Verdict:
    """May this version be used for ``ctx.scope`` in this export? With every reason it may not.

    A presenter on a shared server may not read decisions: the database tells it, per participant present,
    which grant their consent rests on (``consent.server.access.grants``: the same ranking of withdrawals,
    withheld and granted uses as below); the conditions of the grant are checked here either way.
    """
    want = scopes.rank(ctx.scope)
    released = access.uses_grants(s)
    columns = [Participant.id, Participant.pseudonym] + ([] if released else [Participant.withdrawn_at])
    present = s.execute(
        select(*columns)
        .join(Presence, Presence.participant_id == Participant.id)
        .where(Presence.clip_version_id == v.id)
        .order_by(Participant.pseudonym)
    ).all()
    verdict = Verdict(True, present={p.id: p.pseudonym for p in present})
    if not present:
        verdict.usable = False
        verdict.reasons.append("nobody is recorded as present (frontdoor clip presence)")
        return verdict
    spec = version_spec(v, source)
    if spec.version_hash(v.source_sha256) != v.version_hash:
        verdict.usable = False
        verdict.reasons.append("the stored edit does not match its version hash (changed outside Frontdoor)")
        return verdict
    if released:
        given = access.grants(s, v.id, ctx.scope)
        for p in present:
            g = given.get(p.id)
            if g is None:
                verdict.reasons.append(f"{p.pseudonym} has not consented to this use ({ctx.scope})")
            else:
                _rely_on(verdict, p.id, p.pseudonym, g.decision_id, g.conditions, spec, ctx)
        verdict.usable = not verdict.reasons
        return verdict
    latest = latest_decisions(s, v.id)
    for p in present:
        if p.withdrawn_at is not None:
            verdict.reasons.append(f"{p.pseudonym} withdrew")
            continue
        mine = {scope: d for (pid, scope), d in latest.items() if pid == p.id}
        withheld = sorted(
            (scopes.rank(sc), sc) for sc, d in mine.items() if d.decision == "withheld" and scopes.rank(sc) <= want
        )
        if withheld:
            verdict.reasons.append(f"{p.pseudonym} withheld {withheld[0][1]}")
            continue
        grants = sorted(
            (scopes.rank(sc), d) for sc, d in mine.items() if d.decision == "granted" and scopes.rank(sc) >= want
        )
        if not grants:
            verdict.reasons.append(f"{p.pseudonym} has not decided ({ctx.scope})")
            continue
        grant = grants[0][1]
        _rely_on(verdict, p.id, p.pseudonym, grant.id, grant.conditions, spec, ctx)
    verdict.usable = not verdict.reasons
    return verdict


def _rely_on(
    verdict: Verdict,
    pid: int,
    pseudonym: str,
    decision_id: int,
    conds: Sequence[dict[str, Any]],
    spec: EditSpec,
    ctx: conditions.ExportContext,
) -> None:
    """The grant a participant's consent rests on, if every condition of it is met."""
    broken = [r for cond in conds if (r := conditions.violation(cond, spec, ctx))]
    if broken:
        verdict.reasons.append(f"{pseudonym}'s condition: {'; '.join(broken)}")
    else:
        verdict.decision_ids[pid] = [decision_id]


# ---------------------------------------------------------------------------------------------- status


def counting_text(mine: dict[str, Decision], scope: str) -> str:
    """The decision that counts for ``scope`` among one participant's latest decisions (scope -> decision),
    by the rule of ``evaluate``: "granted", "withheld", "granted*" (with conditions), "-" (none), and "(via
    publication)" after it when a wider grant or a narrower refusal decides it."""
    want = scopes.rank(scope)
    withheld = sorted(sc for sc, d in mine.items() if d.decision == "withheld" and scopes.rank(sc) <= want)
    if withheld:
        d = mine[min(withheld, key=scopes.rank)]
    else:
        granted = [sc for sc, d in mine.items() if d.decision == "granted" and scopes.rank(sc) >= want]
        if not granted:
            return "-"
        d = mine[min(granted, key=scopes.rank)]
    text = d.decision + ("*" if d.conditions else "")
    return text if d.scope == scope else f"{text} (via {d.scope})"


@dataclass(frozen=True)
class StatusRow:
    clip_id: int
    clip_name: str
    version: int
    participant: str
    cells: dict[str, str]  # scope -> granted / granted* / withheld / - / withdrawn, "(via SCOPE)" when another decides


def status(
    store: Store, *, scope: str | None = None, recording_id: int | None = None
) -> tuple[list[StatusRow], dict[tuple[int, str], str]]:
    """Per clip (current version) and participant present, the decision per scope; and per (clip, scope)
    whether the clip is usable today for an internal audience with no expiry declared."""
    wanted = [scopes.check(scope)] if scope else list(scopes.SCOPES)
    rows: list[StatusRow] = []
    usable: dict[tuple[int, str], str] = {}
    today = datetime.now(UTC).date()
    with store.session() as s:
        q = select(Clip).order_by(Clip.id)
        if recording_id is not None:
            q = q.where(Clip.recording_id == recording_id)
        for c in s.scalars(q):
            v = current_version(s, c)
            rec = s.get(Recording, c.recording_id)
            assert rec is not None
            latest = latest_decisions(s, v.id)
            for pid, name in sorted(
                s.execute(
                    select(Participant.id, Participant.pseudonym)
                    .join(Presence, Presence.participant_id == Participant.id)
                    .where(Presence.clip_version_id == v.id)
                ).all(),
                key=lambda r: r[1],
            ):
                p = s.get(Participant, pid)
                assert p is not None
                cells = {}
                mine = {scope: d for (who, scope), d in latest.items() if who == pid}
                for sc in wanted:
                    cells[sc] = "withdrawn" if p.withdrawn_at is not None else counting_text(mine, sc)
                rows.append(StatusRow(c.id, c.name, v.number, name, cells))
            for sc in wanted:
                strict = conditions.ExportContext(sc, today, internal_audience=False, expires=None)
                lenient = conditions.ExportContext(sc, today, internal_audience=True, expires=today)
                if evaluate(s, v, strict, rec.abs_path).usable:
                    usable[(c.id, sc)] = "usable"
                elif evaluate(s, v, lenient, rec.abs_path).usable:
                    usable[(c.id, sc)] = "if conditions"  # an expiry date or an internal audience is needed
                else:
                    usable[(c.id, sc)] = "no"
    return rows, usable
