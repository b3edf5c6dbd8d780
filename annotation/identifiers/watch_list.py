"""A project's watch list: the names, places and case numbers a scan looks for in its transcripts.

The terms are themselves what must not get out. They are stored in the project's store (encrypted with it
when it is a SQLCipher store) and shown only by :func:`list_watch_terms`, for the researcher's own list
command. Every message, log line and exception here names a term by its id or its line in the input,
never by its text; duplicates are found here (not by a unique index, whose violation the database would
report with the value in it).

Input format (:func:`parse_watch_lines`), one term a line, from a file, stdin or a prompt (never the
command line, where it would land in the shell's history)::

    # comment lines and blank lines are skipped
    Kayden Smith | Kaydan Smith | Kayden Smyth       the term, then other spellings after "|"
    case number: CN-2024-00123                        a kind before ":" overrides --kind for the line
    name (child name): Kayden                          ... and a label for the Sensitive identifier tier
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from annotation.errors import InvalidEdit, NotFound
from annotation.identifiers.match import (
    CASE_NUMBER,
    DEFAULT_VALUES,
    WATCH_KINDS,
    Term,
    WatchMatcher,
    fold_key,
    spelling_tokens,
)
from annotation.identifiers.models import CONFIRMED, IdentifierProposal, WatchTerm
from annotation.store import Store, project_by_name

log = logging.getLogger(__name__)

MAX_TERM = 200
MAX_LABEL = 100
_KIND_ALIASES = {k.replace(" ", sep): k for k in WATCH_KINDS for sep in (" ", "-", "_", "")}
_PREFIX = re.compile(r"^\s*([A-Za-z][A-Za-z _-]*?)\s*(?:\(([^()]*)\))?\s*:\s*(.*)$")


@dataclass(frozen=True)
class WatchEntry:
    """A term to add: its kind, text, other spellings and (optional) Sensitive identifier value. ``line``
    says where it came from, for messages that must not quote it."""

    kind: str
    term: str
    variants: tuple[str, ...] = ()
    label: str | None = None
    line: int = 0


@dataclass(frozen=True)
class WatchTermView:
    id: int
    kind: str
    term: str
    variants: tuple[str, ...]
    label: str | None

    @property
    def value(self) -> str:
        """What a confirmed proposal of this term says on the Sensitive identifier tier."""
        return self.label or DEFAULT_VALUES[self.kind]


@dataclass(frozen=True)
class AddResult:
    added: int
    already: int  # listed before (new spellings of theirs were added to them)


def watch_kind(text: str) -> str:
    """The watch-list kind ``text`` names ("name", "place", "case number" or "other"; "case-number" too).

    Raises:
        InvalidEdit: not a kind.
    """
    kind = _KIND_ALIASES.get(text.strip().lower())
    if kind is None:
        raise InvalidEdit(f"kind {text.strip()!r}: use one of {', '.join(WATCH_KINDS)}")
    return kind


def parse_watch_lines(lines: Iterable[str], *, kind: str = "name", label: str | None = None) -> list[WatchEntry]:
    """Entries from lines of text (the format is in the module docstring); ``kind`` and ``label`` apply to
    lines that do not give their own.

    Raises:
        InvalidEdit: a line with an unknown kind (named by its number, not its text).
    """
    default_kind = watch_kind(kind)
    out = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        line_kind, line_label = default_kind, label
        m = _PREFIX.match(line)
        if m and m.group(1).strip().lower() in _KIND_ALIASES:
            line_kind = _KIND_ALIASES[m.group(1).strip().lower()]
            line_label = (m.group(2) or "").strip() or label
            line = m.group(3)
        elif m and m.group(2) is not None:
            raise InvalidEdit(f"line {n}: what comes before ':' is not a kind (use one of {', '.join(WATCH_KINDS)})")
        spellings = [s.strip() for s in line.split("|")]
        out.append(
            WatchEntry(line_kind, spellings[0], tuple(s for s in spellings[1:] if s), line_label or None, line=n)
        )
    return out


def _project(session: Session, project: str) -> int:
    message = f"project {project!r}: no such project (see 'frontdoor recording add --project')"
    return project_by_name(session, project, message=message).id


def _where(entry: WatchEntry, i: int) -> str:
    return f"line {entry.line}" if entry.line else f"term {i + 1}"


def _check(entry: WatchEntry, i: int) -> None:
    where = _where(entry, i)
    if entry.kind not in WATCH_KINDS:
        raise InvalidEdit(f"{where}: kind {entry.kind!r}: use one of {', '.join(WATCH_KINDS)}")
    for s in (entry.term, *entry.variants):
        if len(s) > MAX_TERM:
            raise InvalidEdit(f"{where}: longer than {MAX_TERM} characters")
        if not spelling_tokens(entry.kind, s):
            raise InvalidEdit(f"{where}: has no letters or digits to look for")
    if entry.label is not None:
        if len(entry.label) > MAX_LABEL or not entry.label.strip():
            raise InvalidEdit(f"{where}: a label is 1 to {MAX_LABEL} characters")
        if WatchMatcher([Term(0, entry.kind, (entry.term, *entry.variants))]).find(entry.label):
            raise InvalidEdit(
                f"{where}: the label must say what kind of identifier it is (e.g. 'child name'), not repeat it"
            )


def add_watch_terms(store: Store, project: str, entries: Sequence[WatchEntry]) -> AddResult:
    """Add terms to a project's watch list in one transaction (all or nothing). A term already listed (same
    kind, same words in any case or accents) is not added again; spellings it did not have are added to it.

    Raises:
        NotFound: no such project (a mistyped project must not take the terms where no scan looks).
        InvalidEdit: an entry with no letters or digits, too long, an unknown kind, or a label that repeats
            the term (named by its line, never its text).
    """
    for i, e in enumerate(entries):
        _check(e, i)
    added = already = 0
    with store.session() as s:
        pid = _project(s, project)
        rows = s.scalars(select(WatchTerm).where(WatchTerm.project_id == pid)).all()
        known = {(r.kind, fold_key(r.term)): r for r in rows}
        for e in entries:
            spellings = [e.term.strip(), *(v.strip() for v in e.variants)]
            row = known.get((e.kind, fold_key(spellings[0])))
            if row is None:
                row = WatchTerm(project_id=pid, kind=e.kind, term=spellings[0], variants=[], label=e.label)
                s.add(row)
                known[(e.kind, fold_key(spellings[0]))] = row
                added += 1
            else:
                already += 1
            have = {fold_key(x) for x in (row.term, *row.variants)}
            new = []
            for v in spellings[1:]:
                if fold_key(v) not in have:
                    have.add(fold_key(v))
                    new.append(v)
            if new:
                row.variants = [*row.variants, *new]
    log.info("watch list of project %s: %d terms added, %d already listed", pid, added, already)
    return AddResult(added, already)


def _view(r: WatchTerm) -> WatchTermView:
    return WatchTermView(r.id, r.kind, r.term, tuple(r.variants or ()), r.label)


def list_watch_terms(store: Store, project: str) -> list[WatchTermView]:
    """The project's watch list, in the order it was added. The only function that gives terms back: for
    the researcher's own list command and dialog, never for a log or a message.

    Raises:
        NotFound: no such project.
    """
    with store.session() as s:
        pid = _project(s, project)
        return [
            _view(r) for r in s.scalars(select(WatchTerm).where(WatchTerm.project_id == pid).order_by(WatchTerm.id))
        ]


def project_terms(session: Session, project_id: int | None) -> list[Term]:
    """The project's terms as the matcher takes them (none for a document without a project)."""
    if project_id is None:
        return []
    rows = session.execute(
        select(WatchTerm.id, WatchTerm.kind, WatchTerm.term, WatchTerm.variants).where(
            WatchTerm.project_id == project_id
        )
    ).all()
    return [Term(i, k, (t, *(v or ()))) for i, k, t, v in rows]


