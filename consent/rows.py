"""The plumbing every consent service shares: one transaction per change, and the rows looked up by what
people type.

``write`` runs a change in one transaction that takes its turn (consent writes run one at a time, each
reading what the one before committed) and retries when another writer appended to the audit log first.
The look-ups (``participant``, ``clip``, ``find_project``, ``current_version``) turn an id or a name into a
row or a ``ConsentError`` that says what to type instead; they are shared by participants, clips,
decisions, the usability rule, the export gate, the review station and retention, so they live below all
of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from annotation.errors import StoreUnavailable
from annotation.store import Project, Store, project_by_name
from consent.errors import InvalidRequest, UnknownThing
from consent.models import Clip, ClipVersion, Participant
from media_tools.spec import EditSpec, parse_spec

T = TypeVar("T")
MAX_ID = 2**31  # larger numbers are no row's id (and overflow the databases' integers)
LIMITS = {"pseudonym": 100, "real_name": 200, "role": 200, "contact": 300, "name": 300}


def check_length(what: str, value: str | None) -> None:
    """Refuse a text longer than its column allows (``LIMITS``).

    Raises:
        InvalidRequest: ``value`` is longer than ``LIMITS[what]`` characters.
    """
    if value is not None and len(value) > LIMITS[what]:
        raise InvalidRequest(f"{what.replace('_', ' ')}: longer than {LIMITS[what]} characters")


def write(store: Store, fn: Callable[[Session], T], *, attempts: int = 5) -> T:
    """Run ``fn`` in one transaction, retrying when another writer appended to the audit log first (the
    chain's uniqueness constraints) or held SQLite's write lock."""
    for attempt in range(attempts):
        try:
            with store.session() as s:
                _take_turn(s)
                return fn(s)
        except IntegrityError as exc:
            if "audit_log" not in str(exc.orig) or attempt == attempts - 1:
                raise InvalidRequest(f"{store.label}: refused by the database ({_first_line(exc)})") from exc
        except StoreUnavailable as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
        except OperationalError as exc:  # pragma: no cover - the store maps these
            raise StoreUnavailable(f"{store.label}: {_first_line(exc)}") from exc
        time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _take_turn(s: Session) -> None:
    """Start the transaction with a write, so consent writes run one at a time and each reads what the one
    before committed (SQLite takes its write lock here; PostgreSQL locks the row until commit)."""
    from sqlalchemy import update

    from consent.models import ConsentLock

    s.execute(update(ConsentLock).where(ConsentLock.id == 1).values(n=ConsentLock.n + 1))


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]


def find_project(s: Session, name: str, *, create: bool = False) -> Project:
    """The project called ``name`` (added when ``create`` and missing).

    Raises:
        UnknownThing: no such project and ``create`` is false.
    """
    return project_by_name(s, name, create=create, message=f"project {name!r}: not found", error=UnknownThing)


def participant(s: Session, ref: str | int, project_id: int | None = None) -> Participant:
    """A participant by id or pseudonym (in ``project_id`` when given).

    Raises:
        UnknownThing: none, or several projects use that pseudonym.
    """
    text = str(ref)
    if text.isdigit() and int(text) < MAX_ID:
        p = s.get(Participant, int(text))
        if p is not None and (project_id is None or p.project_id == project_id):
            return p
    q = select(Participant).where(Participant.pseudonym == text)
    if project_id is not None:
        q = q.where(Participant.project_id == project_id)
    found = s.scalars(q).all()
    if not found:
        raise UnknownThing(f"participant {text!r}: not found (see 'frontdoor participant list')")
    if len(found) > 1:
        raise UnknownThing(
            f"participant {text!r}: in several projects; use the id ({', '.join(str(p.id) for p in found)})"
        )
    return found[0]


def clip(s: Session, ref: str | int) -> Clip:
    text = str(ref)
    c = s.get(Clip, int(text)) if text.isdigit() and int(text) < MAX_ID else None
    if c is None:
        raise UnknownThing(f"clip {text!r}: not found (see 'frontdoor clip list')")
    return c


def current_version(s: Session, c: Clip) -> ClipVersion:
    v = s.scalar(select(ClipVersion).where(ClipVersion.clip_id == c.id).order_by(ClipVersion.number.desc()).limit(1))
    if v is None:  # pragma: no cover - a clip is created with its first version
        raise InvalidRequest(f"clip {c.id}: has no version")
    return v


def version_spec(v: ClipVersion, source: str | Path) -> EditSpec:
    """The version's edit spec with the recording's current path as its source."""
    return parse_spec(dict(v.spec, source=str(source)), name=f"clip version {v.version_hash[:12]}")
