"""Secondary suppression chosen by optimisation, and the audit that checks it.

The model (the usual one of statistical disclosure control, as in τ-ARGUS's optimal method and R's
sdcTable): the *base cells* are the finest counts (referrals by period, referrer type, group and response);
every count a set of tables publishes is a :class:`~annotation.records.suppression.Quantity`, the sum of
some base cells, and tables that repeat a count share one quantity. A reader sees each quantity either as
its number or as a mark that stands for a band: ``<5`` for 0 to 4 (every count of 1 to 4 is hidden; a zero
may be hidden too, to protect another count) and ``c`` for 5 or more; or, for an *open* quantity
(``Quantity.open``: the report marks it ``x``), any number from 0 up (:func:`band_of`).

**Protection.** Given every number published, every mark's band and the additive relations between the
counts (a row adds up to its total, a period's table and the other periods' add up to the all-records
table), the interval a hidden count of 1 to 4 can lie in (its least and most, by linear programming over the
base cells: :func:`interval`) must be at least as wide as the band 1 to 4 (four possible values), so it
cannot be worked out. :func:`unprotected` is that audit. The exact method aims higher: each such count can
still be any of 1, 2, 3 or 4 (least 1 or less, most 4), so a reader learns no more of it than ``<5`` says;
the heuristic settles for the audit's width where the published totals allow no more.

**Choice.** :func:`protect_optimal` hides, besides the counts of 1 to 4, the set of further counts of least
total weight that protects them all. The weight of a count is its value times a factor (the caller's: the
report makes a cross-tabulation's inner cells cheap, its margins (the one-way tables) dear and totals near
impossible), so the referrals hidden are as few as the weights allow. It is Benders' decomposition
(Fischetti and Salazar, 2001): a mixed-integer programme (scipy's ``milp``, HiGHS) picks the hidden counts
subject to *cuts*; the audit's linear programmes check every count of 1 to 4 in both directions, and each
one that fails gives a cut from its dual solution (a hidden set that leaves the count as narrow as now is
ruled out). This repeats until every count passes. After :data:`ROUNDS` rounds without that (sparse
cross-tabs of a few hundred records over two periods), a heuristic takes over from the last choice: for
each count the audit still finds narrowed it hides the cheapest count near it (in one of its lines, or
named by its cut) whose hiding widens it enough, and repeats until the audit passes (hiding more never
narrows an interval, so it ends; at worst everything but the totals is hidden).

**Speed.** The linear programmes of one hidden set differ only in their objective, so they share one HiGHS
model (``highspy``) and each starts from the last one's basis with the primal simplex (a few pivots:
1 to 2 ms on the shared test machine, where a fresh ``scipy.optimize.linprog`` took about 10 ms).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from annotation.records.suppression import THRESHOLD, Quantity

#: What a hidden count of 0 to 4 ('<5') and one of 5 or more ('c') stand for, as a reader takes them.
SMALL_BAND = (0, THRESHOLD - 1)
LARGE_BAND = (THRESHOLD, None)
#: Every value a count of 1 to 4 can have must stay possible.
NEED_LOW, NEED_HIGH = 1, THRESHOLD - 1
#: The heuristic's (and the audit's floor): a hidden count's interval at least as wide as the band 1 to 4.
WIDTH = NEED_HIGH - NEED_LOW
#: Rounds of the exact method before the heuristic finishes the job.
ROUNDS = 10
_BATCH = 25  # cuts per round before the master is solved again
#: What each referral hidden over a budget costs (a count's weight is its value times a factor; 20 or more
#: referrals in a one-way table weigh 1,000 times their value, so a budget gives way before such a count).
OVER_BUDGET = 200.0
_TOL = 1e-6


def band(value: int) -> tuple[int, int | None]:
    """The band a hidden count stands for: 0 to 4 (shown '<5') or 5 or more (shown 'c')."""
    return SMALL_BAND if value < THRESHOLD else LARGE_BAND


def band_of(q: Quantity) -> tuple[int, int | None]:
    """What a reader takes a hidden count for: its band, or any number from 0 up when its mark is open."""
    return (0, None) if q.open else band(q.value)


def is_sensitive(value: int) -> bool:
    return 0 < value < THRESHOLD


@dataclass(frozen=True)
class Protection:
    """The counts to hide (indices into the quantities), how they were found (``"optimal"``, or
    ``"heuristic"`` after :data:`ROUNDS` rounds), the rounds taken and the time it took."""

    hidden: frozenset[int]
    method: str
    rounds: int
    seconds: float


class _Attack:
    """The reader's linear programmes over one hidden set: the least and the most each count can be.

    A base cell that a shown count of its own gives (a cross-tab's shown inner cell) is a constant, not a
    variable: the programmes keep only the other cells, which makes them several times smaller. The cut
    (:meth:`cut`) puts the dual of the full programme back together from the small one's."""

    def __init__(self, quantities: Sequence[Quantity], cells: int, hidden: Collection[int], big: int) -> None:
        import numpy as np

        self.np = np
        self.q, self.cells, self.big = quantities, cells, big
        self.matrix = _incidence(quantities, cells)
        self.fixing: dict[int, int] = {}  # base cell -> the shown count that gives it
        for k, q in enumerate(quantities):
            if k not in hidden and len(q.support) == 1:
                self.fixing[next(iter(q.support))] = k
        self.fixed = np.zeros(cells)
        for i, k in self.fixing.items():
            self.fixed[i] = quantities[k].value
        self.free = [i for i in range(cells) if i not in self.fixing]
        sub = self.matrix[:, self.free]
        live: Any = sub.any(axis=1)
        done: Any = self.matrix @ self.fixed  # what the constant cells already add to each count
        self.shown = [k for k in range(len(quantities)) if k not in hidden and live[k]]
        self.upper = [k for k in hidden if live[k] and band_of(quantities[k])[1] is not None]
        self.lower = [k for k in hidden if live[k] and band_of(quantities[k])[0] > 0]
        a_ub = [sub[k] for k in self.upper] + [-sub[k] for k in self.lower]
        b_ub = [band_of(quantities[k])[1] - done[k] for k in self.upper]
        b_ub += [done[k] - band_of(quantities[k])[0] for k in self.lower]
        self.a_eq = sub[self.shown] if self.shown else None
        self.b_eq = [quantities[k].value - done[k] for k in self.shown]
        self.a_ub, self.b_ub = a_ub, b_ub
        self._lp: Any = None  # the reader's programme in HiGHS, built at the first call and kept (warm starts)

    def _model(self) -> Any:
        """One HiGHS model per hidden set: only the objective changes between calls, so each solve starts
        from the last one's basis (a few pivots instead of a fresh solve)."""
        if self._lp is None:
            import highspy

            solver: Any
            try:  # the solver itself, without the Python wrapper's callbacks and the banner it prints on stdout
                from highspy._core import _Highs

                solver = _Highs
            except ImportError:  # another highspy layout: the public class
                solver = highspy.Highs

            np = self.np
            h = solver()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("presolve", "off")
            h.setOptionValue("simplex_strategy", 4)  # primal: a new objective keeps the basis feasible
            inf = highspy.kHighsInf
            n = len(self.free)
            h.addVars(n, np.zeros(n), np.full(n, inf))
            rows = ([*self.a_ub] if self.a_ub else []) + ([*self.a_eq] if self.a_eq is not None else [])
            lower = [-inf] * len(self.b_ub) + list(self.b_eq)
            upper = list(self.b_ub) + list(self.b_eq)
            if rows:
                from scipy.sparse import csr_array

                a = csr_array(np.array(rows))
                h.addRows(
                    len(rows),
                    np.array(lower, dtype=float),
                    np.array(upper, dtype=float),
                    a.nnz,
                    a.indptr[:-1].astype(np.int32),
                    a.indices.astype(np.int32),
                    a.data.astype(float),
                )
            self._lp = h
        return self._lp

    def _solve(self, cost: Any) -> Any:
        """min cost·x over the free cells, as a result shaped like scipy's ``linprog``'s (status 0 solved,
        2 infeasible, 3 unbounded; x, fun, and the row duals as ``eqlin``/``ineqlin`` marginals)."""
        import highspy

        np = self.np
        h = self._model()
        n = len(self.free)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(cost, dtype=float))
        h.run()
        status = h.getModelStatus()
        ms = highspy.HighsModelStatus
        if status == ms.kOptimal:
            sol = h.getSolution()
            dual = np.array(sol.row_dual)
            nu = len(self.b_ub)
            return SimpleNamespace(
                status=0,
                x=np.array(sol.col_value),
                fun=float(h.getInfo().objective_function_value),
                ineqlin=SimpleNamespace(marginals=dual[:nu]),
                eqlin=SimpleNamespace(marginals=dual[nu:]),
            )
        if status in (ms.kUnbounded, ms.kUnboundedOrInfeasible):
            return SimpleNamespace(status=3, x=None, fun=None)
        return SimpleNamespace(status=2, x=None, fun=None)

    def most(self, objective: object) -> tuple[float | None, object]:
        """The greatest value of ``objective``·x (None: unbounded) and the solver's result, with the point
        (all base cells) as ``res.point`` and the objective as ``res.objective``."""
        obj = self.np.asarray(objective, dtype=float)
        const = float(obj @ self.fixed)
        if not self.free:
            res = type("Fixed", (), {"x": None, "point": self.fixed.copy(), "objective": obj})()
            return const, res
        res = self._solve(-obj[self.free])
        res.objective = obj
        res.point = None
        if res.status == 3:
            return None, res
        if res.status != 0:  # the published counts are consistent, so never; be safe: treat as exposed
            return -float("inf"), res
        point = self.fixed.copy()
        point[self.free] = res.x
        res.point = point
        return const - float(res.fun), res

    def cut(self, res: Any, need: float) -> tuple[dict[int, float], float]:
        """From the dual of a failed ``most`` (value below ``need``), the cut Σ g_k y_k ≥ rhs that any hidden
        set reaching ``need`` satisfies (y_k = 1: count k hidden). Hiding count k lets it move down by
        d⁻ = value - band low and up by d⁺ = band high - value (the grand total for 'c')."""
        np = self.np
        duals: dict[int, tuple[float, float]] = {}  # k -> (alpha: upper side, beta: lower side)
        used = np.zeros(self.cells)  # Σ u·A per base cell, over the rows kept
        if self.free:
            if self.shown:
                for k, mu in zip(self.shown, -np.asarray(res.eqlin.marginals), strict=True):
                    duals[k] = (max(float(mu), 0.0), max(-float(mu), 0.0))
                    used += float(mu) * self.matrix[k]
            if self.upper or self.lower:
                ub = -np.asarray(res.ineqlin.marginals)
                for k, u in zip(self.upper, ub[: len(self.upper)], strict=True):
                    a, b = duals.get(k, (0.0, 0.0))
                    duals[k] = (a + max(float(u), 0.0), b)
                    used += max(float(u), 0.0) * self.matrix[k]
                for k, u in zip(self.lower, ub[len(self.upper) :], strict=True):
                    a, b = duals.get(k, (0.0, 0.0))
                    duals[k] = (a, b + max(float(u), 0.0))
                    used -= max(float(u), 0.0) * self.matrix[k]
        for i, k in self.fixing.items():  # the constant cells' rows: whatever makes their reduced cost zero
            mu = float(res.objective[i] - used[i])
            a, b = duals.get(k, (0.0, 0.0))
            duals[k] = (a + max(mu, 0.0), b + max(-mu, 0.0))
        const, g = 0.0, {}
        for k, (a, b) in duals.items():
            v = self.q[k].value
            lo, hi = band_of(self.q[k])
            const += (a - b) * v
            coef = a * ((self.big if hi is None else hi) - v) + b * (v - lo)
            if coef > _TOL:
                g[k] = coef
        return g, need - const


