"""Finding a project's watch-list terms and identifier patterns in annotation text (no store, no I/O).

A watch-list term (a child's or family member's name, a place, a case number) matches text when:

- **names, places and other terms**: its words occur as whole words, in any case and with or without
  accents (``Zoë`` matches ``ZOE``, ``Łukasz`` matches ``lukasz``); between its words any run of spaces
  or punctuation (``Smith-Jones`` matches ``Smith Jones``). Possessives come free: ``Smith's``,
  ``Smith’s`` and ``James'`` are the word followed by an apostrophe. A name also matches its plural
  (``the Smiths``). A term with an apostrophe also matches without it (``St Mary's``: ``St Marys``;
  ``O'Brien``: ``OBrien``). Whole words: ``Sam`` does not match ``Samuel`` or ``Samsung``.
- **case numbers**: by exact token, a token being letters and digits joined by ``-``, ``/``, ``.`` or ``_``
  (``CN-2024/0012``), compared without case; ``CN-12`` does not match ``CN-123`` or ``XCN-12``. A case
  number with spaces in it matches the same tokens separated by spaces.

A term's variants (other spellings) match the same way and count as the term.

Patterns come from :mod:`annotation.identifiers.warnings` (dates of birth, phone numbers, postcodes, NHS numbers,
email addresses, street addresses, long case or record numbers; with ``guess_names`` its name heuristics
too).

Nothing here logs or raises with the text: results are term ids, kinds and character positions, so a
caller can say *where* something was found without copying *what*.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from annotation.identifiers import warnings as idf

NAME = "name"
PLACE = "place"
CASE_NUMBER = "case number"
OTHER = "other"
WATCH_KINDS = (NAME, PLACE, CASE_NUMBER, OTHER)

# identifiers.py's kinds -> the short kind a proposal shows
PATTERN_KINDS = {
    idf.BIRTH_DATE: "date of birth",
    idf.PHONE: "phone number",
    idf.POSTCODE: "postcode",
    idf.NHS_NUMBER: "NHS number",
    idf.EMAIL: "email address",
    idf.ADDRESS: "address",
    idf.LONG_NUMBER: "case or record number",
    idf.NAME: "name (guessed)",
}

# the value a confirmed proposal gets on the "Sensitive identifier" tier (the referral scheme's vocabulary):
# what kind of identifier it was, never the identifier. "family name" is a family member's name, which a
# child's name also is: the default that is never wrong (a watch term can say "child name" instead).
DEFAULT_VALUES = {
    NAME: "family name",
    PLACE: "address",
    CASE_NUMBER: "case number",
    OTHER: "other identifier",
    "date of birth": "date of birth",
    "phone number": "other identifier",
    "postcode": "address",
    "NHS number": "case number",
    "email address": "other identifier",
    "address": "address",
    "case or record number": "case number",
    "name (guessed)": "family name",
}

_WORD = re.compile(r"[^\W_]+")
_CASE_TOKEN = re.compile(r"[^\W_]+(?:[-/._][^\W_]+)*")
_APOSTROPHE = re.compile(r"['’ʼ`´]")
# letters NFKD does not take apart
_LETTERS = {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i", "ŀ": "l"}


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    low = ch.casefold()
    out = []
    for c in unicodedata.normalize("NFKD", low):
        if unicodedata.combining(c):
            continue
        out.append(_LETTERS.get(c, c))
    return "".join(out)


def fold(text: str) -> tuple[str, list[int] | None]:
    """``text`` in lower case without accents, and for each of its characters the index of the character of
    ``text`` it came from (None when they are the same: ASCII text folds character for character)."""
    if text.isascii():
        return text.lower(), None
    parts: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        f = _fold_char(ch)
        parts.append(f)
        index.extend([i] * len(f))
    return "".join(parts), index


def fold_key(text: str) -> str:
    """A spelling's identity for comparing terms: folded, its words joined by single spaces."""
    return " ".join(_WORD.findall(fold(text)[0]))


def spelling_tokens(kind: str, spelling: str) -> tuple[str, ...]:
    """The tokens a spelling of a ``kind`` term is matched by (empty: nothing in it can match)."""
    folded = fold(spelling)[0]
    pattern = _CASE_TOKEN if kind == CASE_NUMBER else _WORD
    return tuple(pattern.findall(folded))


@dataclass(frozen=True)
class Term:
    """A watch-list term as the matcher needs it: its id, kind and every spelling (the term and variants)."""

    id: int
    kind: str
    spellings: tuple[str, ...]


