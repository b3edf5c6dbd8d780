"""``frontdoor db roles`` and ``frontdoor db user``: who may do what on a shared PostgreSQL server
(``consent.server.roles`` describes the four kinds of role and what the database enforces for each)."""

from __future__ import annotations

import argparse
from typing import Any


def cmd_db_roles(args: argparse.Namespace) -> int:
    from app.cli.common import command_store as _store
    from consent.server import roles

    store = _store(args)
    if args.drop:
        dropped = roles.drop_roles(store, args.prefix)
        print(f"{store.label}: the {args.prefix}_* roles have no rights on this store any more")
        for name in dropped:
            print(f"dropped role {name}")
        return 0
    names = roles.create_roles(store, args.prefix)
    print(f"{store.label}: group roles and their rights on this store")
    for name, line in zip(names, roles.describe(), strict=True):
        print(f"  {name:<24} {line}")
    print(f"add people and stations with: frontdoor db user add NAME --role KIND --prefix {args.prefix}")
    return 0


def _password(args: argparse.Namespace, name: str) -> str:
    from getpass import getpass

    from app.cli.common import UserError

    if args.password_fd is not None:
        from app.cli.common import read_fd

        return read_fd(args.password_fd, "--password-fd")
    first = getpass(f"Password for {name} (12 characters or more): ")
    if first != getpass("The same again: "):
        raise UserError("password: the two entries differ; nothing changed")
    return first


def cmd_db_user(args: argparse.Namespace) -> int:
    from app.cli.common import command_store as _store
    from consent.server import roles

    store = _store(args)
    if args.user_action == "add":
        password = _password(args, args.name)
        user = roles.add_user(store, args.name, args.role, password, prefix=args.prefix, participant=args.participant)
        bound = f", bound to participant {user.participant!r}" if user.participant else ""
        print(f"login role {user.name} ({user.kind}{bound}) made in {user.group}")
        print(f"connect with: --db postgresql://{user.name}@HOST/DATABASE (the password in ~/.pgpass or PGPASSWORD)")
    elif args.user_action == "drop":
        roles.drop_user(store, args.name)
        print(f"login role {args.name} dropped")
    else:
        users = roles.list_users(store)
        if not users:
            print("no login roles on this store (frontdoor db user add NAME --role KIND)")
        for u in users:
            print(f"{u.name:<24} {u.kind:<10} {u.participant or ''}")
    return 0


def add_db_parsers(db: argparse.ArgumentParser, parser_class: type) -> None:
    """``db upgrade|info`` (run by ``app.cli.main.cmd_db``), ``db roles`` and ``db user add|drop|list``."""
    from consent.role_kinds import DEFAULT_PREFIX, KINDS  # not consent.server: it loads the database code

    acts: Any = db.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    acts.add_parser("upgrade", help="migrate an older store to the newest schema")
    acts.add_parser("info", help="the database and its schema revision")
    a = acts.add_parser(
        "roles",
        help="make the group roles researcher, reviewer, presenter, auditor and their rights (PostgreSQL; again "
        "after an upgrade)",
    )
    a.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"role names start with it (default {DEFAULT_PREFIX})")
    a.add_argument("--drop", action="store_true", help="take the roles' rights on this store and drop them")
    a.set_defaults(func=cmd_db_roles)
    a = acts.add_parser("user", help="login roles for people and review stations: add, drop, list")
    a.set_defaults(func=cmd_db_user)
    users = a.add_subparsers(dest="user_action", metavar="ACTION", required=True, parser_class=parser_class)
    # no abbreviations: "--password SECRET" must not be read as "--password-fd"
    b = users.add_parser(
        "add", help="NAME --role KIND: a login role (a reviewer is a station for one --participant)", allow_abbrev=False
    )
    b.add_argument("name")
    b.add_argument("--role", required=True, choices=KINDS)
    b.add_argument("--participant", help="the participant a review station is for (reviewer only)")
    b.add_argument("--prefix", default=DEFAULT_PREFIX)
    b.add_argument("--password-fd", type=int, metavar="N", help="scripts: read the password from descriptor N")
    b = users.add_parser("drop", help="drop a login role of this store")
    b.add_argument("name")
    users.add_parser("list", help="the login roles of this store, their kind and station participant")
