"""A statement the database refuses for lack of privilege becomes ``AccessDenied``, one line for the user.

On a shared PostgreSQL server each role may read and write only what its grants and row-level security
policies allow (``consent.server.roles``). A refusal arrives from psycopg as ``InsufficientPrivilege`` (SQLSTATE
42501: a missing grant, or a new row a policy does not accept); the store's engines turn it into
``AccessDenied`` naming the role, the operation and the table, so the front ends print one line (the
original stays chained for the log). A row a policy hides is not an error: it is simply not there.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, event

from annotation.errors import AccessDenied

_INSUFFICIENT_PRIVILEGE = "42501"
_OBJECT = re.compile(r'(?:table|relation|function|sequence|schema|column)\s+"?([\w.]+)"?')


def _refused(context: Any) -> None:
    orig = context.original_exception
    if getattr(orig, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
        return
    diag = getattr(orig, "diag", None)
    primary = (getattr(diag, "message_primary", None) or str(orig)).strip().splitlines()[0]
    found = _OBJECT.search(primary)
    words = (context.statement or "").split(None, 1)
    operation = words[0].upper() if words else "statement"
    user = context.engine.url.username if context.engine is not None else None
    what = f"{operation} on {found.group(1)}" if found else operation
    raise AccessDenied(f"{user or 'this database role'}: access denied: {what} ({primary})", detail=str(orig)) from orig


def watch_privileges(engine: Engine) -> None:
    """Make ``engine`` raise ``AccessDenied`` for statements its role may not run."""
    event.listen(engine, "handle_error", _refused)