_LAST: list[tuple[Sequence[Quantity], int, Any]] = []  # the last incidence matrix (one system at a time)


def _incidence(quantities: Sequence[Quantity], cells: int) -> Any:
    """Count × base cell, 1 where the cell is part of the count; the same for every hidden set, so the last
    one is kept (the optimiser asks for it hundreds of times)."""
    import numpy as np

    last = _LAST[0] if _LAST else None
    if last is not None and last[0] is quantities and last[1] == cells:
        return last[2]
    matrix = np.zeros((len(quantities), cells))
    for k, q in enumerate(quantities):
        matrix[k, list(q.support)] = 1.0
    matrix.setflags(write=False)
    _LAST[:] = [(quantities, cells, matrix)]
    return matrix


def interval(
    quantities: Sequence[Quantity], cells: int, hidden: Collection[int], target: int
) -> tuple[float, float | None]:
    """The least and the most (None: no bound) the quantity ``target`` can be, given the others as a reader
    knows them (a number, or a band for the hidden ones: :func:`band`) and non-negative base cells."""
    import numpy as np

    attack = _Attack(quantities, cells, set(hidden), max((q.value for q in quantities), default=0))
    row = attack.matrix[target]
    hi, _ = attack.most(row)
    lo, _ = attack.most(-row)
    assert lo is not None  # cells are non-negative
    return -lo, hi if hi is None else float(np.round(hi, 9))


