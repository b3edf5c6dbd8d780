"""Referral records on SQLite and PostgreSQL: the fields (and the absence of identifier fields), editing,
links to video annotations, identifier warnings in notes, the migration, small-cell suppression and the
statistics' building blocks against scipy."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest
from scipy import stats
from sqlalchemy import inspect

from annotation.edits.commands import CreateAnnotation, DeleteAnnotation
from annotation.elan.scheme import REFERRAL_SCHEME
from annotation.errors import ConflictError, InvalidRecord, NotFound
from annotation.identifiers.warnings import identifier_warnings
from annotation.records.analysis import (
    compare_distribution,
    compare_proportions,
    crosstab,
    holm,
    newcombe,
    proportion,
    wilson,
)
from annotation.records.models import ReferralRecord
from annotation.records.referrals import (
    add_record,
    delete_record,
    edit_record,
    get_record,
    link_segment,
    list_records,
    load_vocabularies,
    record_segments,
    unlink_segment,
)
from annotation.records.sample import generate_sample
from annotation.records.suppression import suppress
from annotation.services import apply_edit, new_document, revert_edit
from annotation.store.documents import delete_document
from annotation.store.engine import Store, open_store, schema_revision, upgrade_schema

BASE = {"received_at": datetime(2026, 3, 2, 10, 15), "referrer_type": "school", "concern": "neglect"}


# ---- the fields -----------------------------------------------------------------------------------------


def test_no_column_can_hold_a_direct_identifier(store: Store) -> None:
    cols = {c["name"] for c in inspect(store.engine).get_columns(ReferralRecord.__tablename__)}
    banned = ("name", "surname", "birth", "dob", "address", "postcode", "nhs", "phone", "email", "upn", "reference")
    assert not [c for c in cols if any(b in c for b in banned)], cols


def test_add_list_edit_delete(store: Store) -> None:
    saved = add_record(
        store,
        "Study",
        {
            **BASE,
            "response": "Initial Assessment",  # vocabulary spelling is restored
            "initial_assessment": True,
            "feedback": False,
            "decision_minutes": 95,
            "previous_referrals": 2,
            "age_band": "5 to 9",
        },
        reference="CR-1",
    )
    assert saved.warnings == ()
    r = get_record(store, saved.id)
    assert (r.period, r.professional, r.response, r.decision_hours) == ("2026-Q1", True, "initial assessment", 95 / 60)
    edit_record(store, saved.id, {"referrer_type": "member of public", "period": "pilot"})
    r2 = get_record(store, saved.id)
    assert (r2.professional, r2.period, r2.version) == (False, "pilot", 2)
    with pytest.raises(ConflictError):
        edit_record(store, saved.id, {"feedback": True}, expected_version=1)
    assert [x.id for x in list_records(store, "Study", periods=["pilot"])] == [saved.id]
    assert list_records(store, "Study", periods=["2026-Q1"]) == []
    delete_record(store, saved.id)
    with pytest.raises(NotFound):
        get_record(store, saved.id)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({**BASE, "referrer_type": "teacher"}, "referrer_type"),
        ({**BASE, "concern": None}, "concern"),
        ({**BASE, "age_band": "7"}, "age_band"),
        ({**BASE, "decision_minutes": -3}, "decision_minutes"),
        ({**BASE, "feedback": "maybe"}, "feedback"),
        ({**BASE, "child_name": "x"}, "child_name"),
    ],
)
def test_bad_values_are_refused_naming_the_field(store: Store, values: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRecord) as e:
        add_record(store, "Study", values)
    assert e.value.message.startswith(f"{field}:")
    assert list_records(store) == []


def test_the_same_reference_twice_is_refused(store: Store) -> None:
    add_record(store, "Study", BASE, reference="CR 0001")
    with pytest.raises(InvalidRecord, match="already stored"):
        add_record(store, "Study", BASE, reference="cr0001")  # case and spaces do not make a new reference
    add_record(store, "Other study", BASE, reference="CR 0001")  # another project's key


def test_every_scheme_referrer_type_is_classified() -> None:
    vocab = load_vocabularies()
    spec = next(s for s in REFERRAL_SCHEME if s.tier_id == "Referrer type")
    assert [vocab.is_professional(v) is None for v, _ in spec.values] == [False] * len(spec.values)


# ---- links to video -------------------------------------------------------------------------------------


def test_link_segments_survive_undo_and_go_with_the_document(store: Store) -> None:
    doc = new_document(store, "referral", name="duty room")
    create = CreateAnnotation(doc, "Referrer type", 4000, 11000, "school")
    apply_edit(store, create)
    assert create.ann_id
    rid = add_record(store, "Study", BASE).id
    link_segment(store, rid, doc, create.ann_id)
    link_segment(store, rid, doc, create.ann_id)  # twice is harmless
    [seg] = record_segments(store, rid)
    assert (seg.present, seg.tier, seg.start_ms, seg.end_ms, seg.value) == (
        True,
        "Referrer type",
        4000,
        11000,
        "school",
    )
    with pytest.raises(NotFound):
        link_segment(store, rid, doc, "a999")
    with pytest.raises(NotFound):
        link_segment(store, rid + 1, doc, create.ann_id)

    delete = DeleteAnnotation(doc, create.ann_id)
    apply_edit(store, delete)
    assert [s.present for s in record_segments(store, rid)] == [False]
    revert_edit(store, delete)
    assert [s.present for s in record_segments(store, rid)] == [True]

    unlink_segment(store, rid, doc, create.ann_id)
    with pytest.raises(NotFound):
        unlink_segment(store, rid, doc, create.ann_id)
    link_segment(store, rid, doc, create.ann_id)
    with store.session() as s:
        delete_document(s, doc)
    assert get_record(store, rid).segments == ()


# ---- identifier warnings --------------------------------------------------------------------------------

TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("text", "kind", "span"),
    [
        ("Spoke to Mrs Patel about it.", "a person's name", "Mrs Patel"),
        ("Sarah Jones called back.", "a person's name", "Sarah Jones"),
        ("Mum Kelly said the boy is not eating.", "a person's name", "Kelly"),
        ("Jayden's teacher raised it.", "a person's name", "Jayden"),
        ("Lives at 14 Acacia Avenue now.", "a street address", "14 Acacia Avenue"),
        ("Moved to Flat 3b last month.", "a street address", "Flat 3b"),
        ("Postcode LS6 2QT given.", "a UK postcode", "LS6 2QT"),
        ("DOB 03/04/2019, seen in A&E.", "a date of birth", "03/04/2019"),
        ("Child born 4th March 2017.", "a date of birth", "4th March 2017"),
        ("Seen in 2015-06-30 records.", "a date of birth", "2015-06-30"),
        ("Call on 07700 900123 please.", "a phone number", "07700 900123"),
        ("Ring +44 113 496 0000 today.", "a phone number", "+44 113 496 0000"),
        ("Sent to j.smith@example.org", "an email address", "j.smith@example.org"),
        ("NHS no 943 476 5919.", "an NHS number", "943 476 5919"),
        ("Case ref 12345678 closed.", "a case or record number", "12345678"),
    ],
)
def test_identifier_warnings_find(text: str, kind: str, span: str) -> None:
    found = identifier_warnings(text, today=TODAY)
    assert [(w.kind, text[w.start : w.end]) for w in found] == [(kind, span)]
    assert all(span not in w.message() for w in found)  # the warning never repeats the text


@pytest.mark.parametrize(
    "text",
    [
        "Referrer asked for written confirmation.",
        "Police Officer attended. Team Manager agreed an initial assessment.",
        "Strategy Discussion held with the Early Help Hub on Monday.",
        "Threshold discussed with the referrer; Section 47 not met.",
        "Seen on 12/05/2026 by the health visitor.",  # a recent date is a visit, not a birth
        "Third referral in 12 months.",
        "",
    ],
)
def test_identifier_warnings_leave_ordinary_notes_alone(text: str) -> None:
    assert identifier_warnings(text, today=TODAY) == []


def test_the_synthetic_notes_raise_no_warnings() -> None:
    notes = {r.values["notes"] for r in generate_sample(500)} - {None}
    assert notes and all(identifier_warnings(n) == [] for n in notes)


def test_adding_a_record_warns_about_its_notes_but_keeps_them(store: Store) -> None:
    saved = add_record(store, "Study", {**BASE, "notes": "Dad is Liam, phone 07700 900123."})
    assert [w.kind for w in saved.warnings] == ["a person's name", "a phone number"]
    assert get_record(store, saved.id).notes is not None


# ---- the migration --------------------------------------------------------------------------------------


def test_migration_0004_goes_down_and_up(db_url: str) -> None:
    store = open_store(db_url)
    try:
        add_record(store, "Study", BASE)
        upgrade_schema(store.engine)
        from alembic import command

        from annotation.store.engine import alembic_config

        command.downgrade(alembic_config(store.engine), "0003")
        assert schema_revision(store.engine) == "0003"
        assert "referral_record" not in inspect(store.engine).get_table_names()
        upgrade_schema(store.engine)
        assert {"referral_record", "record_segment", "record_key"} <= set(inspect(store.engine).get_table_names())
    finally:
        store.close()


# ---- small cells ----------------------------------------------------------------------------------------


def test_suppression_hides_small_counts_and_what_would_give_them_away() -> None:
    sup = suppress([[10, 3, 20], [7, 8, 9]])
    assert sup.primary == ((False, True, False), (False, False, False))
    # row 0 has one hidden cell: its smallest other count (10) goes too; column 1 then needs another (8)
    assert sup.cells[0] == (True, True, False)
    assert sup.cells[1][1] is True
    for line in [*sup.cells, *zip(*sup.cells, strict=True)]:
        assert sum(line) != 1  # no row or column with exactly one hidden cell
    assert suppress([[0, 12], [0, 30]]).cells == ((False, False), (False, False))  # zeros are shown
    assert suppress([[2, 0]], col_totals=False).row_totals == (True,)


# ---- statistics against scipy ---------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (617, 1440), (50, 50)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = wilson(k, n)
    assert lo == pytest.approx(ci.low, abs=1e-9) and hi == pytest.approx(ci.high, abs=1e-9)


def test_newcombe_interval_contains_the_difference_and_matches_its_definition() -> None:
    a, b = proportion("a", [True] * 56 + [False] * 14), proportion("b", [True] * 48 + [False] * 32)
    d, lo, hi = newcombe(a, b)
    assert d == pytest.approx(0.2)
    assert lo is not None and hi is not None and lo < d < hi
    l1, u1 = wilson(56, 70)
    l2, u2 = wilson(48, 80)
    assert lo == pytest.approx(d - math.sqrt((0.8 - l1) ** 2 + (u2 - 0.6) ** 2))
    assert hi == pytest.approx(d + math.sqrt((u1 - 0.8) ** 2 + (0.6 - l2) ** 2))


def test_small_tables_use_fisher_and_large_ones_chi_square() -> None:
    small = compare_proportions(
        "m", proportion("a", [True] * 2 + [False] * 9), proportion("b", [True] * 8 + [False] * 2)
    )
    assert small.test == "Fisher's exact"  # an expected count of 4.8
    assert small.p_value == pytest.approx(stats.fisher_exact([[2, 9], [8, 2]]).pvalue)
    big = compare_proportions(
        "m", proportion("a", [True] * 60 + [False] * 40), proportion("b", [True] * 45 + [False] * 55)
    )
    assert big.test == "chi-square"
    ref = stats.chi2_contingency([[60, 40], [45, 55]], correction=False)
    assert (big.statistic, big.p_value) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))
    assert big.phi == pytest.approx(math.sqrt(ref.statistic / 200))


def test_sparse_distributions_get_a_monte_carlo_p() -> None:
    rows = [("A", "x")] * 30 + [("A", "y")] * 2 + [("B", "x")] * 25 + [("B", "z")] * 1 + [("B", "y")] * 6
    t = crosstab(rows, lambda r: r[0], lambda r: r[1], ("A", "B"), ("x", "y", "z", "never"), ("period", "v"))
    res = compare_distribution("v", t)
    assert res.table.cols == ("x", "y", "z")  # the empty category is left out
    assert res.test == "chi-square (Monte Carlo p)"
    assert res.p_value is not None and 0 < res.p_value <= 1


def test_holm_matches_its_definition() -> None:
    assert holm([0.01, None, 0.04, 0.03]) == [
        pytest.approx(0.03),
        None,
        pytest.approx(0.06),
        pytest.approx(0.06),
    ]
