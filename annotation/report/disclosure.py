"""Which counts the report's tables hide: one optimisation over everything the project's reports publish.

A report publishes, for each selection it shows (all records, a period, or two periods), the frequency
tables 1 to 6 and the cross-tabulations 7 (referrer type by response) and 8 (referrer group by response).
Their counts are tied together: a cross-tab's margins are tables 1, 2 and 4, table 8 adds table 7's rows up
by group, and a period's tables and the other periods' add up to the all-records tables, which another
report publishes. So the hidden counts are chosen once for all of them (:func:`plan_hiding`): every period
of the project and all records, as one system per group of linked tables (referrer type, group and
response; concern; outcome; age band), by :func:`annotation.records.protection.protect_optimal`. Each report
then shows its part of that one pattern, and any of the project's reports can be put side by side without
giving a count of 1 to 4 away (a difference of two published counts is a sum the optimisation saw).

The weights (what hiding a count costs): a cross-tab's inner cell its value; a cell of table 8 twice that (it
is a sum of table 7's cells); a margin, which is a count of a one-way table, 20 times its value, and 20,000
times when it is 20 or more; a one-way table's count of its own (concern, outcome, age band) its value, and
1,000 times when it is 20 or more; a zero 3 (hiding it shows '<5' for nothing); a period's total, and all
records', is never hidden (the report states it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from annotation.records import (
    NON_PROFESSIONAL,
    NOT_RECORDED,
    PROFESSIONAL,
    Protection,
    Quantity,
    Vocabularies,
    group_of,
    protect_optimal,
)

ALL_RECORDS = "all records"
#: The fields of the one-way tables that stand alone (their counts appear in no other table).
ALONE = ("concern", "outcome", "age_band")
_INNER, _GROUP_CELL, _MARGIN, _LARGE_MARGIN, _LARGE_ALONE, _ZERO = 1.0, 2.0, 20.0, 20_000.0, 1_000.0, 3.0
_LARGE = 20  # a one-way count of 20 or more is hidden almost never (the bar)


@dataclass(frozen=True)
class Hiding:
    """What one selection's publication tables hide: the categories of each frequency table (tables 1 to 6;
    the cross-tabs' margins are the same counts and hide the same ones) and the cells of the cross-tabs of
    referrer type (table 7) and referrer group (table 8) by response."""

    categories: dict[str, frozenset[str]]
    referrer_cells: frozenset[tuple[str, str]]
    group_cells: frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Plan:
    """The hidden counts of every selection (all records and each period), and how they were found: the
    method per system (``"optimal"`` or ``"heuristic"``), the rounds and seconds in all."""

    hiding: dict[str, Hiding]
    methods: tuple[str, ...]
    rounds: int
    seconds: float


class _System:
    """Quantities over base cells, one per distinct support, with a weight and names (selection, what, key)."""

    def __init__(self) -> None:
        self.base: dict[tuple[Any, ...], int] = {}
        self.tally: dict[int, int] = {}
        self.index: dict[frozenset[int], int] = {}
        self.quantities: list[Quantity] = []
        self.weights: list[float] = []
        self.names: list[list[tuple[str, str, tuple[str, ...]]]] = []
        self.never: set[int] = set()
        self.by_name: dict[tuple[str, str, tuple[str, ...]], int] = {}
        self.lines: list[tuple[int, list[int]]] = []

    def cell(self, key: tuple[Any, ...]) -> int:
        return self.base.setdefault(key, len(self.base))

    def add(self, name: tuple[str, str, tuple[str, ...]], support: frozenset[int], factor: float) -> None:
        value = sum(self.tally.get(i, 0) for i in support)
        k = self.index.get(support)
        weight = _ZERO if value == 0 else value * factor
        if k is None:
            k = self.index[support] = len(self.quantities)
            self.quantities.append(Quantity(support, value))
            self.weights.append(weight)
            self.names.append([])
        else:
            self.weights[k] = max(self.weights[k], weight)
        self.names[k].append(name)
        self.by_name[name] = k

    def line(self, total: tuple[str, str, tuple[str, ...]], parts: Sequence[tuple[str, str, tuple[str, ...]]]) -> None:
        """A total and the counts that add up to it (named as :meth:`add` named them)."""
        self.lines.append((self.by_name[total], [self.by_name[p] for p in parts]))

    def periods_add_up(self, periods: Sequence[str]) -> None:
        """Each all-records count is the sum of the periods' counts of the same thing."""
        if len(periods) < 2:
            return
        for label, what, key in list(self.by_name):
            if label == ALL_RECORDS:
                self.line((label, what, key), [(p, what, key) for p in periods])

    def solve(self) -> tuple[set[tuple[str, str, tuple[str, ...]]], Protection]:
        p = protect_optimal(self.quantities, len(self.base), self.weights, never=self.never, lines=self.lines)
        return {name for k in p.hidden for name in self.names[k]}, p


