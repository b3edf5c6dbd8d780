"""Matching watch-list terms and identifier patterns in annotation text (no store): case, accents,
possessives, plurals, whole words, case numbers by exact token, the input format of a watch list."""

from __future__ import annotations

import time
from datetime import date

import pytest

from annotation.errors import InvalidEdit
from annotation.identifiers.match import (
    CASE_NUMBER,
    NAME,
    OTHER,
    PLACE,
    Term,
    WatchMatcher,
    fingerprint,
    fold,
    pattern_matches,
)
from annotation.identifiers.watch_list import WatchEntry, parse_watch_lines, watch_kind

TODAY = date(2026, 11, 30)


def hits(terms: list[Term], text: str) -> list[tuple[int, str]]:
    return [(f.term_id, text[f.start : f.end]) for f in WatchMatcher(terms).find(text)]


def name(*spellings: str, tid: int = 1, kind: str = NAME) -> Term:
    return Term(tid, kind, spellings)


@pytest.mark.parametrize(
    "text",
    ["kayden said", "KAYDEN said", "Kayden's mum", "Kayden’s mum", "(Kayden)", "is it Kayden?", "Kayden\n"],
)
def test_a_name_in_any_case_with_a_possessive_or_punctuation(text: str) -> None:
    assert [h[1].lower() for h in hits([name("Kayden")], text)] == ["kayden"]


def test_accents_are_folded_both_ways() -> None:
    assert hits([name("Zoë")], "ZOE and zoe and Zoë and ZOË") == [(1, "ZOE"), (1, "zoe"), (1, "Zoë"), (1, "ZOË")]
    assert hits([name("Zoe")], "Zoë's") == [(1, "Zoë")]
    assert hits([name("Łukasz Wójcik")], "lukasz wojcik called") == [(1, "lukasz wojcik")]
    assert hits([name("Søren")], "soren") == [(1, "soren")]
    # positions are the original text's even where folding changes the length before the match
    text = "Straße, ﬁle: José"
    assert hits([name("Jose")], text) == [(1, "José")]
    folded, index = fold("Straße")
    assert folded == "strasse" and index is not None and len(index) == 7


def test_whole_words_only() -> None:
    terms = [name("Sam"), name("Ann", tid=2)]
    assert hits(terms, "Samuel from Samsung met Annabel in the annex") == []
    assert hits(terms, "Sam and Ann") == [(1, "Sam"), (2, "Ann")]
    assert hits([name("Lee")], "Lee-Ann") == [(1, "Lee")]  # a part of a double name is a word of its own


def test_possessives_and_plurals_of_names() -> None:
    assert hits([name("James")], "James' bike and James's coat") == [(1, "James"), (1, "James")]
    assert hits([name("Smith")], "the Smiths, the Smiths' house") == [(1, "Smiths"), (1, "Smiths")]
    assert hits([Term(1, PLACE, ("Oak",))], "Oaks and Oak's") == [(1, "Oak")]  # places have no plural


def test_several_words_match_across_spaces_hyphens_and_lines() -> None:
    term = [name("Kayden Smith-Jones")]
    for text in ("kayden smith jones", "Kayden Smith-Jones", "KAYDEN\nSMITH - JONES's"):
        (hit,) = hits(term, text)
        assert hit[1].lower().replace("\n", " ").split()[0] == "kayden"
    assert hits(term, "Kayden Smith") == []  # every word of the term


def test_variants_are_the_same_term() -> None:
    terms = [name("Kayden", "Kaydan", "Caden", tid=7)]
    assert hits(terms, "Kaydan or caden or KAYDEN") == [(7, "Kaydan"), (7, "caden"), (7, "KAYDEN")]


def test_case_numbers_by_exact_token() -> None:
    cn = [Term(3, CASE_NUMBER, ("CN-2024-00123",))]
    assert hits(cn, "ref CN-2024-00123.") == [(3, "CN-2024-00123")]
    assert hits(cn, "ref cn-2024-00123, ok") == [(3, "cn-2024-00123")]
    assert hits(cn, "(CN-2024-00123)'s file") == [(3, "CN-2024-00123")]
    assert hits(cn, "CN-2024-001234 XCN-2024-00123 CN-2024-00123-B CN-2024-00123/7") == []
    assert hits(cn, "CN 2024 00123") == []  # spoken differently: give it as a variant
    spaced = [Term(4, CASE_NUMBER, ("AB 123456",))]
    assert hits(spaced, "case ab 123456 closed") == [(4, "ab 123456")]
    assert hits(spaced, "ab 1234567") == []
    digits = [Term(5, CASE_NUMBER, ("123456",))]
    assert hits(digits, "number 123456; not 1234567 nor 123456-2") == [(5, "123456")]


