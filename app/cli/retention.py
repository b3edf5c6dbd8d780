"""``frontdoor retention policy|dates|due|destroy``: how long things are kept, and destroying them when due."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from app.cli.common import command_store, date_arg


def _line(item: Any) -> str:
    since = item.due_on.isoformat() if item.due_on else "no limit"
    where = f"  [{item.path}]" if item.path else ""
    return f"  {item.key:<16} {since:<10}  {item.label}: {item.why}{where}"


def cmd_retention(args: argparse.Namespace) -> int:
    from consent.retention import policy as retention

    store = command_store(args)
    if args.action == "policy":
        changes = {k: getattr(args, k) for k in ("recordings", "clips", "exports", "documents")}
        if any(v is not None for v in changes.values()):
            policy = retention.set_policy(store, args.project, **changes)
            print(f"project {args.project!r}: retention policy set")
        else:
            policy = retention.get_policy(store, args.project)
            if not policy.stored:
                print(f"project {args.project!r}: no retention policy yet (nothing is due by policy)")
        for line in policy.lines():
            print(f"  {line}")
        return 0
    if args.action == "dates":
        items = retention.schedule(store, project=args.project)
        if not items:
            print("nothing stored")
        for item in items:
            print(_line(item))
        _policy_notes(store, args.project)
        return 0
    if args.action == "due":
        return _due(store, args)
    return _destroy(store, args)


def _policy_notes(store: Any, project: str | None) -> None:
    from consent.retention import policy as retention

    for policy in retention.policies(store):
        if not policy.stored and (project is None or policy.project == project):
            print(
                f"note: project {policy.project!r} has no retention policy: only withdrawals, consent that ends "
                f"and export expiries make things due (frontdoor retention policy --project '{policy.project}' "
                "--recordings 60m ...)"
            )


def _due(store: Any, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from consent.retention import policy as retention

    on = args.on or datetime.now(UTC).date()
    items = retention.due(store, project=args.project, on=on)
    if items:
        print(f"{len(items)} item(s) must be destroyed on {on}:")
        for item in items:
            print(_line(item))
        print("nothing was destroyed; destroy them with: frontdoor retention destroy --yes")
    else:
        print(f"nothing is due on {on}")
    _stale_backups(store)
    _policy_notes(store, args.project)
    return 0


def _stale_backups(store: Any) -> None:
    from consent.retention import destruction

    stale = destruction.stale_backups(store)
    if not stale:
        return
    print(f"{len(stale)} backup(s) made before the last destruction still hold what it destroyed:")
    for b in stale:
        print(f"  {b.path} (made {b.made.strftime('%Y-%m-%d %H:%M UTC')})")
    print("replace them with: frontdoor retention destroy --including-backups --yes (a fresh backup is made first)")


def _destroy(store: Any, args: argparse.Namespace) -> int:
    from consent.retention import destruction

    if not args.yes:
        items = destruction.plan(store, project=args.project, keys=args.ids)
        if items:
            print(f"would destroy {len(items)} item(s):")
            for item in items:
                print(_line(item))
        else:
            print("nothing is due")
        if args.including_backups:
            for b in destruction.stale_backups(store):
                print(f"  would delete backup {b.path} (made {b.made.strftime('%Y-%m-%d %H:%M UTC')})")
        print("nothing was destroyed (a dry run): add --yes to destroy")
        return 0
    done = destruction.destroy(store, project=args.project, keys=args.ids, including_backups=args.including_backups)
    if done.items:
        print(f"destroyed {len(done.items)} item(s), {len(done.files_deleted)} file(s) deleted:")
        for item in done.items:
            print(_line(item))
    else:
        print("nothing was due")
    for path in done.files_missing:
        print(f"not found here (destroy it where it is, if it still exists): {path}")
    for path in done.files_kept:
        print(
            "kept (in use by a recording still stored, changed since it was written, or not a file the export "
            f"gate wrote): {path}"
        )
    if done.pseudonymised:
        print(f"participants with nothing left stored, real names and contacts cleared: {done.pseudonymised}")
    if done.log_emptied is False:
        print("note: another program has the store open: its write-ahead log is emptied when they close it")
    if done.fresh_backup is not None:
        print(f"fresh backup: {done.fresh_backup}; {len(done.backups_deleted)} older backup(s) deleted")
    if done.backup_problem:
        print(f"backups: {done.backup_problem}")
    if not args.including_backups:
        _stale_backups(store)
    return 0


def add_retention_parsers(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    s = sub(
        subs,
        "retention",
        "how long recordings, clips and exports are kept; what is due; destroying it (files and records)",
        "frontdoor retention policy --project 'Duty room study' --recordings 60m --clips 24m --exports 12m\n"
        "  frontdoor retention due --on 2027-01-01\n"
        "  frontdoor retention destroy --yes",
        cmd_retention,
    )
    acts: Any = s.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    a = acts.add_parser("policy", help="show or set a project's retention periods (60m, 5y, 30d or keep)")
    a.add_argument("--project", required=True)
    a.add_argument("--recordings", metavar="PERIOD", help="kept this long after they were made")
    a.add_argument("--clips", metavar="PERIOD", help="clip versions: after their last use or the recording's date")
    a.add_argument("--exports", metavar="PERIOD", help="exported files without --expires: after the export")
    a.add_argument("--documents", choices=["keep", "with-recording"], help="annotation documents of a recording")
    a = acts.add_parser("dates", help="every stored item with the date it must be destroyed from, and why")
    a.add_argument("--project")
    a = acts.add_parser("due", help="what must be destroyed (nothing is destroyed), and backups that hold it")
    a.add_argument("--project")
    a.add_argument("--on", type=date_arg, metavar="YYYY-MM-DD", help="as of this day (default today)")
    a = acts.add_parser("destroy", help="destroy what is due: a dry run unless --yes")
    a.add_argument("--project")
    a.add_argument("--ids", nargs="+", metavar="KIND:ID", help="only these (as 'due' prints them, e.g. version:4)")
    a.add_argument(
        "--including-backups",
        action="store_true",
        help="also delete the backups made before, once a fresh backup is made",
    )
    a.add_argument("--yes", action="store_true", help="really destroy (without it: only say what would go)")
