"""Importing referral records from a CSV extract of the authority's case-record system.

The extract's columns are matched to record fields by a mapping: ``--map COLUMN=FIELD`` options, a mapping
file (JSON or TOML: ``{"columns": {"Referral ID": "reference", ...}, "values": {"referrer_type":
{"Education": "school"}}, "date_format": "%d/%m/%Y %H:%M"}``), and otherwise the usual header names
(:data:`DEFAULT_HEADERS`, matched ignoring case, spaces and punctuation). Fields besides the record's own:
``reference`` (the authority's referral reference, required, kept only as a keyed hash), ``received_date``
and ``received_time`` (when date and time are separate columns), ``decided_at`` (time to decision is taken
from it) and ``hours_to_decision``.

What is refused, and how:

- A column that looks like a direct identifier of a child or family (a name, date of birth, address,
  postcode, NHS or pupil number, phone, email, a person or case id) refuses the whole file up front, with
  one line naming the column, before any row is read: the research database must not receive them, so the
  extract has to be made without them.
- Every row is checked before anything is stored. A bad row is reported as one line,
  ``FILE:ROW: column 'X': problem`` (ROW is the line of the file the row starts on; the header is line 1;
  several problems of one row share its line, separated by ``;``). When any row is bad nothing is stored,
  unless ``skip_bad`` is asked for, which stores the good rows and reports the bad ones. A line the CSV
  reader cannot get past (a field longer than 131,072 characters) stores nothing even with ``skip_bad``:
  the rows after it could not be read, and would be left out without a word.
- The good rows are stored in one transaction: a failure half-way stores nothing.

Re-importing: a referral whose reference hash is already stored in the project is skipped, not stored
again (and counted as ``already_stored``), so importing the same file, or an overlapping later extract,
never duplicates a referral. A reference that occurs twice in one file is a bad row.

Notes are checked with :func:`annotation.identifiers.warnings.identifier_warnings`: by default the row is stored
and a warning line printed; ``flagged_notes="drop"`` stores the row without its notes, ``"refuse"`` makes
the row bad.

The file's encoding is found by trying UTF-8 (with or without a byte-order mark) and then Windows-1252,
the two that spreadsheet programs on the authority's machines write, or UTF-16 with a byte-order mark (a
spreadsheet's "Unicode text"); the delimiter (comma, semicolon, tab or bar) from the header line. Dates are
day first (``31/01/2026 14:05``) or ISO (``2026-01-31T14:05``); a date that can only be month first
(``03/15/2026``) refuses the whole file, even with ``skip_bad``, since the file's other dates would then be
read the wrong way round without a word (a mapping's ``date_format`` says how to read them).

This module reads the file and stores the rows; which column feeds which field is
:mod:`annotation.records.columns`, and checking one row is :mod:`annotation.records.rows`.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from annotation.errors import IdentifierColumn, RecordImportError
from annotation.identifiers import identifier_warnings
from annotation.records.columns import ColumnMapping, identifier_columns, resolve_columns
from annotation.records.models import ReferralRecord
from annotation.records.referrals import FIELDS, Vocabularies, load_vocabularies, project_key, reference_hash
from annotation.records.rows import DATE_FIELDS, RowError, month_first, parse_row
from annotation.store import Store, project_by_name


@dataclass(frozen=True)
class ImportResult:
    """What an import did. ``problems`` and ``warnings`` are the one-line reports, in file order."""

    path: str
    encoding: str
    rows: int
    imported: int
    already_stored: int
    skipped_bad: int
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    seconds: float


FlaggedNotes = Literal["keep", "drop", "refuse"]


def _decode(raw: bytes, name: str) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # a spreadsheet's "Unicode text"
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise RecordImportError(
                f"{name}: byte {exc.start + 1} is not UTF-16 text; save the extract as CSV UTF-8"
            ) from exc
    zero = raw.find(b"\x00")
    if zero >= 0:
        # Windows-1252 would take the zero bytes of UTF-16 without a byte-order mark for characters, and the
        # header names (and the identifier check on them) would be garbled
        raise RecordImportError(
            f"{name}: byte {zero + 1} is a zero byte, which CSV text does not hold (UTF-16 without a "
            "byte-order mark?); save the extract as CSV UTF-8"
        )
    try:
        return raw.decode("utf-8-sig"), "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise RecordImportError(
            f"{name}: byte {exc.start + 1} is neither UTF-8 nor Windows-1252 text; save the extract as CSV UTF-8"
        ) from exc


def _dialect(text: str) -> type[csv.Dialect]:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    delim = max(counts, key=lambda d: counts[d])

    class _D(csv.excel):
        delimiter = delim if counts[delim] else ","

    return _D


def import_records(
    store: Store,
    path: str | Path,
    project: str,
    *,
    mapping: ColumnMapping | None = None,
    skip_bad: bool = False,
    period: str | None = None,
    flagged_notes: FlaggedNotes = "keep",
    vocab: Vocabularies | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import a CSV extract into ``project`` (created if new). See the module docstring for the rules.

    ``period`` labels rows whose extract has no period column (or an empty cell); without either the
    period is the quarter the referral came in.

    Raises:
        IdentifierColumn: the extract has a column for a direct identifier (nothing is read or stored).
        RecordImportError: the file cannot be read, a needed column is missing, or (without ``skip_bad``)
            some rows are bad: ``problems`` holds one line per bad row and nothing is stored.
    """
    t0 = time.perf_counter()
    p = Path(path)
    name = p.name
    vocab = vocab or load_vocabularies()
    mapping = mapping or ColumnMapping()
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise RecordImportError(f"{p}: cannot read ({exc.strerror or exc})") from exc
    text, encoding = _decode(raw, name)
    reader = csv.reader(io.StringIO(text, newline=""), dialect=_dialect(text))
    try:
        headers = [h.strip() for h in next(reader)]
    except StopIteration:
        raise RecordImportError(f"{name}: empty file (no header line)") from None
    except csv.Error as exc:
        raise RecordImportError(f"{name}:1: {exc}") from exc
    bad_headers = identifier_columns(headers)
    if bad_headers:
        listed = ", ".join(repr(h) for h in bad_headers)
        raise IdentifierColumn(
            f"{name}: column{'s' if len(bad_headers) > 1 else ''} {listed} look{'' if len(bad_headers) > 1 else 's'} "
            "like a direct identifier of a child or family; make the extract without "
            f"{'them' if len(bad_headers) > 1 else 'it'} (nothing was imported)"
        )
    dupes = sorted({h for h in headers if headers.count(h) > 1 and h})
    if dupes:
        raise RecordImportError(f"{name}:1: column {dupes[0]!r} occurs twice")
    cols = resolve_columns(headers, mapping, name)
    ignored = tuple(h for i, h in enumerate(headers) if i not in set(cols.values()) and h)

    problems: list[str] = []
    warnings: list[str] = []
    good: list[tuple[int, str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    rows = 0
    line = reader.line_num + 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            rows += 1
            if len(cells) != len(headers):
                problems.append(f"{name}:{start}: has {len(cells)} fields, the header has {len(headers)}")
                continue
            if mapping.date_format is None:
                for fld in DATE_FIELDS:
                    if fld in cols and month_first(cells[cols[fld]]):
                        # the day-first reading of this file's other dates (03/02 as 3 February) would be wrong
                        # without a word, so the whole file is refused, even with skip_bad
                        raise RecordImportError(
                            f"{name}:{start}: column {headers[cols[fld]]!r}: {cells[cols[fld]].strip()!r} can only be "
                            "month first, so the extract's dates are not day first and the others would be misread; "
                            'give the format in a mapping file (--mapping, "date_format": "%m/%d/%Y %H:%M"); '
                            "nothing imported"
                        )
            ref, values, errs = parse_row(cells, cols, headers, mapping, vocab, period)
            key = re.sub(r"\s+", "", ref).upper()
            if ref and key in seen:
                errs.append(RowError(headers[cols["reference"]], f"the same reference as row {seen[key]}"))
            elif ref:
                seen[key] = start
            notes_col = headers[cols["notes"]] if "notes" in cols else "notes"
            flagged = identifier_warnings(values.get("notes"))
            if flagged and flagged_notes == "refuse":
                errs.extend(RowError(notes_col, w.message("").removeprefix(": ")) for w in flagged)
            elif flagged and not errs:
                what = "; ".join(w.message("").removeprefix(": ") for w in flagged)
                action = "notes not imported" if flagged_notes == "drop" else "check and edit them"
                warnings.append(f"{name}:{start}: column {notes_col!r}: {what} ({action})")
                if flagged_notes == "drop":
                    values["notes"] = None
            if errs:
                problems.append(f"{name}:{start}: " + "; ".join(f"column {e.column!r}: {e.problem}" for e in errs))
            else:
                good.append((start, ref, values))
    except csv.Error as exc:
        # the rows after it cannot be told apart: nothing is imported, even with skip_bad (they would be lost
        # without a word)
        problems.append(f"{name}:{line}: {exc}")
        raise RecordImportError(
            f"{name}: cannot be read past line {line} ({exc}); nothing imported",
            problems=tuple(problems),
        ) from exc
    if problems and not skip_bad:
        raise RecordImportError(
            f"{name}: {len(problems)} bad row{'s' if len(problems) > 1 else ''} of {rows}; nothing imported "
            f"(fix them, or --skip-bad to import the {len(good)} good row{'s' if len(good) != 1 else ''})",
            problems=tuple(problems),
        )

    imported, already = store_rows(store, project, good, name, on_progress)
    return ImportResult(
        path=str(p),
        encoding=encoding,
        rows=rows,
        imported=imported,
        already_stored=already,
        skipped_bad=len(problems),
        problems=tuple(problems),
        warnings=tuple(warnings),
        ignored_columns=ignored,
        seconds=time.perf_counter() - t0,
    )


def store_rows(
    store: Store,
    project: str,
    good: Sequence[tuple[int, str, dict[str, Any]]],
    name: str,
    on_progress: Callable[[int, int], None] | None = None,
    *,
    source: str = "import",
) -> tuple[int, int]:
    """Insert checked rows ``(line, reference, values from check_fields)`` in one transaction, skipping
    references already stored in the project; returns (stored, already stored before).

    Raises:
        RecordImportError: a concurrent import stored one of the references first (nothing is stored).
    """
    chunk = 500
    try:
        with store.session() as s:
            pid = project_by_name(s, project, create=True).id
            key = project_key(s, pid)
            hashed = [(reference_hash(key, ref), values) for _, ref, values in good]
            existing: set[str] = set()
            for i in range(0, len(hashed), chunk):
                part = [h for h, _ in hashed[i : i + chunk]]
                found = s.scalars(
                    select(ReferralRecord.ref_hash).where(
                        ReferralRecord.project_id == pid, ReferralRecord.ref_hash.in_(part)
                    )
                )
                existing.update(h for h in found if h is not None)
            columns = (*FIELDS, "professional")
            fresh = [
                {"project_id": pid, "ref_hash": h, "source": source, **{c: values.get(c) for c in columns}}
                for h, values in hashed
                if h not in existing
            ]
            for i in range(0, len(fresh), chunk):
                s.execute(insert(ReferralRecord), fresh[i : i + chunk])
                if on_progress:
                    on_progress(min(i + chunk, len(fresh)), len(fresh))
    except IntegrityError as exc:
        raise RecordImportError(
            f"{name}: another import stored some of these referrals at the same time; nothing imported, run it again"
        ) from exc
    return len(fresh), len(existing)
