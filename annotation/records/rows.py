"""Checking one row of a CSV extract: every mapped cell read into a typed record value, or a problem.

:func:`parse_row` reads the dates (day first or ISO, or a mapping's format), the vocabulary fields (with the
mapping's value aliases), the yes/no fields, the counts and the time to decision, and gives back every
problem of the row at once (:class:`RowError`, one per column) so the import can report the row as one
line. :func:`month_first` spots a date that can only be month first, which refuses the whole file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from annotation.errors import InvalidRecord
from annotation.records.columns import ColumnMapping
from annotation.records.referrals import BOOL_FIELDS, Vocabularies, check_fields

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
#: The fields whose cells are dates.
DATE_FIELDS = ("received_at", "received_date", "decided_at")


def month_first(text: str) -> bool:
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


class RowError(Exception):
    """A problem with one cell of a row: the column as the file names it, and what is wrong."""

    def __init__(self, column: str, problem: str) -> None:
        super().__init__(problem)
        self.column = column
        self.problem = problem


def parse_row(
    cells: Sequence[str],
    cols: Mapping[str, int],
    headers: Sequence[str],
    mapping: ColumnMapping,
    vocab: Vocabularies,
    default_period: str | None,
) -> tuple[str, dict[str, Any], list[RowError]]:
    """(reference, typed values, problems) of one row."""
    problems: list[RowError] = []
    values: dict[str, Any] = {}

    def cell(fld: str) -> str:
        return cells[cols[fld]].strip() if fld in cols else ""

    def fail(fld: str, problem: str) -> None:
        problems.append(RowError(headers[cols[fld]] if fld in cols else fld, problem))

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
                        raise RowError(headers[cols["received_time"]], f"{t!r} is not a time (use 14:05)")
                    d = datetime.combine(d.date(), tt)
                values["received_at"] = d
    except RowError as exc:
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
            problems.append(RowError(headers[cols[fld]] if fld in cols else fld, problem))
    return ref, values, problems
