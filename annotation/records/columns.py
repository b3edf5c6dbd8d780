"""Which column of a CSV extract feeds which record field, and which columns are refused outright.

A :class:`ColumnMapping` comes from ``--map COLUMN=FIELD`` options or a mapping file (JSON or TOML); a
column it does not name is matched by the usual header names (:data:`DEFAULT_HEADERS`, ignoring case,
spaces and punctuation). :func:`identifier_columns` finds the headers that look like a direct identifier of
a child or family, which refuse the whole file before a row is read (:mod:`annotation.records.importer`).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from annotation.errors import RecordImportError
from annotation.records.referrals import FIELDS

#: Fields a column may be mapped to.
IMPORT_FIELDS: tuple[str, ...] = (
    "reference",
    *FIELDS,
    "received_date",
    "received_time",
    "decided_at",
    "hours_to_decision",
)


#: Header names recognised without a mapping (compared after :func:`norm_header`).
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

# Header words that mark a direct identifier of a child or family (after norm_header). A header is refused
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


def norm_header(h: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", h.lower().replace("'", "")).strip()


def identifier_columns(headers: Sequence[str]) -> list[str]:
    """The headers that look like a direct identifier of a child or family."""
    out = []
    for h in headers:
        n = norm_header(h)
        if _NOT_IDENTIFIER_RE.match(n):
            continue
        if _IDENTIFIER_RE.search(n):
            out.append(h)
    return out


def shown_headers(headers: Sequence[str], limit: int = 30) -> str:
    """The header names for a one-line message: a name with a line break, a control character or past 60
    characters is shown quoted and cut short (a file read with the wrong delimiter has one long "name")."""

    def one(h: str) -> str:
        if len(h) <= 60 and h.isprintable():
            return h
        return repr(h[:60]) + ("…" if len(h) > 60 else "")

    shown = ", ".join(one(h) for h in headers[:limit])
    return shown + (f", … ({len(headers)} in all)" if len(headers) > limit else "")


def resolve_columns(headers: Sequence[str], mapping: ColumnMapping, name: str) -> dict[str, int]:
    """field -> column index: the mapping's columns first, then the usual header names.

    Raises:
        RecordImportError: the mapping names an unknown field or a missing column, two columns feed one
            field, or a needed field (reference, received at, referrer type, concern) has no column.
    """
    index = {h: i for i, h in enumerate(headers)}
    out: dict[str, int] = {}
    for col, fld in mapping.columns.items():
        if fld not in IMPORT_FIELDS:
            raise RecordImportError(f"mapping {col}={fld}: no such field (fields: {', '.join(IMPORT_FIELDS)})")
        if col not in index:
            raise RecordImportError(f"{name}: no column {col!r} (columns: {shown_headers(headers)})")
        if fld in out:
            raise RecordImportError(f"mapping: two columns for {fld!r}")
        out[fld] = index[col]
    mapped_cols = set(out.values())
    normed = [norm_header(h) for h in headers]
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
                f"{name}: no column for {fld!r}{hint}; map one with --map 'COLUMN={fld}' "
                f"(columns: {shown_headers(headers)})"
            )
    return out
