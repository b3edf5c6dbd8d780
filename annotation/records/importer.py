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
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from annotation.errors import IdentifierColumn, InvalidRecord, RecordImportError
from annotation.identifiers.warnings import identifier_warnings
from annotation.records.models import ReferralRecord
from annotation.records.referrals import (
    BOOL_FIELDS,
    FIELDS,
    Vocabularies,
    _project_id,
    check_fields,
    load_vocabularies,
    project_key,
    reference_hash,
)
from annotation.store.engine import Store

#: Fields a column may be mapped to.
IMPORT_FIELDS: tuple[str, ...] = (
    "reference",
    *FIELDS,
    "received_date",
    "received_time",
    "decided_at",
    "hours_to_decision",
)

#: Header names recognised without a mapping (compared after :func:`_norm_header`).
DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "reference": ("reference", "referral reference", "referral ref", "referral id", "referral number", "ref"),
    "received_at": (
        "received at",
        "received",
        "referral date time",
        "referral datetime",
        "contact date time",
        "date time received",
    ),
    "received_date": ("referral date", "date received", "contact date", "date"),
    "received_time": ("referral time", "time received", "contact time", "time"),
    "period": ("period", "cohort", "sample period"),
    "referrer_type": ("referrer type", "referrer", "referral source", "source of referral", "source"),
    "concern": ("concern", "primary concern", "concern as stated", "reason for referral", "presenting concern"),
    "age_band": ("age band", "age group", "child age band", "age"),
    "previous_referrals": ("previous referrals", "prior referrals", "number of previous referrals"),
    "response": ("response", "decision", "referral decision", "next step"),
    "outcome": ("outcome", "referral outcome", "final outcome"),
    "decided_at": ("decided at", "decision date time", "decision datetime", "date of decision"),
    "decision_minutes": ("decision minutes", "minutes to decision"),
    "hours_to_decision": ("hours to decision", "time to decision hours", "time to decision"),
    "initial_assessment": ("initial assessment", "initial assessment followed", "ia"),
    "feedback": ("feedback", "feedback to referrer", "referrer feedback", "referrer informed"),
    "manager_consulted": ("manager consulted", "manager or senior consulted", "senior consulted"),
    "notes": ("notes", "worker notes", "comments", "free text"),
}

# Header words that mark a direct identifier of a child or family (after _norm_header). A header is refused
# when it contains one of these as whole words.
_IDENTIFIER_HEADERS = (
    r"(first|fore|given|middle|last|sur|family|full|child s|childs|maiden|pre?ferred) ?names?",
    r"surnames?",
    r"names?",
    r"initials",
    r"alias",
    r"d ?o ?b",
    r"date of birth",
    r"birth ?dates?",
    r"born",
    r"birth",
    r"birthdays?",
    r"address(es)?",
    r"street",
    r"house (number|name)",
    r"post ?codes?",
    r"postal ?codes?",
    r"zip",
    r"nhs",
    r"chi (number|no)",
    r"upn",
    r"unique pupil number",
    r"pupil number",
    r"ni (number|no)",
    r"national insurance",
    r"nino",
    r"(person|child|client|family|subject|case|mosaic|lcs|eclipse|swift|carefirst) ?(id|number|no|ref|reference)",
    r"case",
    r"phone",
    r"telephone",
    r"tel",
    r"mobile",
    r"e ?mail",
    r"contact details",
)
_IDENTIFIER_RE = re.compile(r"\b(?:" + "|".join(_IDENTIFIER_HEADERS) + r")\b")
# Headers that contain an identifier word but are about staff organisation, not the family.
_NOT_IDENTIFIER_RE = re.compile(r"^(team|service|unit|agency type|referrer type) names?$")

