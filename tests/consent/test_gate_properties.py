"""Hypothesis: random participants, presences, edits, decisions, conditions and withdrawals. The gate's plan
must match an independent reading of the rule exactly, so nothing unusable is ever exported (and nothing
usable is held back)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from annotation.services import add_recording, ensure_project
from annotation.store.engine import open_store, sqlite_url
from consent.clips import create_clip, edit_clip, set_presence
from consent.conditions import ExportContext
from consent.decisions import record_decision
from consent.errors import ConsentError
from consent.export.gate import plan
from consent.participants import add_participant
from consent.retention.withdrawal import withdraw

SCOPES = ["research_team", "internal_training", "external_seminar", "publication"]
TODAY = date(2026, 12, 1)
_counter = itertools.count()

conditions = st.lists(  # mostly none
    st.one_of(
        st.builds(lambda d: f"not-after:{(TODAY + timedelta(days=d)).isoformat()}", st.integers(-30, 400)),
        st.builds(lambda d: f"not-after:{(TODAY + timedelta(days=d)).isoformat()}", st.integers(300, 600)),
        st.just("audience:internal"),
    ),
    max_size=1,
)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("decide"), st.integers(0, 3), st.integers(0, 3), st.sampled_from(SCOPES),
                  st.sampled_from(["granted", "granted", "withheld"]), conditions),
        st.tuples(st.just("edit"), st.integers(0, 3)),
        st.tuples(st.just("withdraw"), st.integers(0, 3)),
        st.tuples(st.just("add"), st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.just("remove"), st.integers(0, 3), st.integers(0, 3)),
    ),
    max_size=8,
)  # fmt: skip


@dataclass
class Model:
    """The rule, written again from the issue's words, over plain Python data."""

    withdrawn: set[int] = field(default_factory=set)
    versions: dict[int, int] = field(default_factory=dict)  # clip -> current version number
    present: dict[int, set[int]] = field(default_factory=dict)  # clip -> participants (current version)
    decisions: dict[tuple[int, int, int, str], tuple[str, list[str]]] = field(default_factory=dict)
    index: dict[int, int] = field(default_factory=dict)  # participant id -> n in "Pn"

    def usable(self, clip: int, ctx: ExportContext) -> bool:
        return not self.blockers(clip, ctx)

    def blockers(self, clip: int, ctx: ExportContext) -> set[str]:
        """Who stands in the way of this clip's export ("nobody present" when no one is there)."""
        if not self.present[clip]:
            return {"nobody present"}
        return {f"P{self.index[p]}" for p in self.present[clip] if not self.allows(clip, p, ctx)}

    def allows(self, clip: int, p: int, ctx: ExportContext) -> bool:
        want = SCOPES.index(ctx.scope)
        v = self.versions[clip]
        if p in self.withdrawn:
            return False
        mine = {sc: d for (c, ver, pp, sc), d in self.decisions.items() if c == clip and ver == v and pp == p}
        if any(d[0] == "withheld" and SCOPES.index(sc) <= want for sc, d in mine.items()):
            return False
        grants = sorted(
            (SCOPES.index(sc), d[1]) for sc, d in mine.items() if d[0] == "granted" and SCOPES.index(sc) >= want
        )
        if not grants:
            return False
        for cond in grants[0][1]:
            if cond.startswith("not-after:"):
                until = date.fromisoformat(cond.split(":", 1)[1])
                if ctx.on > until or ctx.expires is None or ctx.expires > until:
                    return False
            elif cond == "audience:internal" and not ctx.internal_audience:
                return False
        return True


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    n_people=st.integers(1, 4),
    n_clips=st.integers(1, 4),
    initial=st.lists(st.sets(st.integers(0, 3), min_size=1, max_size=4), min_size=4, max_size=4),
    data=st.data(),
    actions=ops,
    scope=st.sampled_from(SCOPES),
    internal=st.booleans(),
    expires_in=st.one_of(st.none(), st.integers(0, 500)),
)
def test_the_gate_exports_exactly_what_the_rule_allows(
    shared_store_path: Path,
    duty_recording: Path,
    n_people: int,
    n_clips: int,
    initial: list[set[int]],
    data: st.DataObject,
    actions: list[tuple[object, ...]],
    scope: str,
    internal: bool,
    expires_in: int | None,
) -> None:
    store = open_store(sqlite_url(shared_store_path))
    try:
        project = f"p{next(_counter)}"
        rid = add_recording(store, ensure_project(store, project), duty_recording, duration_ms=12_000)
        people = [add_participant(store, project, f"P{i}") for i in range(n_people)]
        m = Model(index={p: i for i, p in enumerate(people)})
        clips = []
        for i in range(n_clips):
            who = sorted({people[j % n_people] for j in initial[i]})
            info = create_clip(store, rid, 1.0 + i, 2.0 + i, add_present=[str(p) for p in who])
            clips.append(info.clip_id)
            m.versions[info.clip_id] = 1
            m.present[info.clip_id] = set(who)
        # most people decide on most clips, mostly granting: usable clips are common, so the rule is tested
        # on both sides
        first: list[tuple[object, ...]] = []
        for ci, c in enumerate(clips):
            for pi, p in enumerate(people):
                if p not in m.present[c]:
                    continue
                for sc in data.draw(
                    st.lists(st.sampled_from([*SCOPES, scope, scope, scope]), min_size=1, max_size=2, unique=True)
                ):
                    dec = data.draw(st.sampled_from(["granted", "granted", "withheld"]))
                    conds = data.draw(conditions) if dec == "granted" else []
                    first.append(("decide", ci, pi, sc, dec, conds))
        for op in first + actions:
            kind = op[0]
            if kind == "decide":
                _, ci, pi, sc, dec, conds = op
                c, p = clips[int(ci) % n_clips], people[int(pi) % n_people]  # type: ignore[call-overload]
                ok = p in m.present[c] and p not in m.withdrawn and not (dec == "withheld" and conds)
                try:
                    record_decision(store, c, str(p), sc, dec, condition_texts=conds)  # type: ignore[arg-type]
                except ConsentError:
                    assert not ok, "a valid decision was refused"
                    continue
                assert ok, "an invalid decision was recorded"
                m.decisions[(c, m.versions[c], p, sc)] = (dec, list(conds))  # type: ignore[arg-type]
            elif kind == "edit":
                ci = int(op[1]) % n_clips  # type: ignore[call-overload]
                c = clips[ci]
                edit_clip(store, c, end=2.0 + ci + 0.04 * m.versions[c])
                m.versions[c] += 1  # presence is carried over: it was all set by hand
            elif kind == "withdraw":
                pi = int(op[1]) % n_people  # type: ignore[call-overload]
                if people[pi] in m.withdrawn:
                    continue
                withdraw(store, str(people[pi]))
                m.withdrawn.add(people[pi])
            else:
                c = clips[int(op[1]) % n_clips]  # type: ignore[call-overload]
                p = people[int(op[2]) % n_people]  # type: ignore[call-overload]
                if kind == "add":
                    set_presence(store, c, add=[str(p)])
                    m.present[c].add(p)
                elif p in m.present[c] and p in m.withdrawn:
                    try:  # a withdrawn person is never taken out of a clip
                        set_presence(store, c, remove=[str(p)])
                    except ConsentError:
                        continue
                    raise AssertionError("a withdrawn participant was removed from a clip")
                elif p in m.present[c]:
                    set_presence(store, c, remove=[str(p)])
                    m.present[c].discard(p)
        expires = None if expires_in is None else TODAY + timedelta(days=expires_in)
        ctx = ExportContext(scope, TODAY, internal_audience=internal, expires=expires)
        planned = plan(store, ctx, clip_ids=clips)
        got = {p.clip_id: p.usable for p in planned}
        want = {c: m.usable(c, ctx) for c in clips}
        assert got == want
        # and for the right reasons: who blocks each clip
        blocking = {
            p.clip_id: {
                "nobody present" if r.startswith("nobody") else re.match(r"P\d+", r).group(0) for r in p.reasons
            }  # type: ignore[union-attr]
            for p in planned
        }
        assert blocking == {c: m.blockers(c, ctx) for c in clips}
        event(f"usable clips: {sum(want.values())}")
        event(f"decisions recorded: {len(m.decisions)}")
    finally:
        store.close()
