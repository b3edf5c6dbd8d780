"""``frontdoor stats|agreement|consensus``: the analysis of coded video from the command line.

``stats`` prints time budgets per tier and value (or the co-occurrence of two tiers' codes) as CSV or JSON;
``agreement`` compares two coders' tiers (Cohen's kappa on matched segments and ELAN's modified kappa);
``consensus list`` shows their disagreements side by side (and writes a decisions file to fill in),
``consensus build`` adds a consensus tier to the document from the filled-in decisions.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.common import UserError, command_store, doc_id, parse_time

if TYPE_CHECKING:  # the CLI imports the annotation layer only when a command runs
    from annotation.coding import CohenKappa, Comparison, ModifiedKappa, TierAgreement


def _num(x: float) -> float | None:
    """A float for JSON: NaN (an undefined kappa) becomes null."""
    return None if math.isnan(x) else round(x, 6)


def _fmt(x: float, digits: int = 4) -> str:
    return "NaN" if math.isnan(x) else f"{x:.{digits}f}"


# ---- stats ------------------------------------------------------------------------------------------------

STATS_COLUMNS = ("tier", "value", "count", "total_ms", "mean_ms")
COOCCURRENCE_COLUMNS = ("tier_a", "value_a", "tier_b", "value_b", "count", "overlap_ms", "share_a", "share_b")


def cmd_stats(args: argparse.Namespace) -> int:
    import csv

    from annotation.coding import co_occurrence, code_stats_with_length

    store = command_store(args)
    if args.co_occurrence:
        tier_a, tier_b = args.co_occurrence
        rows = co_occurrence(store, args.doc, tier_a, tier_b)
        if args.format == "json":
            out = {
                "document": args.doc,
                "tier_a": tier_a,
                "tier_b": tier_b,
                "co_occurrence": [
                    {
                        "value_a": r.value_a,
                        "value_b": r.value_b,
                        "count": r.count,
                        "overlap_ms": r.overlap_ms,
                        "share_a": _num(r.share_a),
                        "share_b": _num(r.share_b),
                    }
                    for r in rows
                ],
            }
            print(json.dumps(out, ensure_ascii=False, indent=2))
            return 0
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(COOCCURRENCE_COLUMNS)
        for r in rows:
            w.writerow(
                [tier_a, r.value_a, tier_b, r.value_b, r.count, r.overlap_ms, f"{r.share_a:.4f}", f"{r.share_b:.4f}"]
            )
        return 0
    stats, length = code_stats_with_length(store, args.doc, args.tier or None)
    if args.format == "json":
        out = {
            "document": args.doc,
            "length_ms": length.ms,
            "length_from": length.source,
            "stats": [
                {
                    "tier": s.tier,
                    "value": s.value,
                    "count": s.count,
                    "total_ms": s.total_ms,
                    "mean_ms": round(s.mean_ms, 3),
                    "share": _num(s.share),
                }
                for s in stats
            ],
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(STATS_COLUMNS)
    for s in stats:
        w.writerow([s.tier, s.value, s.count, s.total_ms, f"{s.mean_ms:.1f}"])
    return 0


# ---- agreement --------------------------------------------------------------------------------------------


def _grid(rows: Sequence[Sequence[str]], indent: str) -> list[str]:
    """Rows of cells as text columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return [
        indent
        + "  ".join(
            cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in rows
    ]


def _table(labels: Sequence[str], matrix: Sequence[Sequence[int]], indent: str = "    ") -> list[str]:
    names = [label if label else '"empty"' for label in labels]
    return _grid([["", *names], *([n, *map(str, row)] for n, row in zip(names, matrix, strict=True))], indent)


def _cohen_lines(c: CohenKappa, pairs: int) -> list[str]:
    lines = [f"Cohen's kappa on the {pairs} matched pairs (coder A in rows, coder B in columns)"]
    if c.n == 0:
        return [*lines, "    no matched pairs: kappa is undefined"]
    lines.append(
        f"    kappa {_fmt(c.kappa)}  95% CI {_fmt(c.ci95[0])} to {_fmt(c.ci95[1])}  "
        f"raw agreement {_fmt(c.observed)}  chance {_fmt(c.expected)}  kappa_max {_fmt(c.kappa_max)}"
    )
    return lines + _table(c.labels, c.matrix)


def _modified_lines(m: ModifiedKappa) -> list[str]:
    from annotation.coding import elan_number as e

    lines = [
        f"ELAN's modified kappa (Holle & Rein), numbers as ELAN prints them; linked {_fmt(m.linked, 2)}",
        f"    incl. unmatched:  kappa_ipf {e(m.kappa_ipf)}  kappa_max {e(m.kappa_max)}  "
        f"raw agreement {e(m.raw_agreement)}",
    ]
    if len(m.labels) > 2:
        lines.append(
            f"    excl. unmatched:  kappa {e(m.kappa_excl)}  kappa_max {e(m.kappa_max_excl)}  "
            f"raw agreement {e(m.raw_agreement_excl)}"
        )
    else:
        lines.append("    excl. unmatched:  not available: one value apart from Unmatched")
    lines.append("    per value")
    per_value = [["value", "kappa", "kappa_max", "raw agreement"]]
    per_value += [[v.value or '"empty"', e(v.kappa), e(v.kappa_max), e(v.raw_agreement)] for v in m.per_value]
    lines += _grid(per_value, "        ")
    lines.append("    agreement matrix (matched cells counted twice, as ELAN does)")
    return lines + _table(m.labels, m.matrix, "        ")


def _agreement_json(r: TierAgreement) -> dict[str, Any]:
    c, m = r.cohen, r.modified
    return {
        "a": {"document": r.doc_a, "tier": r.tier_a},
        "b": {"document": r.doc_b, "tier": r.tier_b},
        "min_overlap": r.matching.min_overlap,
        "matched": len(r.matching.pairs),
        "only_a": len(r.matching.only_a),
        "only_b": len(r.matching.only_b),
        "cohen": {
            "labels": list(c.labels),
            "matrix": [list(row) for row in c.matrix],
            "n": c.n,
            "kappa": _num(c.kappa),
            "se": _num(c.se),
            "ci95": [_num(c.ci95[0]), _num(c.ci95[1])],
            "raw_agreement": _num(c.observed),
            "chance_agreement": _num(c.expected),
            "kappa_max": _num(c.kappa_max),
        },
        "elan_modified_kappa": {
            "labels": list(m.labels),
            "matrix": [list(row) for row in m.matrix],
            "linked": _num(m.linked),
            "incl_unmatched": {
                "kappa_ipf": _num(m.kappa_ipf),
                "kappa_max": _num(m.kappa_max),
                "raw_agreement": _num(m.raw_agreement),
            },
            "excl_unmatched": {
                "kappa": _num(m.kappa_excl),
                "kappa_max": _num(m.kappa_max_excl),
                "raw_agreement": _num(m.raw_agreement_excl),
            },
            "per_value": [
                {
                    "value": v.value,
                    "table": [list(v.table[0]), list(v.table[1])],
                    "kappa": _num(v.kappa),
                    "kappa_max": _num(v.kappa_max),
                    "raw_agreement": _num(v.raw_agreement),
                }
                for v in m.per_value
            ],
        },
    }


def cmd_agreement(args: argparse.Namespace) -> int:
    from annotation.coding import tier_agreement

    r = tier_agreement(
        command_store(args), args.doc, args.tier_a, args.tier_b, doc_b=args.doc_b, min_overlap=args.overlap
    )
    if args.format == "json":
        print(json.dumps(_agreement_json(r), ensure_ascii=False, indent=2))
        return 0
    mt = r.matching
    lines = [
        f"agreement: document {r.doc_a} tier {r.tier_a!r} (A) against document {r.doc_b} tier {r.tier_b!r} (B)",
        f"segments paired when they overlap by at least {mt.min_overlap:.0%} of the longer one: "
        f"{len(mt.pairs)} pairs, {len(mt.only_a)} only in A, {len(mt.only_b)} only in B",
        "",
        *_cohen_lines(r.cohen, len(mt.pairs)),
        "",
        *_modified_lines(r.modified),
    ]
    print("\n".join(lines))
    return 0


# ---- consensus --------------------------------------------------------------------------------------------


def _side(s: Any) -> str:
    from media_tools.clock import clock_text

    if s is None:
        return "-"
    return f"{s.value or '(empty)'} [{clock_text(s.start)}-{clock_text(s.end)}]"


def _comparison_lines(c: Comparison, tier_a: str, tier_b: str) -> list[str]:
    lines = [
        f"{len(c.disagreements)} disagreements, {len(c.agreed)} agreed pairs "
        f"(overlap >= {c.min_overlap:.0%} of the longer segment, boundaries within {c.tolerance_ms} ms)",
        f"{'key':<16} {'kind':<11} A: {tier_a}  |  B: {tier_b}",
    ]
    for d in c.disagreements:
        lines.append(f"{d.key:<16} {d.kind:<11} {_side(d.a)}  |  {_side(d.b)}")
    return lines


def cmd_consensus(args: argparse.Namespace) -> int:
    from annotation.coding import build_consensus, decision_template, disagreements, load_decisions

    store = command_store(args)
    if args.action == "list":
        c = disagreements(
            store,
            args.doc,
            args.tier_a,
            args.tier_b,
            doc_b=args.doc_b,
            min_overlap=args.overlap,
            tolerance_ms=args.tolerance,
        )
        if args.template:
            path = Path(args.template)
            if path.exists():
                raise UserError(f"{path}: exists; give a new file for the decisions template")
            try:
                path.write_text(json.dumps(decision_template(c), ensure_ascii=False, indent=2) + "\n", "utf-8")
            except OSError as exc:
                raise UserError(f"{path}: cannot write ({exc.strerror})") from None
        if args.format == "json":
            print(json.dumps(decision_template(c), ensure_ascii=False, indent=2))
        else:
            print("\n".join(_comparison_lines(c, args.tier_a, args.tier_b)))
        if args.template:
            print(f"wrote {args.template}: fill in 'take' (a, b or neither) and 'rationale' for each", file=sys.stderr)
        return 0
    path = Path(args.decisions)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the decisions ({getattr(exc, 'strerror', None) or exc})") from None
    decisions = load_decisions(text)
    r = build_consensus(
        store,
        args.doc,
        args.tier_a,
        args.tier_b,
        decisions,
        new_tier=args.new_tier,
        min_overlap=args.overlap,
        tolerance_ms=args.tolerance,
        partial=args.partial,
    )
    print(
        f"added tier {r.tier!r} to document {args.doc}: {r.annotations} annotations "
        f"({r.agreed} agreed, {r.annotations - r.agreed} from {r.settled} decisions, {r.dropped} dropped)"
    )
    if r.rationale_tier:
        print(f"added tier {r.rationale_tier!r}: {r.notes} rationale notes")
    if r.dropped_tier:
        print(f"added tier {r.dropped_tier!r}: {r.dropped_notes} notes on dropped segments")
    return 0


# ---- parsers ----------------------------------------------------------------------------------------------


def _overlap(text: str) -> float:
    try:
        v = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an overlap (0.6 or 60%)") from None
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the overlap must be more than 0 and at most 1 (ELAN: 0.51-1)")
    return v


def add_analysis_parsers(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    s = sub(
        subs,
        "stats",
        "time budgets per tier and value (count, total and mean ms) as CSV or JSON, or the co-occurrence of codes",
        "frontdoor stats 4 --tier 'Call phase' --format csv\n  frontdoor stats 4 --co-occurrence 'Call phase' "
        "'Manager consulted'",
        cmd_stats,
    )
    s.add_argument("doc", type=doc_id)
    s.add_argument("--tier", action="append", metavar="TIER", help="only this tier (repeatable; default: all)")
    s.add_argument("--format", choices=["csv", "json"], default="csv")
    s.add_argument(
        "--co-occurrence",
        nargs=2,
        metavar=("TIER_A", "TIER_B"),
        help="instead: how long and how often each pair of codes on two tiers overlap",
    )

    def pairing(a: argparse.ArgumentParser, other_document: bool = True) -> None:
        a.add_argument("doc", type=doc_id, help="the document of tier A (and of tier B unless --doc-b)")
        a.add_argument("tier_a", metavar="TIER_A", help="coder A's tier")
        a.add_argument("tier_b", metavar="TIER_B", help="coder B's tier")
        if other_document:
            a.add_argument("--doc-b", type=doc_id, metavar="DOC", help="tier B is in this document (same recording)")
        a.add_argument(
            "--overlap",
            type=_overlap,
            default=0.6,
            help="pair segments overlapping by at least this part of the longer one (default 0.6, as ELAN)",
        )

    s = sub(
        subs,
        "agreement",
        "inter-coder agreement of two tiers: Cohen's kappa on matched segments and ELAN's modified kappa",
        "frontdoor agreement 4 'Call phase' 'Call phase (coder 2)'\n  frontdoor agreement 4 'Call phase' "
        "'Call phase' --doc-b 5 --format json",
        cmd_agreement,
    )
    pairing(s)
    s.add_argument("--format", choices=["text", "json"], default="text")

    s = sub(
        subs,
        "consensus",
        "two coders' disagreements side by side ('list') and a consensus tier built from decisions ('build')",
        "frontdoor consensus list 4 'Call phase' 'Call phase (coder 2)' --template decisions.json\n"
        "  frontdoor consensus build 4 'Call phase' 'Call phase (coder 2)' --decisions decisions.json "
        "--new-tier 'Call phase (consensus)'",
        cmd_consensus,
    )
    acts: Any = s.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    for name, help_ in (
        ("list", "list the disagreements: DOC TIER_A TIER_B"),
        ("build", "add a consensus tier from decisions: DOC TIER_A TIER_B --decisions FILE --new-tier NAME"),
    ):
        a = acts.add_parser(name, help=help_, description=help_)
        pairing(a, other_document=name == "list")
        a.add_argument(
            "--tolerance",
            type=parse_time,
            default=500,
            metavar="TIME",
            help="same value but start or end further apart than this is a disagreement (default 500 ms)",
        )
        if name == "list":
            a.add_argument("--format", choices=["text", "json"], default="text")
            a.add_argument("--template", metavar="FILE", help="also write a decisions file to fill in (JSON)")
        else:
            a.add_argument(
                "--decisions", required=True, metavar="FILE", help="the decisions (JSON, see 'list --template')"
            )
            a.add_argument("--new-tier", required=True, metavar="NAME", help="name of the consensus tier to add")
            a.add_argument(
                "--partial", action="store_true", help="leave undecided disagreements out instead of refusing"
            )