_YES = frozenset({"yes", "y", "true", "t", "1", "x"})
_NO = frozenset({"no", "n", "false", "f", "0"})
_UNKNOWN = frozenset({"", "unknown", "not known", "n/k", "nk", "not recorded", "-", "n/a", "na"})
_DATE_FORMATS = (
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%y %H:%M",
    "%d/%m/%y",
)
_TIME_FORMATS = ("%H:%M:%S", "%H:%M")
# A numeric date whose second number cannot be a month but whose first can: written month first (US style).
_MONTH_FIRST_RE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](?:\d{4}|\d{2})(?!\d)")
_DATE_FIELDS = ("received_at", "received_date", "decided_at")


@dataclass(frozen=True)
class ColumnMapping:
    """Which column feeds which field, value aliases per field, and an optional ``strptime`` date format."""

    columns: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    date_format: str | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> ColumnMapping:
        """Read a JSON (``.json``) or TOML (``.toml``) mapping file.

        Raises:
            RecordImportError: unreadable, not JSON/TOML, or not shaped like a mapping.
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8-sig")
            data = tomllib.loads(text) if p.suffix.lower() == ".toml" else json.loads(text)
        except (OSError, ValueError) as exc:
            raise RecordImportError(f"{p}: cannot read the column mapping ({exc})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("columns", {}), dict):
            raise RecordImportError(f'{p}: a mapping is an object with "columns": {{"CSV column": "field"}}')
        values = data.get("values", {})
        if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
            raise RecordImportError(f'{p}: "values" maps a field to {{"extract value": "vocabulary value"}}')
        fmt = data.get("date_format")
        return cls(
            {str(k): str(v) for k, v in data.get("columns", {}).items()},
            {str(f): {str(k): str(v) for k, v in m.items()} for f, m in values.items()},
            str(fmt) if fmt else None,
        )

    @classmethod
    def from_options(cls, options: Iterable[str]) -> ColumnMapping:
        """``COLUMN=FIELD`` options (the column name may contain ``=``; the last one splits).

        Raises:
            RecordImportError: an option without ``=``.
        """
        cols: dict[str, str] = {}
        for opt in options:
            col, sep, fld = opt.rpartition("=")
            if not sep or not col.strip() or not fld.strip():
                raise RecordImportError(f"--map {opt!r}: use COLUMN=FIELD, e.g. 'Referral ID=reference'")
            cols[col.strip()] = fld.strip()
        return cls(cols)

    def merged(self, other: ColumnMapping) -> ColumnMapping:
        """This mapping with ``other``'s entries taking precedence."""
        values = {f: dict(m) for f, m in self.values.items()}
        for f, m in other.values.items():
            values.setdefault(f, {}).update(m)
        return ColumnMapping({**self.columns, **other.columns}, values, other.date_format or self.date_format)


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


