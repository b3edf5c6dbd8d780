"""Which counts the report's tables hide: one optimisation over everything the project's reports publish.

A report publishes, for each selection it shows (all records, a period, or two periods), the frequency
tables 1 to 6 and the cross-tabulations 7 (referrer type by response) and 8 (referrer group by response).
Their counts are tied together: a cross-tab's margins are tables 1, 2 and 4, table 8 adds table 7's rows up
by group, and a period's tables and the other periods' add up to the all-records tables, which another
report publishes. So the hidden counts are chosen once for all of them (:func:`plan_hiding`): every period
of the project and all records, by :func:`annotation.records.protection.protect_optimal`. Each report then
shows its part of that one pattern, and any of the project's reports can be put side by side without giving
a count of 1 to 4 away (a difference of two published counts is a sum the optimisation saw).

Two stages (:func:`_plan`). First the one-way tables, each group over every selection (referrer type with
group; response; concern; outcome; age band): a count weighs its value (1,000 times when it is 20 or more),
and each table of each selection has a budget of a tenth of its referrals (hiding more costs 200 a
referral), so the choice meets the issue's bar wherever the arithmetic allows. Then the cross-tabs
(tables 7 and 8 with their margins, every selection) with those one-way counts as decided: the hidden ones
stay hidden, those of 20 or more are shown, those under 20 may still be hidden at 20 times their value
(where no set of inner cells protects a count); an inner cell weighs its value, a cell of table 8 twice
that. A zero weighs 3 (hiding it shows '<5' for nothing); a total is never hidden (the report states it).

Where the first stage cannot meet that bar by hiding (a lone 'not recorded' of 1 beside counts all of 20
or more; a period's small counts over a tenth of its table), the offending small category is combined with
another of its variable first and the stage chosen again (:func:`_recode`; global recoding, see
:mod:`annotation.report.recoding`): the plan's ``recodings`` hold in every table and selection, and the
report applies them to the records before it makes any table.

Marks: a hidden count of 1 to 4 (or a hidden zero) reads '<5', 0 to 4; any other hidden count, and every
hidden inner cell of a cross-tab, 'x', any number from 0 up (``Quantity.open``). A reader who knew that a
hidden count was 5 or more could bound its neighbours by it; 'x' tells nothing, so fewer counts need hiding.

Tables 9 to 11 (Laming's measures, the times recorded, the share decided within 24 hours) are not in the
optimisation: a measure with a count of 1 to 4 (yes, no or not recorded) in any selection is withheld in
every selection (:func:`_withheld`), since the periods add up to all records.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from annotation.records import (
    NON_PROFESSIONAL,
    NOT_RECORDED,
    PROFESSIONAL,
    THRESHOLD,
    Protection,
    Quantity,
    Vocabularies,
    group_of,
    protect_optimal,
    unprotected,
)
from annotation.report.recoding import (
    RECODABLE,
    Recoding,
    label_for,
    partner_for,
    recode_periods,
    recode_vocab,
)

ALL_RECORDS = "all records"
#: The fields of the one-way tables that stand alone (their counts appear in no other table).
ALONE = ("concern", "outcome", "age_band")
_INNER, _GROUP_CELL, _MARGIN, _LARGE_MARGIN, _LARGE_ALONE, _ZERO = 1.0, 2.0, 20.0, 20_000.0, 1_000.0, 3.0
_LARGE = 20  # a one-way count of 20 or more is hidden almost never (the bar)
#: The share of a one-way table's referrals it may hide before the choice pays extra (the issue's bar: 90% shown).
BUDGET = 0.1
#: The cross-tabs' inner cells (tables 7 and 8): a hidden one is marked 'x' (any number from 0 up) whatever its
#: size; elsewhere a hidden count of 5 or more is 'x' and one of 0 to 4 '<5' (0 to 4).
INNER = ("t7", "t8")
#: The one-way tables whose counts are the cross-tabs' margins (tables 1, 2 and 4).
MARGINS = ("referrer_type", "referrer_group", "response")


@dataclass(frozen=True)
class Hiding:
    """What one selection's publication tables hide: the categories of each frequency table (tables 1 to 6;
    the cross-tabs' margins are the same counts and hide the same ones) and the cells of the cross-tabs of
    referrer type (table 7) and referrer group (table 8) by response."""

    categories: dict[str, frozenset[str]]
    referrer_cells: frozenset[tuple[str, str]]
    group_cells: frozenset[tuple[str, str]]
    withheld: frozenset[str] = frozenset()  # measures of tables 9 to 11 withheld in every selection (_withheld)


@dataclass(frozen=True)
class Plan:
    """The hidden counts of every selection (all records and each period), and how they were found: the
    method per system (``"optimal"`` or ``"heuristic"``), the rounds and seconds in all."""

    hiding: dict[str, Hiding]
    methods: tuple[str, ...]
    rounds: int
    seconds: float
    recodings: tuple[Recoding, ...] = ()  # categories combined in every table first (recoding.py)


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
        self.budgets: list[tuple[list[int], float]] = []

    def cell(self, key: tuple[Any, ...]) -> int:
        return self.base.setdefault(key, len(self.base))

    def add(self, name: tuple[str, str, tuple[str, ...]], support: frozenset[int], factor: float) -> None:
        value = sum(self.tally.get(i, 0) for i in support)
        k = self.index.get(support)
        weight = _ZERO if value == 0 else value * factor
        inner = name[1] in INNER or value >= THRESHOLD  # once hidden, marked 'x' (any number from 0 up)
        if k is None:
            k = self.index[support] = len(self.quantities)
            self.quantities.append(Quantity(support, value, open=inner))
            self.weights.append(weight)
            self.names.append([])
        else:
            self.weights[k] = max(self.weights[k], weight)
            if not inner and self.quantities[k].open:  # also a one-way count of 1 to 4: '<5' shows its band
                self.quantities[k] = Quantity(support, value)
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

    def budget(self, label: str, field: str, cats: Sequence[str]) -> None:
        """A one-way table of a selection may hide a tenth of its referrals (the issue's bar): a soft limit."""
        ks = list(dict.fromkeys(self.by_name[(label, field, (c,))] for c in cats))
        self.budgets.append((ks, BUDGET * self.quantities[self.by_name[(label, "total", ())]].value))

    def solve(
        self, decided: Collection[tuple[str, str, tuple[str, ...]]] | None = None
    ) -> tuple[set[tuple[str, str, tuple[str, ...]]], Protection]:
        """The names of the counts to hide. ``decided``: the one-way counts to hide (the first stage's
        choice, see :func:`_plan`); the other one-way counts of 20 or more are then always shown, and those
        under 20 only at a margin's weight (rarely: where a cross-tab's cells cannot protect a count)."""
        hide: set[int] = set()
        never = set(self.never)
        if decided is not None:
            hide = {k for name, k in self.by_name.items() if name in decided}
            large = {k for name, k in self.by_name.items() if name[1] in MARGINS and self.quantities[k].value >= _LARGE}
            never |= large - hide
        p = protect_optimal(
            self.quantities,
            len(self.base),
            self.weights,
            never=never,
            hide=hide,
            lines=self.lines,
            budgets=self.budgets,
        )
        return {name for k in p.hidden for name in self.names[k]}, p

    def exposed(self, hidden: Collection[tuple[str, str, tuple[str, ...]]]) -> bool:
        """Whether the audit finds a count of 1 to 4 narrowed when the counts named ``hidden`` are hidden."""
        ks = {k for name, k in self.by_name.items() if name in hidden}
        return bool(unprotected(self.quantities, len(self.base), ks))


def _selections(periods: Mapping[str, Sequence[Any]]) -> dict[str, list[str]]:
    """Each selection and the periods it adds up: every period, and all records."""
    out = {p: [p] for p in periods}
    out[ALL_RECORDS] = list(periods)
    return out


def _linked(periods: Mapping[str, Sequence[Any]], vocab: Vocabularies, *, cross: bool = True) -> _System:
    """Referrer type, group and response: tables 1, 2, 4, 7 and 8 of every selection; without ``cross``,
    referrer type and group only (tables 1 and 2: the first stage, where a one-way count weighs its value)."""
    sys = _System()
    rtypes, resps = list(vocab.referrer_types), list(vocab.responses) if cross else [""]
    groups_of: dict[str, set[str]] = {}
    for r in rtypes:
        p = vocab.is_professional(r)
        groups_of[r] = {NOT_RECORDED if p is None else PROFESSIONAL if p else NON_PROFESSIONAL}

    def response(rec: Any) -> str:
        return (rec.response or NOT_RECORDED) if cross else ""

    for rows in periods.values():
        for rec in rows:
            rt, resp = rec.referrer_type, response(rec)
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
            i = sys.cell((period, rec.referrer_type, group_of(rec), response(rec)))
            sys.tally[i] = sys.tally.get(i, 0) + 1
    groups = sorted({g for gs in groups_of.values() for g in gs})

    def pick(ps: Sequence[str], test: Callable[..., bool]) -> frozenset[int]:
        return frozenset(i for key, i in sys.base.items() if key[0] in ps and test(key))

    for label, ps in _selections(periods).items():
        if cross:
            for r in rtypes:
                for c in resps:
                    sys.add((label, "t7", (r, c)), pick(ps, lambda k, r=r, c=c: k[1] == r and k[3] == c), _INNER)
            for g in groups:
                for c in resps:
                    support = pick(ps, lambda k, g=g, c=c: k[2] == g and k[3] == c)
                    sys.add((label, "t8", (g, c)), support, _GROUP_CELL)
        margins = [("referrer_type", r, 1) for r in rtypes] + [("referrer_group", g, 2) for g in groups]
        margins += [("response", c, 3) for c in resps] if cross else []
        for field, cat, pos in margins:
            support = pick(ps, lambda k, cat=cat, pos=pos: k[pos] == cat)
            value = sum(sys.tally.get(i, 0) for i in support)
            if cross:
                factor = _LARGE_MARGIN if value >= _LARGE else _MARGIN
            else:
                factor = _LARGE_ALONE if value >= _LARGE else _INNER
            sys.add((label, field, (cat,)), support, factor)
        total = pick(ps, lambda k: True)
        sys.add((label, "total", ()), total, 1.0)
        sys.never.add(sys.index[total])
        if cross:
            for r in rtypes:
                sys.line((label, "referrer_type", (r,)), [(label, "t7", (r, c)) for c in resps])
            for c in resps:
                sys.line((label, "response", (c,)), [(label, "t7", (r, c)) for r in rtypes])
                sys.line((label, "response", (c,)), [(label, "t8", (g, c)) for g in groups])
        for g in groups:
            if cross:
                sys.line((label, "referrer_group", (g,)), [(label, "t8", (g, c)) for c in resps])
            members = [r for r in rtypes if groups_of[r] == {g}]
            if all(groups_of[r] <= {g} or g not in groups_of[r] for r in rtypes):
                sys.line((label, "referrer_group", (g,)), [(label, "referrer_type", (r,)) for r in members])
                if cross:
                    for c in resps:
                        sys.line((label, "t8", (g, c)), [(label, "t7", (r, c)) for r in members])
        one_way = [("referrer_type", rtypes), ("referrer_group", groups)] + ([("response", resps)] if cross else [])
        for field, cats in one_way:
            sys.line((label, "total", ()), [(label, field, (x,)) for x in cats])
            sys.budget(label, field, cats)
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
        sys.budget(label, field, cats)
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


def plan_hiding(periods: Mapping[str, Sequence[Any]], vocab: Vocabularies, *, recode: bool = True) -> Plan:
    """The hidden counts of tables 1 to 8 for all records and for each period of ``periods`` (the project's
    records by period, every period: see the module docstring).

    The plan is kept for the same records and vocabularies (the last few: a key of their categories), so a
    project's reports and the Analysis tab's views of it share one optimisation until a record changes.
    ``recode``: combine categories where hiding alone cannot meet the one-way tables' bar (the publication
    version); without it, the categories as recorded (the research team's version)."""
    key = (_key(periods, vocab), recode)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    plan = _plan(periods, vocab, recode)
    with _LOCK:
        _CACHE[key] = plan
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return plan


def forget_plans() -> None:
    """Drop the kept plans (a benchmark times the optimisation itself)."""
    with _LOCK:
        _CACHE.clear()


#: The measures of tables 9 to 11 (their labels): Laming's three shares, the times recorded, and the share
#: decided within 24 hours.
TIMES, WITHIN = "time to decision", "decided within 24 hours"
_MEASURES: tuple[tuple[str, Callable[[Any], bool], Callable[[Any], bool | None]], ...] = (
    (
        "initial assessment after a professional referral",
        lambda r: r.professional is True,
        lambda r: r.initial_assessment,
    ),
    ("feedback to the professional referrer", lambda r: r.professional is True, lambda r: r.feedback),
    ("manager or senior practitioner consulted", lambda r: True, lambda r: r.manager_consulted),
    (TIMES, lambda r: True, lambda r: True if r.decision_minutes is not None else None),
    (WITHIN, lambda r: r.decision_minutes is not None, lambda r: r.decision_minutes <= 24 * 60),
)


def _withheld(periods: Mapping[str, Sequence[Any]]) -> frozenset[str]:
    """The measures of tables 9 to 11 whose counts (yes, no, not recorded) are 1 to 4 in any selection: they
    are withheld in every selection. Their selections add up (all records = the periods), so hiding a small
    count in one selection alone would let the others give it back by subtraction; withheld everywhere, only
    the totals (published in tables 1 and 2) remain, and they say nothing of the split."""
    out = set()
    for ps in _selections(periods).values():
        rows = [r for p in ps for r in periods[p]]
        for name, base, value in _MEASURES:
            vals = [value(r) for r in rows if base(r)]
            yes, no = sum(v is True for v in vals), sum(v is False for v in vals)
            if any(0 < n < THRESHOLD for n in (yes, no, len(vals) - yes - no)):
                out.add(name)
    return frozenset(out)


#: At most this many recodings of one variable (each one is a new first-stage solve: 0.1 to 0.3 s).
MAX_RECODINGS = 6


def _first(periods: Mapping[str, Sequence[Any]], vocab: Vocabularies, field: str) -> _System:
    """The first-stage system of a one-way table (referrer type brings its group along)."""
    if field == "referrer_type":
        return _linked(periods, vocab, cross=False)
    return _alone(periods, field, vocab.values(field))


def _shortfall(
    sys: _System, hid: Collection[tuple[str, str, tuple[str, ...]]]
) -> tuple[float, list[tuple[int, str, str, str]]]:
    """How far the one-way tables of ``sys`` miss the bar with ``hid`` hidden (referrals in hidden counts of
    20 or more, plus those hidden over a tenth of a table), and the counts of 1 to 4 of the tables that
    miss it: (count, selection, field, category), the candidates for a recoding, with why."""
    tables: dict[tuple[str, str], list[tuple[str, int, bool]]] = {}
    for (label, what, key), k in sys.by_name.items():
        if what in RECODABLE or what == "referrer_group":
            tables.setdefault((label, what), []).append((key[0], sys.quantities[k].value, (label, what, key) in hid))
    bad, offenders, spare = 0.0, [], []
    failing: dict[str, str] = {}
    for (label, what), cells in tables.items():
        total = sys.quantities[sys.by_name[(label, "total", ())]].value
        gone = [(c, v) for c, v, h in cells if h or 0 < v < THRESHOLD]
        large = sum(v for _, v in gone if v >= _LARGE)
        over = max(0.0, sum(v for _, v in gone) - BUDGET * total)
        small = [(c, v) for c, v in gone if 0 < v < THRESHOLD]
        if large or over > 0:
            bad += large + over
            why = f"a count of 20 or more would be hidden in {label}" if large else f"{label} would lose over a tenth"
            failing.setdefault(what, why)
            if what in RECODABLE:
                offenders += [(v, label, c, f"1 to 4 in {label}; otherwise {why}") for c, v in small]
        elif what in RECODABLE:
            spare += [(v, label, c, what) for c, v in small]
    if not offenders:  # a table misses the bar for another selection's small count (they add up): combine that
        offenders = [(v, lab, c, f"1 to 4 in {lab}; otherwise {failing[w]}") for v, lab, c, w in spare if w in failing]
    return bad, offenders


_Stage = tuple[Mapping[str, Sequence[Any]], Vocabularies, list[Recoding], set[tuple[str, str, tuple[str, ...]]], Any]


def _recode(periods: Mapping[str, Sequence[Any]], vocab: Vocabularies, field: str, most: int) -> _Stage:
    """The first stage of ``field``, with the recodings that help it meet the bar: while a table misses it,
    the smallest offending count's category is combined (:func:`annotation.report.recoding.partner_for`) and
    the stage solved again; the recodings up to the best result are kept (none if none helps)."""
    sys = _first(periods, vocab, field)
    hid, p = sys.solve()
    bad, offenders = _shortfall(sys, hid)
    best: tuple[float, _Stage] = (bad, (periods, vocab, [], hid, p))
    done: list[Recoding] = []
    for _ in range(most):
        if bad <= 0:
            break
        counts = Counter(getattr(r, field) for rows in periods.values() for r in rows)
        rc = None
        for _v, _label, cat, why in sorted(offenders, key=lambda o: (o[0], o[1] != ALL_RECORDS, o[2])):
            small = None if cat == NOT_RECORDED and field != "referrer_type" else cat
            partner = partner_for(field, small, counts, vocab)
            if partner is not None:
                rc = Recoding(field, small, partner, label_for(field, small, partner, vocab), why)
                break
        if rc is None:
            break
        done.append(rc)
        periods, vocab = recode_periods(periods, [rc]), recode_vocab(vocab, [rc])
        sys = _first(periods, vocab, field)
        hid, p = sys.solve()
        bad, offenders = _shortfall(sys, hid)
        if bad < best[0]:
            best = (bad, (periods, vocab, list(done), hid, p))
    return best[1]


def _plan(periods: Mapping[str, Sequence[Any]], vocab: Vocabularies, recode: bool = True) -> Plan:
    """Two stages. First the one-way tables alone, each over every selection (referrer type with group;
    response; concern; outcome; age band): the fewest referrals hidden there, within a tenth of each table
    where the arithmetic allows, and where it does not, categories combined first (:func:`_recode`). Then the
    cross-tabs (tables 7 and 8) with those one-way counts as decided (the rest shown): only their inner cells
    are chosen, so they absorb the protection. Should that leave a count of 1 to 4 narrowed (a cross-tab
    that cannot be protected with its margins as decided), the linked tables are chosen together instead,
    margins included."""
    names: set[tuple[str, str, tuple[str, ...]]] = set()
    found = []
    recodings: list[Recoding] = []
    for field in ("referrer_type", "response", *ALONE):
        periods, vocab, done, hid, p = _recode(periods, vocab, field, 0 if not recode else MAX_RECODINGS)
        recodings += done
        names |= hid
        found.append(p)
    linked = _linked(periods, vocab)
    hid, p = linked.solve({name for name in names if name[1] in MARGINS})
    if p.method != "optimal" and linked.exposed(hid):
        found.append(p)
        hid, p = linked.solve()
    names |= hid
    found.append(p)
    out = {}
    withheld = _withheld(periods)
    for label in _selections(periods):
        mine = [(what, key) for lab, what, key in names if lab == label]
        fields = ("referrer_type", "referrer_group", "response", *ALONE)
        out[label] = Hiding(
            {f: frozenset(key[0] for what, key in mine if what == f) for f in fields},
            frozenset((key[0], key[1]) for what, key in mine if what == "t7"),
            frozenset((key[0], key[1]) for what, key in mine if what == "t8"),
            withheld,
        )
    return Plan(
        out,
        tuple(p.method for p in found),
        sum(p.rounds for p in found),
        sum(p.seconds for p in found),
        tuple(recodings),
    )