def _checks(quantities: Sequence[Quantity], target: int) -> list[tuple[int, float]]:
    """(sign, need) per direction to check: the most must reach 4, the least come down to 1 (a true 4
    already reaches 4, a true 1 already 1)."""
    v = quantities[target].value
    out = []
    if v < NEED_HIGH:
        out.append((1, float(NEED_HIGH)))
    if v > NEED_LOW:
        out.append((-1, -float(NEED_LOW)))
    return out


def unprotected(quantities: Sequence[Quantity], cells: int, hidden: Collection[int]) -> list[int]:
    """The audit: the counts of 1 to 4 that are shown, or hidden but narrowed: their interval, given
    everything else published, is narrower than the band 1 to 4 (fewer than four possible values)."""
    hidden = set(hidden)
    out = [k for k, q in enumerate(quantities) if is_sensitive(q.value) and k not in hidden]
    attack = _Attack(quantities, cells, hidden, max((q.value for q in quantities), default=0))
    out += [k for k, q in enumerate(quantities) if is_sensitive(q.value) and k in hidden and _narrow(attack, k)]
    return out


def protect_optimal(
    quantities: Sequence[Quantity],
    cells: int,
    weights: Sequence[float],
    *,
    never: Collection[int] = (),
    hide: Collection[int] = (),
    lines: Sequence[tuple[int, Sequence[int]]] = (),
    budgets: Sequence[tuple[Sequence[int], float]] = (),
    rounds: int = ROUNDS,
) -> Protection:
    """The counts to hide: every count of 1 to 4 and the further ones of least total ``weights`` that
    protect them (see the module docstring); ``never`` are always shown (the grand totals). Zeros may be
    hidden too (they show as '<5'), at their weight.

    ``hide`` are always hidden (decided elsewhere). ``lines`` (a total and the counts that add up to it: a
    table's row, a column) only speed it up: each gives the cuts of its own arithmetic from the start, which
    otherwise the rounds would find one by one. ``budgets`` (counts and a number of referrals: a one-way
    table and a tenth of its total) ask the choice to hide no more of them than that: each referral hidden
    over a budget costs :data:`OVER_BUDGET`, so a budget gives way only where nothing cheaper protects.

    Raises:
        ValueError: a count of 1 to 4 is in ``never``.
    """
    import numpy as np

    t0 = time.perf_counter()
    n = len(quantities)
    never = set(never)
    primary = {k for k, q in enumerate(quantities) if is_sensitive(q.value)}
    if primary & never:
        raise ValueError("a count of 1 to 4 cannot be always shown")
    hide = set(hide) - never
    if not primary:
        return Protection(frozenset(hide), "optimal", 0, time.perf_counter() - t0)
    big = max(q.value for q in quantities)
    lb = np.array([1.0 if k in primary or k in hide else 0.0 for k in range(n)])
    ub = np.array([0.0 if k in never else 1.0 for k in range(n)])
    cost = np.array(weights, dtype=float)
    spend = [({k: float(quantities[k].value) for k in ks if quantities[k].value}, float(cap)) for ks, cap in budgets]
    cuts = _line_cuts(quantities, lines, primary, big)
    hidden = primary | hide
    if cuts:
        hidden = _master(cost, lb, ub, cuts, spend) or hidden
    first: list[int] = []  # the counts that failed last: checked first, and a round stops at _BATCH cuts
    for rnd in range(1, rounds + 1):
        failed, who = _failing_cuts(quantities, cells, hidden, primary, big, first, _BATCH)
        first = list(dict.fromkeys(who))
        if not failed:
            return Protection(frozenset(hidden), "optimal", rnd - 1, time.perf_counter() - t0)
        cuts += failed
        chosen = _master(cost, lb, ub, cuts, spend)
        if chosen is None:  # cannot happen while 'never' leaves a way (hiding all else); fall back
            break
        hidden = chosen
    # the heuristic: from the last choice (it meets every cut so far), protect each count still narrowed by
    # hiding the cheapest count near it (in its lines, or named by its cut) that does it, until the audit passes
    near: dict[int, set[int]] = {}
    for parent, children in lines:
        members = {parent, *children}
        for k in members:
            near.setdefault(k, set()).update(members)
    while True:
        failed, who = _failing_cuts(quantities, cells, hidden, primary, big, wide=True)
        if not failed:
            return Protection(frozenset(hidden), "heuristic", rounds, time.perf_counter() - t0)
        grew = False
        for (coefs, _), k in zip(failed, who, strict=True):
            pick = _repair(quantities, cells, hidden, k, set(coefs) | near.get(k, set()), never, cost, big)
            if pick is None:  # nothing near it is left to hide: anything else, cheapest first
                pick = _repair(quantities, cells, hidden, k, set(range(n)), never, cost, big)
            if pick is not None:
                hidden.add(pick)
                grew = True
        if not grew:  # everything but the totals is hidden: as protected as they allow (the audit says so)
            return Protection(frozenset(hidden), "heuristic", rounds, time.perf_counter() - t0)