def term_values(session: Session, term_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Term id -> (kind, the value its confirmed proposals get)."""
    ids = list(set(term_ids))
    if not ids:
        return {}
    rows = session.execute(select(WatchTerm.id, WatchTerm.kind, WatchTerm.label).where(WatchTerm.id.in_(ids))).all()
    return {i: (k, lab or DEFAULT_VALUES[k]) for i, k, lab in rows}


@dataclass(frozen=True)
class RemoveResult:
    removed: int
    proposals_withdrawn: int  # pending and rejected proposals of those terms (confirmed ones stay)


def remove_watch_terms(store: Store, project: str, term_ids: Sequence[int]) -> RemoveResult:
    """Take terms off the project's watch list (by id: see :func:`list_watch_terms`). Their pending and
    rejected proposals go with them; confirmed ones stay, with the annotations they made.

    Raises:
        NotFound: no such project, or an id that is not on its list (nothing is removed).
    """
    ids = sorted(set(term_ids))
    with store.session() as s:
        pid = _project(s, project)
        mine = set(s.scalars(select(WatchTerm.id).where(WatchTerm.project_id == pid, WatchTerm.id.in_(ids))))
        for i in ids:
            if i not in mine:
                raise NotFound(f"watch term {i}: not on the watch list of project {project!r}")
        withdrawn = s.execute(
            delete(IdentifierProposal).where(
                IdentifierProposal.term_id.in_(ids), IdentifierProposal.status != CONFIRMED
            )
        ).rowcount  # type: ignore[attr-defined]
        s.execute(delete(WatchTerm).where(WatchTerm.id.in_(ids)))
    log.info("watch list of project %s: %d terms removed", pid, len(ids))
    return RemoveResult(len(ids), int(withdrawn or 0))


__all__ = [
    "CASE_NUMBER",
    "AddResult",
    "RemoveResult",
    "WatchEntry",
    "WatchTermView",
    "add_watch_terms",
    "list_watch_terms",
    "parse_watch_lines",
    "project_terms",
    "remove_watch_terms",
    "term_values",
    "watch_kind",
]
