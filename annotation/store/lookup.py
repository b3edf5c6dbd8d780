"""Look-ups that every service repeats: a row by its key or a NotFound, and a project by its name.

Each service used to write these three lines itself, with slightly different messages; they live here
once so that a missing row always reads the same way ("recording 3: no such recording in the store").
A caller whose message or error class differs passes its own (``message=``, ``error=``) rather than
writing a fourth copy.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation.errors import NotFound
from annotation.store.tables import Project

T = TypeVar("T")


def get_or_not_found(
    session: Session,
    model: type[T],
    key: Any,
    what: str,
    *,
    message: str | None = None,
    error: type[Exception] = NotFound,
) -> T:
    """The row of ``model`` whose primary key is ``key``.

    ``what`` names the kind of row for the user ("recording", "document"); the default message is
    ``"{what} {key}: no such {what} in the store"``.

    Raises:
        NotFound: no such row (or ``error`` with ``message`` when the caller gives them).
    """
    row = session.get(model, key)
    if row is None:
        raise error(message if message is not None else f"{what} {key}: no such {what} in the store")
    return row


def find_project(session: Session, name: str) -> Project | None:
    """The project called ``name``, or None."""
    return session.scalar(select(Project).where(Project.name == name))


def project_by_name(
    session: Session,
    name: str,
    *,
    create: bool = False,
    message: str | None = None,
    error: type[Exception] = NotFound,
) -> Project:
    """The project called ``name``; with ``create=True`` a missing one is added (and flushed, so it has
    an id).

    Raises:
        NotFound: no such project and ``create`` is false; the message is ``"project 'x': no such
            project"`` unless the caller gives its own ``message`` (and ``error`` class).
    """
    p = find_project(session, name)
    if p is None:
        if not create:
            raise error(message if message is not None else f"project {name!r}: no such project")
        p = Project(name=name)
        session.add(p)
        session.flush()
    return p