_TRIES = 8  # candidates the heuristic tries for one count before it takes the cheapest anyway


def _repair(
    quantities: Sequence[Quantity],
    cells: int,
    hidden: set[int],
    target: int,
    candidates: set[int],
    never: set[int],
    cost: Any,
    big: int,
) -> int | None:
    """The cheapest of ``candidates`` whose hiding protects ``target`` (of the :data:`_TRIES` cheapest), else the
    cheapest; None when ``target`` is protected already or nothing is left to hide."""

    def safe(extra: set[int]) -> bool:
        return not _narrow(_Attack(quantities, cells, hidden | extra, big), target)

    if safe(set()):
        return None
    order = sorted((k for k in candidates if k not in hidden and k not in never), key=lambda k: (cost[k], k))
    if not order:
        return None
    return next((k for k in order[:_TRIES] if safe({k})), order[0])


def _narrow(attack: _Attack, k: int) -> bool:
    """Whether count ``k``'s interval is narrower than the band 1 to 4 (fewer than four possible values)."""
    most, _ = attack.most(attack.matrix[k])
    least, _ = attack.most(-attack.matrix[k])
    assert least is not None
    return most is not None and most + least < WIDTH - _TOL


def _failing_cuts(
    quantities: Sequence[Quantity],
    cells: int,
    hidden: set[int],
    primary: set[int],
    big: int,
    first: Sequence[int] = (),
    batch: int | None = None,
    *,
    wide: bool = False,
) -> tuple[list[tuple[dict[int, float], float]], list[int]]:
    """The cuts of the counts of 1 to 4 that the audit finds narrowed, ``first`` checked first, and the count
    of each cut; with ``batch``, it stops once it has that many (a round need not check every count: the last
    round, which finds none, does)."""
    attack = _Attack(quantities, cells, hidden, big)
    np = attack.np
    out: list[tuple[dict[int, float], float]] = []
    who: list[int] = []
    order = [k for k in first if k in primary] + [k for k in sorted(primary) if k not in set(first)]
    # feasible points certify counts at once: one that reaches 4 (or 1) for a count settles that check without
    # its own programme; the two programmes that push all the counts up, and all down, give most of them
    points: list[object] = []
    for sign in (1, -1):
        _, res = attack.most(sign * attack.matrix[sorted(primary)].sum(axis=0))
        if res.point is not None:  # type: ignore[attr-defined]
            points.append(res.point)  # type: ignore[attr-defined]
    for k in order:
        if wide and not _narrow(attack, k):  # the heuristic's test: as wide as the band, if not covering it
            continue
        for sign, need in _checks(quantities, k):
            if points and (sign * (attack.matrix[k] @ np.array(points).T) >= need - _TOL).any():
                continue
            best, res = attack.most(sign * attack.matrix[k])
            if best is not None and best < need - _TOL:
                out.append(attack.cut(res, need))
                who.append(k)
            elif res.point is not None:  # type: ignore[attr-defined]
                points.append(res.point)  # type: ignore[attr-defined]
        if batch is not None and len(out) >= batch:
            break
    return out, who