@dataclass(frozen=True)
class Found:
    """Term ``term_id`` occurs at characters ``start:end`` of the text."""

    term_id: int
    start: int
    end: int


@dataclass(frozen=True)
class PatternFound:
    """Characters ``start:end`` look like ``kind`` (a key of :data:`DEFAULT_VALUES`); ``key`` identifies the
    match for remembering decisions (its digits or letters, normalised) and is never shown."""

    kind: str
    start: int
    end: int
    key: str


class _Index:
    """Token sequences by their first token."""

    def __init__(self) -> None:
        self.first: dict[str, list[tuple[tuple[str, ...], int]]] = {}

    def add(self, tokens: tuple[str, ...], term_id: int) -> None:
        entries = self.first.setdefault(tokens[0], [])
        if (tokens, term_id) not in entries:
            entries.append((tokens, term_id))

    def find(self, tokens: list[tuple[str, int, int]]) -> Iterable[tuple[int, int, int]]:
        """(term id, index of the first token, index of the last) for every occurrence."""
        words = [t[0] for t in tokens]
        for i, w in enumerate(words):
            for seq, term_id in self.first.get(w, ()):
                n = len(seq)
                if n == 1 or tuple(words[i : i + n]) == seq:
                    yield term_id, i, i + n - 1


class WatchMatcher:
    """Finds the terms of a watch list in texts; build once per scan (a dictionary lookup per word, so a
    500-term list costs about what a 5-term one does)."""

    def __init__(self, terms: Sequence[Term]) -> None:
        self._words = _Index()
        self._cases = _Index()
        for t in terms:
            for spelling in t.spellings:
                # "St Mary's" is often written "St Marys", "O'Brien" "OBrien": the apostrophe may go
                for form in dict.fromkeys((spelling, _APOSTROPHE.sub("", spelling))):
                    self._add(t, form)

    def _add(self, t: Term, spelling: str) -> None:
        tokens = spelling_tokens(t.kind, spelling)
        if not tokens:
            return
        if t.kind == CASE_NUMBER:
            self._cases.add(tokens, t.id)
            return
        self._words.add(tokens, t.id)
        if t.kind == NAME and not tokens[-1].isdigit():
            self._words.add((*tokens[:-1], tokens[-1] + "s"), t.id)  # "the Smiths"

    def __bool__(self) -> bool:
        return bool(self._words.first or self._cases.first)

    def find(self, text: str) -> list[Found]:
        """Every occurrence of a term in ``text``, in order, as character positions of ``text``."""
        if not text or not self:
            return []
        folded, index = fold(text)
        found: set[Found] = set()
        for idx, pattern in ((self._words, _WORD), (self._cases, _CASE_TOKEN)):
            if not idx.first:
                continue
            tokens = [(m.group(), m.start(), m.end()) for m in pattern.finditer(folded)]
            for term_id, i, j in idx.find(tokens):
                start, end = tokens[i][1], tokens[j][2]
                if index is not None:
                    start, end = index[start], index[end - 1] + 1
                found.add(Found(term_id, start, end))
        return sorted(found, key=lambda f: (f.start, f.end, f.term_id))


def _pattern_key(kind: str, matched: str) -> str:
    if kind in (idf.PHONE, idf.NHS_NUMBER, idf.LONG_NUMBER):
        return re.sub(r"\D", "", matched)
    return "".join(_WORD.findall(fold(matched)[0]))


def pattern_matches(text: str, *, guess_names: bool = False, today: date | None = None) -> list[PatternFound]:
    """Spans of ``text`` that look like a date of birth, phone number, postcode, NHS number, email address,
    street address or case number (with ``guess_names``: a person's name, by heuristics that also flag
    many ordinary capitalised words)."""
    out = []
    for w in idf.identifier_warnings(text, today=today):
        if w.kind == idf.NAME and not guess_names:
            continue
        kind = PATTERN_KINDS[w.kind]
        out.append(PatternFound(kind, w.start, w.end, _pattern_key(w.kind, text[w.start : w.end])))
    return out


def fingerprint(doc_id: int, ann_id: str, what: Sequence[object]) -> str:
    """A match's identity within a document: the annotation it is in and what matched (a watch term's id,
    or a pattern's kind and normalised match). Salted by document and annotation, so equal identifiers in
    different places give unrelated fingerprints; not a secret from whoever holds the store, who can read
    the annotation itself."""
    data = json.dumps([1, doc_id, ann_id, list(what)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