def _norm_header(h: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", h.lower().replace("'", "")).strip()


def identifier_columns(headers: Sequence[str]) -> list[str]:
    """The headers that look like a direct identifier of a child or family."""
    out = []
    for h in headers:
        n = _norm_header(h)
        if _NOT_IDENTIFIER_RE.match(n):
            continue
        if _IDENTIFIER_RE.search(n):
            out.append(h)
    return out


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


def _shown(headers: Sequence[str], limit: int = 30) -> str:
    """The header names for a one-line message: a name with a line break, a control character or past 60
    characters is shown quoted and cut short (a file read with the wrong delimiter has one long "name")."""

    def one(h: str) -> str:
        if len(h) <= 60 and h.isprintable():
            return h
        return repr(h[:60]) + ("…" if len(h) > 60 else "")

    shown = ", ".join(one(h) for h in headers[:limit])
    return shown + (f", … ({len(headers)} in all)" if len(headers) > limit else "")


def _resolve_columns(headers: Sequence[str], mapping: ColumnMapping, name: str) -> dict[str, int]:
    """field -> column index."""
    index = {h: i for i, h in enumerate(headers)}
    out: dict[str, int] = {}
    for col, fld in mapping.columns.items():
        if fld not in IMPORT_FIELDS:
            raise RecordImportError(f"mapping {col}={fld}: no such field (fields: {', '.join(IMPORT_FIELDS)})")
        if col not in index:
            raise RecordImportError(f"{name}: no column {col!r} (columns: {_shown(headers)})")
        if fld in out:
            raise RecordImportError(f"mapping: two columns for {fld!r}")
        out[fld] = index[col]
    mapped_cols = set(out.values())
    normed = [_norm_header(h) for h in headers]
    for fld, names in DEFAULT_HEADERS.items():
        if fld in out:
            continue
        for n in names:
            hits = [i for i, h in enumerate(normed) if h == n and i not in mapped_cols]
            if hits:
                out[fld] = hits[0]
                mapped_cols.add(hits[0])
                break
    if "received_at" in out:
        out.pop("received_date", None)
        out.pop("received_time", None)
    if "decided_at" in out:
        out.pop("hours_to_decision", None)
        out.pop("decision_minutes", None)
    elif "hours_to_decision" in out:
        out.pop("decision_minutes", None)
    needed = ["reference", "referrer_type", "concern"]
    if "received_at" not in out and "received_date" not in out:
        needed.insert(1, "received_at")
    for fld in needed:
        if fld not in out:
            hint = " (it is what keeps a re-import from storing a referral twice)" if fld == "reference" else ""
            raise RecordImportError(
                f"{name}: no column for {fld!r}{hint}; map one with --map 'COLUMN={fld}' (columns: {_shown(headers)})"
            )
    return out


def _month_first(text: str) -> bool:
    """True for a date such as ``03/15/2026``: it reads only month first, so the extract is not day first."""
    m = _MONTH_FIRST_RE.match(text.strip())
    return m is not None and 1 <= int(m.group(1)) <= 12 and 12 < int(m.group(2)) <= 31


def _parse_datetime(text: str, fmt: str | None) -> datetime:
    t = text.strip()
    if fmt:
        return datetime.strptime(t, fmt)
    try:
        return datetime.fromisoformat(t)
    except ValueError:
        pass
    for f in _DATE_FORMATS:
        try:
            return datetime.strptime(t, f)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (use 31/01/2026 14:05 or 2026-01-31T14:05)")


class _RowError(Exception):
    def __init__(self, column: str, problem: str) -> None:
        super().__init__(problem)
        self.column = column
        self.problem = problem


def _parse_row(
    cells: Sequence[str],
    cols: Mapping[str, int],
    headers: Sequence[str],
    mapping: ColumnMapping,
    vocab: Vocabularies,
    default_period: str | None,
) -> tuple[str, dict[str, Any], list[_RowError]]:
    """(reference, typed values, problems) of one row."""
    problems: list[_RowError] = []
    values: dict[str, Any] = {}

    def cell(fld: str) -> str:
        return cells[cols[fld]].strip() if fld in cols else ""

    def fail(fld: str, problem: str) -> None:
        problems.append(_RowError(headers[cols[fld]] if fld in cols else fld, problem))

    ref = cell("reference")
    if not ref:
        fail("reference", "empty (every referral needs its reference)")
    try:
        if "received_at" in cols:
            if not cell("received_at"):
                raise ValueError("empty")
            values["received_at"] = _parse_datetime(cell("received_at"), mapping.date_format)
        else:
            d = _parse_datetime(cell("received_date"), mapping.date_format) if cell("received_date") else None
            if d is None:
                fail("received_date", "empty")
            else:
                t = cell("received_time")
                if t:
                    for f in _TIME_FORMATS:
                        try:
                            tt = datetime.strptime(t, f).time()
                            break
                        except ValueError:
                            continue
                    else:
                        raise _RowError(headers[cols["received_time"]], f"{t!r} is not a time (use 14:05)")
                    d = datetime.combine(d.date(), tt)
                values["received_at"] = d
    except _RowError as exc:
        problems.append(exc)
    except ValueError as exc:
        fail("received_at" if "received_at" in cols else "received_date", str(exc))

    for fld in ("referrer_type", "concern", "age_band", "response", "outcome"):
        raw = cell(fld)
        if fld not in cols or raw.lower() in _UNKNOWN:
            if fld in ("referrer_type", "concern"):
                fail(fld, "empty (required)")
            continue
        alias = {k.strip().lower(): v for k, v in mapping.values.get(fld, {}).items()}.get(raw.lower())
        value = vocab.normalise(fld, alias or raw)
        if value is None:
            fail(fld, f"{raw!r} is not a {fld.replace('_', ' ')} (one of: {', '.join(vocab.values(fld))})")
        else:
            values[fld] = value
    for fld in BOOL_FIELDS:
        raw = cell(fld).lower()
        if fld not in cols or raw in _UNKNOWN:
            continue
        if raw in _YES:
            values[fld] = True
        elif raw in _NO:
            values[fld] = False
        else:
            fail(fld, f"{cell(fld)!r} is not yes or no")
    if "previous_referrals" in cols and cell("previous_referrals").lower() not in _UNKNOWN:
        raw = cell("previous_referrals")
        if raw.isascii() and raw.isdigit() and int(raw) <= 999:  # "²".isdigit() too, which int() refuses
            values["previous_referrals"] = int(raw)
        else:
            fail("previous_referrals", f"{raw!r} is not a count (0, 1, 2 ...)")
    if "decided_at" in cols and cell("decided_at"):
        try:
            decided = _parse_datetime(cell("decided_at"), mapping.date_format)
            received = values.get("received_at")
            if received is not None:
                if (decided.tzinfo is None) != (received.tzinfo is None):  # one with an offset: both as written
                    decided, received = decided.replace(tzinfo=None), received.replace(tzinfo=None)
                minutes = round((decided - received).total_seconds() / 60)
                if minutes < 0:
                    fail("decided_at", "before the referral was received")
                else:
                    values["decision_minutes"] = minutes
        except ValueError as exc:
            fail("decided_at", str(exc))
    for fld, scale in (("hours_to_decision", 60.0), ("decision_minutes", 1.0)):
        raw = cell(fld)
        if fld in cols and raw.lower() not in _UNKNOWN:
            try:
                number = float(raw.replace(",", "."))
                if not (number >= 0 and math.isfinite(number)):
                    raise ValueError
                values["decision_minutes"] = round(number * scale)
            except ValueError:
                fail(fld, f"{raw!r} is not a number of {'hours' if scale == 60 else 'minutes'}")
    period = cell("period") or default_period
    if period:
        values["period"] = period
    if "notes" in cols and cell("notes"):
        values["notes"] = cell("notes")
    if not problems:
        try:
            values = check_fields(values, vocab)
        except InvalidRecord as exc:
            fld, _, problem = exc.message.partition(": ")
            problems.append(_RowError(headers[cols[fld]] if fld in cols else fld, problem))
    return ref, values, problems


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
    cols = _resolve_columns(headers, mapping, name)
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
                for fld in _DATE_FIELDS:
                    if fld in cols and _month_first(cells[cols[fld]]):
                        # the day-first reading of this file's other dates (03/02 as 3 February) would be wrong
                        # without a word, so the whole file is refused, even with skip_bad
                        raise RecordImportError(
                            f"{name}:{start}: column {headers[cols[fld]]!r}: {cells[cols[fld]].strip()!r} can only be "
                            "month first, so the extract's dates are not day first and the others would be misread; "
                            'give the format in a mapping file (--mapping, "date_format": "%m/%d/%Y %H:%M"); '
                            "nothing imported"
                        )
            ref, values, errs = _parse_row(cells, cols, headers, mapping, vocab, period)
            key = re.sub(r"\s+", "", ref).upper()
            if ref and key in seen:
                errs.append(_RowError(headers[cols["reference"]], f"the same reference as row {seen[key]}"))
            elif ref:
                seen[key] = start
            notes_col = headers[cols["notes"]] if "notes" in cols else "notes"
            flagged = identifier_warnings(values.get("notes"))
            if flagged and flagged_notes == "refuse":
                errs.extend(_RowError(notes_col, w.message("").removeprefix(": ")) for w in flagged)
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
            pid = _project_id(s, project, create=True)
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