def _master(
    cost: Any,
    lb: Any,
    ub: Any,
    cuts: Sequence[tuple[dict[int, float], float]],
    budgets: Sequence[tuple[dict[int, float], float]] = (),
) -> set[int] | None:
    """The hidden set of least cost that satisfies every cut (None: none does); each budget (value per count,
    cap) is a soft limit: the referrals hidden over it cost :data:`OVER_BUDGET` each (a continuous variable)."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    n, m = len(cost), len(budgets)
    rows, cols, vals = [], [], []
    for i, (coefs, _) in enumerate(cuts):
        for k, v in coefs.items():
            rows.append(i)
            cols.append(k)
            vals.append(v)
    lo = [r - _TOL for _, r in cuts]
    hi = [np.inf] * len(cuts)
    for j, (values, cap) in enumerate(budgets):  # Σ value·y - over_j <= cap
        i = len(cuts) + j
        for k, v in values.items():
            rows.append(i)
            cols.append(k)
            vals.append(v)
        rows.append(i)
        cols.append(n + j)
        vals.append(-1.0)
        lo.append(-np.inf)
        hi.append(cap)
    g = coo_array((vals, (rows, cols)), shape=(len(cuts) + m, n + m)).tocsr()
    res = milp(
        np.concatenate([cost, np.full(m, OVER_BUDGET)]),
        integrality=np.concatenate([np.ones(n), np.zeros(m)]),
        bounds=Bounds(np.concatenate([lb, np.zeros(m)]), np.concatenate([ub, np.full(m, np.inf)])),
        constraints=LinearConstraint(g, np.array(lo), np.array(hi)),
        options={"mip_rel_gap": 1e-4, "node_limit": 20_000},
    )
    if res.x is None:
        return None
    return {k for k in range(n) if res.x[k] > 0.5}


def _slack(q: Quantity, big: int) -> tuple[float, float]:
    """How far a count can move once hidden, as a reader takes its band: (down, up)."""
    lo, hi = band_of(q)
    return float(q.value - lo), float((big if hi is None else hi) - q.value)


def _line_cuts(
    quantities: Sequence[Quantity], lines: Sequence[tuple[int, Sequence[int]]], primary: set[int], big: int
) -> list[tuple[dict[int, float], float]]:
    """The cuts of single lines: for a count of 1 to 4 in a line, to move up by 4 - v the others must be able
    to move down (or the total up) by as much, and to move down by v - 1 the reverse."""
    out = []
    for parent, children in lines:
        for t in (parent, *children):
            if t not in primary:
                continue
            v = quantities[t].value
            others = [j for j in children if j != t]
            for need, sign in ((NEED_HIGH - v, 1), (v - NEED_LOW, -1)):
                if need <= 0:
                    continue
                g: dict[int, float] = {}
                for j in others if t != parent else children:
                    down, up = _slack(quantities[j], big)
                    # t a child: the others go the other way; t the total: its parts go the same way
                    g[j] = g.get(j, 0.0) + ((down if sign > 0 else up) if t != parent else (up if sign > 0 else down))
                if t != parent:
                    down, up = _slack(quantities[parent], big)
                    g[parent] = g.get(parent, 0.0) + (up if sign > 0 else down)
                out.append(({k: c for k, c in g.items() if c > 0}, float(need)))
    return out
