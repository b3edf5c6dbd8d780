"""The kinds of database group role on a shared PostgreSQL server and the default prefix of their names.

Kept apart from :mod:`consent.server.roles` (which loads SQLAlchemy and the store) so that the command line
can offer them as choices without loading the database code.
"""

from __future__ import annotations

KINDS = ("researcher", "reviewer", "presenter", "auditor")
DEFAULT_PREFIX = "fd"