def _selections(periods: Mapping[str, Sequence[Any]]) -> dict[str, list[str]]:
    """Each selection and the periods it adds up: every period, and all records."""
    out = {p: [p] for p in periods}
    out[ALL_RECORDS] = list(periods)
    return out


def _linked(periods: Mapping[str, Sequence[Any]], vocab: Vocabularies) -> _System:
    """Referrer type, group and response: tables 1, 2, 4, 7 and 8 of every selection."""
    sys = _System()
    rtypes, resps = list(vocab.referrer_types), list(vocab.responses)
    groups_of: dict[str, set[str]] = {}
    for r in rtypes:
        p = vocab.is_professional(r)
        groups_of[r] = {NOT_RECORDED if p is None else PROFESSIONAL if p else NON_PROFESSIONAL}
    for rows in periods.values():
        for rec in rows:
            rt, resp = rec.referrer_type, rec.response or NOT_RECORDED
            if rt not in rtypes:
                rtypes.append(rt)
            if resp not in resps:
                resps.append(resp)
            groups_of.setdefault(rt, set()).add(group_of(rec))
    for period, rows in periods.items():
        for r in rtypes:
            for g in sorted(groups_of[r]):
                for c in resps:
                    sys.cell((period, r, g, c))
        for rec in rows:
            i = sys.cell((period, rec.referrer_type, group_of(rec), rec.response or NOT_RECORDED))
            sys.tally[i] = sys.tally.get(i, 0) + 1
    groups = sorted({g for gs in groups_of.values() for g in gs})

    def pick(ps: Sequence[str], test: Callable[..., bool]) -> frozenset[int]:
        return frozenset(i for key, i in sys.base.items() if key[0] in ps and test(key))

    for label, ps in _selections(periods).items():
        for r in rtypes:
            for c in resps:
                sys.add((label, "t7", (r, c)), pick(ps, lambda k, r=r, c=c: k[1] == r and k[3] == c), _INNER)
        for g in groups:
            for c in resps:
                sys.add((label, "t8", (g, c)), pick(ps, lambda k, g=g, c=c: k[2] == g and k[3] == c), _GROUP_CELL)
        margins = [("referrer_type", r, 1) for r in rtypes] + [("referrer_group", g, 2) for g in groups]
        margins += [("response", c, 3) for c in resps]
        for field, cat, pos in margins:
            support = pick(ps, lambda k, cat=cat, pos=pos: k[pos] == cat)
            value = sum(sys.tally.get(i, 0) for i in support)
            sys.add((label, field, (cat,)), support, _LARGE_MARGIN if value >= _LARGE else _MARGIN)
        total = pick(ps, lambda k: True)
        sys.add((label, "total", ()), total, 1.0)
        sys.never.add(sys.index[total])
        for r in rtypes:
            sys.line((label, "referrer_type", (r,)), [(label, "t7", (r, c)) for c in resps])
        for c in resps:
            sys.line((label, "response", (c,)), [(label, "t7", (r, c)) for r in rtypes])
            sys.line((label, "response", (c,)), [(label, "t8", (g, c)) for g in groups])
        for g in groups:
            sys.line((label, "referrer_group", (g,)), [(label, "t8", (g, c)) for c in resps])
            members = [r for r in rtypes if groups_of[r] == {g}]
            if all(groups_of[r] <= {g} or g not in groups_of[r] for r in rtypes):
                sys.line((label, "referrer_group", (g,)), [(label, "referrer_type", (r,)) for r in members])
                for c in resps:
                    sys.line((label, "t8", (g, c)), [(label, "t7", (r, c)) for r in members])
        for field, cats in (("referrer_type", rtypes), ("referrer_group", groups), ("response", resps)):
            sys.line((label, "total", ()), [(label, field, (x,)) for x in cats])
    sys.periods_add_up(list(periods))
    return sys