def test_other_and_place_terms_match_as_words() -> None:
    school = [Term(1, OTHER, ("St Mary's",))]
    assert hits(school, "at St Mary's school") == [(1, "St Mary's")]
    assert hits(school, "at st marys school") == [(1, "st marys")]  # written without the apostrophe
    assert hits([name("O'Brien")], "OBrien, O’Brien, o brien") == [(1, "OBrien"), (1, "O’Brien"), (1, "o brien")]
    assert hits([Term(2, PLACE, ("Acacia Road",))], "lives on acacia road.") == [(2, "acacia road")]


def test_nothing_to_find() -> None:
    assert WatchMatcher([]).find("Kayden") == []
    assert WatchMatcher([name("Kayden")]).find("") == []
    assert not WatchMatcher([name("--")])  # no letters: nothing to look for


def test_five_hundred_terms_cost_about_what_five_do() -> None:
    many = [name(f"Name{i:03d}x Surname{i:03d}y", tid=i) for i in range(500)]
    few = many[:5]
    text = "the duty worker asks the caller to spell the child's name and the school " * 20
    t0 = time.perf_counter()
    for _ in range(200):
        WatchMatcher(few).find(text)
    t_few = time.perf_counter() - t0
    m = WatchMatcher(many)
    t0 = time.perf_counter()
    for _ in range(200):
        m.find(text)
    t_many = time.perf_counter() - t0
    assert t_many < 3 * t_few + 0.05
    assert hits(many, "so Name250x surname250Y called") == [(250, "Name250x surname250Y")]


# ---- patterns --------------------------------------------------------------------------------------------


def test_patterns_find_dates_of_birth_phones_postcodes_nhs_numbers_and_emails() -> None:
    text = (
        "born 12/03/2015, ring 07700 900123 or +44 20 7946 0958, SW1A 1AA, mum@example.org, "
        "NHS 943 476 5919, flat 4, 14 Acacia Road"
    )
    found = pattern_matches(text, today=TODAY)
    assert [(p.kind, text[p.start : p.end]) for p in found] == [
        ("date of birth", "12/03/2015"),
        ("phone number", "07700 900123"),
        ("phone number", "+44 20 7946 0958"),
        ("postcode", "SW1A 1AA"),
        ("email address", "mum@example.org"),
        ("NHS number", "943 476 5919"),
        ("address", "flat 4"),
        ("address", "14 Acacia Road"),
    ]
    assert found[1].key == "07700900123" and found[3].key == "sw1a1aa"


def test_a_ten_digit_number_failing_the_nhs_check_is_a_case_number() -> None:
    (p,) = pattern_matches("ref 1234567890", today=TODAY)
    assert p.kind == "case or record number"


def test_names_are_guessed_only_when_asked() -> None:
    text = "Mrs Kowalczyk rang about Kayden's school"
    assert pattern_matches(text, today=TODAY) == []
    guessed = pattern_matches(text, guess_names=True, today=TODAY)
    assert {p.kind for p in guessed} == {"name (guessed)"} and len(guessed) == 2


def test_fingerprints_hold_no_text_and_differ_by_place() -> None:
    a = fingerprint(1, "a5", ("pattern", "phone number", "07700900123"))
    assert len(a) == 64 and "07700" not in a
    assert a == fingerprint(1, "a5", ("pattern", "phone number", "07700900123"))
    assert a != fingerprint(1, "a6", ("pattern", "phone number", "07700900123"))
    assert a != fingerprint(2, "a5", ("pattern", "phone number", "07700900123"))


# ---- the watch list's input format -----------------------------------------------------------------------


def test_watch_lines_with_comments_kinds_labels_and_variants() -> None:
    lines = [
        "# the Smith family",
        "",
        "Kayden Smith | Kaydan Smith | Kayden Smyth",
        "name (child name): Kayden",
        "case number: CN-2024-00123",
        "place: Acacia Road",
        "Dr: Who",  # not a kind: the line is a term
        "\ufeffMelody",
    ]
    assert parse_watch_lines(lines) == [
        WatchEntry(NAME, "Kayden Smith", ("Kaydan Smith", "Kayden Smyth"), None, 3),
        WatchEntry(NAME, "Kayden", (), "child name", 4),
        WatchEntry(CASE_NUMBER, "CN-2024-00123", (), None, 5),
        WatchEntry(PLACE, "Acacia Road", (), None, 6),
        WatchEntry(NAME, "Dr: Who", (), None, 7),
        WatchEntry(NAME, "Melody", (), None, 8),
    ]
    assert parse_watch_lines(["CN-1"], kind="case-number")[0].kind == CASE_NUMBER


def test_a_bad_kind_names_the_line_not_the_term() -> None:
    with pytest.raises(InvalidEdit) as bad:
        parse_watch_lines(["ok", "surname (child name): Kowalczyk"])
    assert str(bad.value).startswith("line 2: what comes before ':' is not a kind")
    assert "Kowalczyk" not in str(bad.value)
    with pytest.raises(InvalidEdit, match=r"^kind 'person': use one of name, place, case number, other$"):
        watch_kind("person")
