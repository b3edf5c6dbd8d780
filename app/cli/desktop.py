"""``frontdoor demo|app|doctor``: trying Frontdoor out, opening the desktop app, and checking what is installed.

``frontdoor app`` is the command line's launch path into the GUI: it imports ``app.gui`` (and so Qt) only inside
``cmd_app``, after checking that PySide6 and a display exist, so the rest of the command line never loads Qt.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from app.cli.common import UserError, command_store, doc_id

# ---- commands -------------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from app.cli.demo import run_demo

    return run_demo(args.db, open_app=not args.headless)


def cmd_app(args: argparse.Namespace) -> int:
    import ctypes.util
    import importlib.util

    if importlib.util.find_spec("PySide6") is None:
        raise UserError("the desktop app needs PySide6: pip install 'frontdoor[gui]'")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")):
        raise UserError("no display: run the app on a desktop (or under Xvfb: xvfb-run frontdoor app)")
    from app.gui import ask_passphrase, pick_document, run_app

    store = command_store(args, ask=ask_passphrase)
    try:
        doc = pick_document(store, args.project, args.doc)
    except LookupError as exc:
        raise UserError(str(exc)) from None
    if ctypes.util.find_library("vlc") is None:
        sys.stderr.write(
            "frontdoor: libvlc not found: video plays as stills only "
            "(apt-get install libvlc5 vlc-plugin-base vlc-plugin-video-output)\n"
        )
    delay = 8000 if args.tab == "analysis" else 2500  # the report is computed on a worker first
    return run_app(store, doc, screenshot=args.screenshot, tab=args.tab, delay_ms=delay)


def cmd_doctor(args: argparse.Namespace) -> int:
    from app.cli.doctor import report

    ok = True
    for line, good in report(args.db):
        ok &= good
        print(("ok    " if good else "MISSING ") + line)
    return 0 if ok else 1


# ---- parsers --------------------------------------------------------------------------------------------


def add_demo_parser(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    """Register ``frontdoor demo``."""
    s = sub(
        subs,
        "demo",
        "create the demo project (generated recording, referral scheme, example annotations)",
        "frontdoor demo --headless",
        cmd_demo,
    )
    s.add_argument("--headless", action="store_true", help="do not open the app even if a display exists")


def add_app_parser(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    """Register ``frontdoor app``."""
    s = sub(
        subs,
        "app",
        "open the desktop app on a project's document (the newest, or --doc)",
        "frontdoor app --project 'Demo: duty room'",
        cmd_app,
    )
    s.add_argument("--project")
    s.add_argument("--doc", type=doc_id)
    s.add_argument("--screenshot", metavar="PNG", help="save the window once loaded, then exit")
    s.add_argument("--tab", choices=["coding", "records", "analysis"], default="coding", help="the tab to show")


def add_doctor_parser(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    """Register ``frontdoor doctor``."""
    sub(subs, "doctor", "check ffmpeg, libvlc, Qt and the database", "frontdoor doctor", cmd_doctor)