def _alone(periods: Mapping[str, Sequence[Any]], field: str, categories: Sequence[str]) -> _System:
    """A one-way table of its own (concern, outcome, age band) of every selection."""
    sys = _System()
    cats = list(categories)
    for rows in periods.values():
        cats += [v for v in (getattr(r, field) or NOT_RECORDED for r in rows) if v not in cats]
    for period, rows in periods.items():
        for c in cats:
            sys.cell((period, c))
        for rec in rows:
            i = sys.cell((period, getattr(rec, field) or NOT_RECORDED))
            sys.tally[i] = sys.tally.get(i, 0) + 1
    for label, ps in _selections(periods).items():
        for c in cats:
            support = frozenset(i for key, i in sys.base.items() if key[0] in ps and key[1] == c)
            value = sum(sys.tally.get(i, 0) for i in support)
            sys.add((label, field, (c,)), support, _LARGE_ALONE if value >= _LARGE else _INNER)
        total = frozenset(i for key, i in sys.base.items() if key[0] in ps)
        sys.add((label, "total", ()), total, 1.0)
        sys.never.add(sys.index[total])
        sys.line((label, "total", ()), [(label, field, (c,)) for c in cats])
    sys.periods_add_up(list(periods))
    return sys


_CACHE: OrderedDict[tuple[Any, ...], Plan] = OrderedDict()
_CACHE_SIZE = 8
_LOCK = threading.Lock()


def _key(periods: Mapping[str, Sequence[Any]], vocab: Vocabularies) -> tuple[Any, ...]:
    """Everything the plan depends on: the vocabularies and, per period, each record's categories (in order)."""
    fields = ("referrer_type", "professional", "response", *ALONE)
    rows = tuple((p, tuple(tuple(getattr(r, f) for f in fields) for r in rs)) for p, rs in periods.items())
    voc = (vocab.referrer_types, vocab.professional, vocab.responses, vocab.concerns, vocab.outcomes, vocab.age_bands)
    return (voc, rows)


def plan_hiding(periods: Mapping[str, Sequence[Any]], vocab: Vocabularies) -> Plan:
    """The hidden counts of tables 1 to 8 for all records and for each period of ``periods`` (the project's
    records by period, every period: see the module docstring).

    The plan is kept for the same records and vocabularies (the last few: a key of their categories), so a
    project's reports and the Analysis tab's views of it share one optimisation until a record changes."""
    key = _key(periods, vocab)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    plan = _plan(periods, vocab)
    with _LOCK:
        _CACHE[key] = plan
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return plan


def forget_plans() -> None:
    """Drop the kept plans (a benchmark times the optimisation itself)."""
    with _LOCK:
        _CACHE.clear()


def _plan(periods: Mapping[str, Sequence[Any]], vocab: Vocabularies) -> Plan:
    systems = [_linked(periods, vocab)]
    systems += [_alone(periods, f, getattr(vocab, f + "s")) for f in ALONE]
    names: set[tuple[str, str, tuple[str, ...]]] = set()
    found = []
    for sys in systems:
        hid, p = sys.solve()
        names |= hid
        found.append(p)
    out = {}
    for label in _selections(periods):
        mine = [(what, key) for lab, what, key in names if lab == label]
        fields = ("referrer_type", "referrer_group", "response", *ALONE)
        out[label] = Hiding(
            {f: frozenset(key[0] for what, key in mine if what == f) for f in fields},
            frozenset((key[0], key[1]) for what, key in mine if what == "t7"),
            frozenset((key[0], key[1]) for what, key in mine if what == "t8"),
        )
    return Plan(out, tuple(p.method for p in found), sum(p.rounds for p in found), sum(p.seconds for p in found))
