"""``frontdoor project``: a project's stored settings — shown, and the leave to offer someone who withheld a
version with their face blurred (``set-blur-withheld``, audited with its reason)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from app.cli.common import command_store


def cmd_project(args: argparse.Namespace) -> int:
    from consent import faces, participants

    store = command_store(args)
    if args.project_action == "show":
        allowed = faces.blur_withheld_allowed(store, args.project)
        names = participants.keeps_real_names(store, args.project)
        print(f"project {args.project!r}")
        print(f"  real names:    {'kept' if names else 'not kept'} (frontdoor participant policy)")
        print(
            f"  {faces.SETTING}: {'on' if allowed else 'off'} — offering someone who withheld a version with "
            "their face blurred (frontdoor clip blur-withheld)"
        )
    elif args.project_action == "set-blur-withheld":
        on = args.value == "on"
        changed = faces.set_blur_withheld(store, args.project, on, reason=args.reason)
        state = "on" if on else "off"
        if not changed:
            print(f"project {args.project!r}: {faces.SETTING} was {state} already (nothing changed)")
        else:
            print(f"project {args.project!r}: {faces.SETTING} {state} (in the audit log, with the reason)")
            if on:
                print("frontdoor clip blur-withheld CLIP may now offer those who withheld a blurred version")
    return 0


def add_project_parser(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    """Register ``project`` (called from :func:`app.cli.main.build_parser`)."""
    s = sub(
        subs,
        "project",
        "a project's stored settings: show them; allow offering a blurred version to someone who withheld",
        "frontdoor project show 'Duty room study'\n"
        "  frontdoor project set-blur-withheld 'Duty room study' on --reason 'ethics amendment 3 approved'",
        cmd_project,
    )
    acts: Any = s.add_subparsers(dest="project_action", metavar="ACTION", required=True, parser_class=parser_class)
    a = acts.add_parser("show", help="the project's settings")
    a.add_argument("project", metavar="PROJECT")
    a = acts.add_parser(
        "set-blur-withheld",
        help="whether the project's ethics approval allows 'clip blur-withheld' (a researcher's change, audited)",
    )
    a.add_argument("project", metavar="PROJECT")
    a.add_argument("value", choices=["on", "off"])
    a.add_argument("--reason", required=True, help="why (e.g. the approval that allows it); kept in the audit log")
