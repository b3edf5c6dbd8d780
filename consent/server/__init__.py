"""A shared PostgreSQL server: the database roles (researcher, reviewer, presenter, auditor) and what each
may read, which the consent rules ask when a role may not read decisions itself."""

from __future__ import annotations

from consent.role_kinds import DEFAULT_PREFIX, KINDS
from consent.server import access, roles

__all__ = ["DEFAULT_PREFIX", "KINDS", "access", "roles"]
