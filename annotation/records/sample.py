"""A synthetic, seeded sample of referral records and coded duty-room recordings, for the demo and tests.

The referrals follow the broad shape of English children-in-need statistics (police, schools and health
make most referrals; domestic abuse and neglect are the commonest concerns; about a quarter of referrals
lead to an assessment) and two periods differ on purpose, as after a change of practice: in the second,
professional referrers get feedback and an initial assessment more often and decisions come sooner. The
numbers are invented; nothing here describes a real authority. Notes are a few stock phrases that name
nobody.

``generate_sample`` returns plain records; ``write_extract_csv`` writes them the way an authority's system
exports them (its own headers, ``Yes``/``No``, day-first dates), so the demo and tests go through the real
import; ``coded_document`` makes an ELAN document of back-to-back referral calls coded with the referral
scheme. The same seed gives the same sample on every machine (Python's ``random``, whose streams are
stable across versions).
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from annotation.elan import Annotation, EafDocument, TimeSlot, load_scheme, participant_tier
from annotation.records.referrals import Vocabularies, check_fields, load_vocabularies
from annotation.services import add_participant_tiers
from annotation.store import Store

PERIODS: tuple[tuple[str, date], ...] = (("2026-Q1", date(2026, 1, 1)), ("2026-Q2", date(2026, 4, 1)))

_REFERRERS = {
    "police": 28,
    "school": 20,
    "health visitor": 5,
    "GP": 4,
    "hospital": 6,
    "probation": 3,
    "housing": 3,
    "voluntary sector": 6,
    "family member": 10,
    "member of public": 6,
    "anonymous": 5,
    "self": 4,
}
_CONCERNS = {
    "domestic abuse": 20,
    "neglect": 16,
    "emotional abuse": 9,
    "physical abuse": 9,
    "parental mental health": 7,
    "parental substance misuse": 7,
    "child mental health": 6,
    "sexual abuse": 4,
    "exploitation": 4,
    "behaviour": 4,
    "missing": 3,
    "disability or additional needs": 2,
    "housing or homelessness": 2,
    "financial hardship": 2,
    "request for information": 3,
    "other": 2,
}
_CONCERN_BY_REFERRER = {
    "police": {"domestic abuse": 3.0, "missing": 3.0, "exploitation": 2.0},
    "school": {"neglect": 1.5, "behaviour": 2.5, "child mental health": 2.0, "physical abuse": 1.3},
    "health visitor": {"neglect": 2.0, "parental mental health": 2.0},
    "GP": {"parental mental health": 2.5, "child mental health": 1.5},
    "hospital": {"physical abuse": 2.5, "parental substance misuse": 1.5},
    "housing": {"housing or homelessness": 6.0, "financial hardship": 3.0},
    "family member": {"emotional abuse": 1.5, "request for information": 2.0},
    "self": {"child mental health": 3.0, "emotional abuse": 2.0},
}
_SEVERE = frozenset({"physical abuse", "sexual abuse", "exploitation"})
_AGE_BANDS = {"unborn": 4, "under 1": 8, "1 to 4": 22, "5 to 9": 26, "10 to 15": 32, "16 and over": 8}
_NOTES = (
    "Referrer asked for written confirmation.",
    "Information shared with the health visitor.",
    "Previous contact closed last year.",
    "Consent to share was discussed.",
    "Referrer to send the written referral form.",
    "Checks with police and school completed.",
    "Threshold discussed with the referrer.",
    "Duty worker rang back the next morning.",
    "Advice given about the early help offer.",
    "Strategy discussion arranged for the same day.",
)


@dataclass(frozen=True)
class SampleReferral:
    """One synthetic referral: its reference (as the authority's system would give it) and its fields."""

    reference: str
    values: dict[str, Any]


# the two filmed staff of the sample documents (pseudonyms, as the demo project has them)
WORKER, MANAGER = "Duty worker A", "Team manager B"


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _maybe(rng: random.Random, p_missing: float, value: Any) -> Any:
    return None if rng.random() < p_missing else value


def generate_sample(
    n: int = 2000,
    *,
    seed: int = 2026,
    periods: Sequence[tuple[str, date]] = PERIODS,
    vocab: Vocabularies | None = None,
) -> list[SampleReferral]:
    """``n`` synthetic referrals spread evenly over ``periods`` (label, first day; each three months long)."""
    rng = random.Random(seed)
    vocab = vocab or load_vocabularies()
    out: list[SampleReferral] = []
    for i in range(n):
        k = i * len(periods) // n
        label, first = periods[k]
        later = k > 0
        received = _arrival(rng, first)
        referrer = _pick(rng, _REFERRERS)
        professional = vocab.is_professional(referrer) is True
        weights: dict[str, float] = dict(_CONCERNS)
        for c, f in _CONCERN_BY_REFERRER.get(referrer, {}).items():
            weights[c] *= f
        concern = _pick(rng, weights)
        severe = concern in _SEVERE
        response = _response(rng, professional, severe, later)
        ia = response in ("initial assessment", "strategy discussion / section 47") or rng.random() < 0.04
        p_feedback = (0.72 if later else 0.55) if professional else 0.35
        p_manager = 0.75 if severe or response == "strategy discussion / section 47" else 0.35
        median_h = 3.5 if later else 5.0
        minutes = min(int(math.exp(rng.gauss(math.log(median_h * 60), 1.0))), 14 * 24 * 60)
        values: dict[str, Any] = {
            "received_at": received,
            "period": label,
            "referrer_type": referrer,
            "concern": concern,
            "age_band": _maybe(rng, 0.02, _pick(rng, _AGE_BANDS)),
            "previous_referrals": _maybe(rng, 0.05, _poisson(rng, 0.8)),
            "response": _maybe(rng, 0.01, response),
            "outcome": _maybe(rng, 0.03, _outcome(rng, response)),
            "decision_minutes": _maybe(rng, 0.02, minutes),
            "initial_assessment": _maybe(rng, 0.03, ia),
            "feedback": _maybe(rng, 0.04, rng.random() < p_feedback),
            "manager_consulted": _maybe(rng, 0.03, rng.random() < p_manager),
            "notes": rng.choice(_NOTES) if rng.random() < 0.2 else None,
        }
        out.append(SampleReferral(f"CR{received:%y%m}-{i + 1:05d}", values))
    return out


def _arrival(rng: random.Random, first: date) -> datetime:
    while True:
        day = first + timedelta(days=rng.randrange(90))
        if day.weekday() < 5 or rng.random() < 0.15:  # the duty desk is quieter at weekends
            break
    hour = min(max(int(rng.gauss(12.5, 2.8)), 0), 23)
    return datetime(day.year, day.month, day.day, hour, rng.randrange(60))


def _poisson(rng: random.Random, lam: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _response(rng: random.Random, professional: bool, severe: bool, later: bool) -> str:
    w = {
        "no further action": 30.0,
        "signposting or advice": 15.0,
        "early help": 20.0,
        "initial assessment": 24.0,
        "strategy discussion / section 47": 6.0,
        "referral to another agency": 5.0,
    }
    if professional:
        w["initial assessment"] *= 1.9 if later else 1.2
        w["no further action"] *= 0.8
    else:
        w["signposting or advice"] *= 1.6
    if severe:
        w["strategy discussion / section 47"] *= 4
        w["initial assessment"] *= 1.5
        w["no further action"] *= 0.4
    return _pick(rng, w)


def _outcome(rng: random.Random, response: str) -> str:
    table = {
        "no further action": {"no further action": 1.0},
        "signposting or advice": {"no further action": 0.7, "early help": 0.3},
        "early help": {"early help": 0.9, "no further action": 0.1},
        "initial assessment": {
            "no further action": 0.35,
            "child in need plan": 0.35,
            "early help": 0.15,
            "child protection plan": 0.1,
            "ongoing": 0.05,
        },
        "strategy discussion / section 47": {
            "child protection plan": 0.35,
            "child in need plan": 0.35,
            "no further action": 0.2,
            "looked after": 0.1,
        },
        "referral to another agency": {"referred to another agency": 1.0},
    }
    return _pick(rng, table[response])


_HEADERS = {
    "reference": "Referral ID",
    "received_at": "Contact Date/Time",
    "period": "Sample Period",
    "referrer_type": "Referral Source",
    "concern": "Primary Concern",
    "age_band": "Age Group",
    "previous_referrals": "Previous Referrals",
    "response": "Decision",
    "outcome": "Outcome",
    "decided_at": "Decision Date/Time",
    "initial_assessment": "Initial Assessment",
    "feedback": "Feedback to Referrer",
    "manager_consulted": "Manager Consulted",
    "notes": "Worker Notes",
}


def extract_rows(sample: Sequence[SampleReferral]) -> list[dict[str, str]]:
    """The sample as the authority's extract shows it: header -> cell text."""
    rows = []
    for r in sample:
        v = r.values
        received: datetime = v["received_at"]
        decided = received + timedelta(minutes=v["decision_minutes"]) if v["decision_minutes"] is not None else None
        cells = {
            "reference": r.reference,
            "received_at": f"{received:%d/%m/%Y %H:%M}",
            "period": v["period"],
            "referrer_type": v["referrer_type"],
            "concern": v["concern"],
            "age_band": v["age_band"] or "Not known",
            "previous_referrals": "" if v["previous_referrals"] is None else str(v["previous_referrals"]),
            "response": v["response"] or "",
            "outcome": v["outcome"] or "",
            "decided_at": f"{decided:%d/%m/%Y %H:%M}" if decided else "",
            "initial_assessment": _yes_no(v["initial_assessment"]),
            "feedback": _yes_no(v["feedback"]),
            "manager_consulted": _yes_no(v["manager_consulted"]),
            "notes": v["notes"] or "",
        }
        rows.append({_HEADERS[k]: c for k, c in cells.items()})
    return rows


def _yes_no(b: bool | None) -> str:
    return "" if b is None else ("Yes" if b else "No")


def write_extract_csv(sample: Sequence[SampleReferral], path: str | Path, *, encoding: str = "utf-8") -> Path:
    """Write the sample as a CSV extract (``encoding`` as the authority's system would, e.g. cp1252)."""
    p = Path(path)
    rows = extract_rows(sample)
    with p.open("w", encoding=encoding, newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(_HEADERS.values()))
        w.writeheader()
        w.writerows(rows)
    return p


# ---- coded recordings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodedCall:
    """One call in a coded document: its span and the codes given to it."""

    start_ms: int
    end_ms: int
    referrer_type: str
    concern: str
    response: str
    referrer_ann_id: str = ""


def coded_document(
    seed: int, duration_ms: int = 30 * 60_000, vocab: Vocabularies | None = None
) -> tuple[EafDocument, list[CodedCall]]:
    """An ELAN document from the referral scheme with back-to-back calls coded on its tiers."""
    rng = random.Random(seed)
    vocab = vocab or load_vocabularies()
    doc = load_scheme("referral")
    add_participant_tiers(doc, (WORKER, MANAGER))  # each person on their own tier: one tier never overlaps
    doc.kind = "eaf"
    doc.root_attrs["DATE"] = "2026-03-02T09:00:00+00:00"
    codes: list[tuple[str, int, int, str]] = []
    calls: list[CodedCall] = []
    t = rng.randrange(5_000, 30_000)
    while True:
        length = rng.randrange(90_000, 360_000)
        if t + length > duration_ms:
            break
        referrer = _pick(rng, _REFERRERS)
        concern = _pick(rng, _CONCERNS)
        professional = vocab.is_professional(referrer) is True
        response = _response(rng, professional, concern in _SEVERE, False)
        consulted = rng.random() < 0.5
        fed_back = rng.random() < (0.6 if professional else 0.35)
        shares = [("opening", 5), ("reason for call", 20), ("information gathering", 35)]
        if consulted:
            shares.append(("consultation", 12))
        shares.append(("decision", 10))
        if fed_back:
            shares.append(("feedback to referrer", 10))
        shares.append(("closing", 6))
        total = sum(s for _, s in shares)
        pos = t
        spans: dict[str, tuple[int, int]] = {}
        for i, (phase, share) in enumerate(shares):
            end = t + length if i == len(shares) - 1 else pos + length * share // total
            codes.append(("Call phase", pos, end, phase))
            spans[phase] = (pos, end)
            pos = end
        reason = spans["reason for call"]
        decision = spans["decision"]
        codes.append(("Referrer type", *reason, referrer))
        codes.append(("Concern", *reason, concern))
        codes.append(("Response", *decision, response))
        if "consultation" in spans:
            codes.append(("Manager consulted", *spans["consultation"], "manager consulted"))
            codes.append((participant_tier(MANAGER), *spans["consultation"], MANAGER))
        else:
            codes.append(("Manager consulted", *decision, "not consulted"))
        if professional:
            codes.append(("Feedback to referrer", *spans.get("feedback to referrer", decision), _fb(fed_back)))
            agreed = response in ("initial assessment", "strategy discussion / section 47")
            codes.append(
                (
                    "Initial assessment after professional referral",
                    *decision,
                    "initial assessment agreed" if agreed else "initial assessment not agreed",
                )
            )
        codes.append((participant_tier(WORKER), t, t + length, WORKER))
        calls.append(CodedCall(t, t + length, referrer, concern, response))
        t += length + rng.randrange(10_000, 90_000)

    times = sorted({ms for _, a, b, _ in codes for ms in (a, b)})
    slot_of = {ms: f"ts{i + 1}" for i, ms in enumerate(times)}
    doc.time_slots = [TimeSlot(slot_of[ms], ms) for ms in times]
    by_tier = {tier.tier_id: tier for tier in doc.tiers}
    referrer_ids: dict[int, str] = {}
    for n, (tier_id, a, b, value) in enumerate(sorted(codes, key=lambda c: (c[1], c[0])), start=1):
        by_tier[tier_id].annotations.append(Annotation(f"a{n}", value, slot_of[a], slot_of[b]))
        if tier_id == "Referrer type":
            referrer_ids[a] = f"a{n}"
    calls = [
        replace(c, referrer_ann_id=next(aid for t, aid in referrer_ids.items() if c.start_ms <= t < c.end_ms))
        for c in calls
    ]
    doc.properties = [p for p in doc.properties if p[0] != "lastUsedAnnotationId"]
    doc.properties.append(("lastUsedAnnotationId", str(len(codes))))
    return doc, calls


def _fb(given: bool) -> str:
    return "feedback given" if given else "no feedback"


@dataclass(frozen=True)
class StoredSample:
    records: int
    documents: tuple[int, ...]
    links: int


def store_sample(
    store: Store, project: str, n: int = 2000, *, seed: int = 2026, coded_documents: int = 2
) -> StoredSample:
    """Store ``n`` synthetic records and ``coded_documents`` coded duty-room documents in ``project``, and link
    each coded call to a record with the same referrer type, concern and response when there is one.
    Running it again stores nothing twice (the records' references and the documents' names are the same)."""
    from sqlalchemy import select

    from annotation.records.importer import store_rows
    from annotation.records.referrals import link_segment, list_records
    from annotation.services import ensure_project
    from annotation.store import Document, store_document

    vocab = load_vocabularies()
    sample = generate_sample(n, seed=seed, vocab=vocab)
    checked = [(i, r.reference, check_fields(r.values, vocab)) for i, r in enumerate(sample)]
    stored, _ = store_rows(store, project, checked, "demo sample", None, source="sample")
    pid = ensure_project(store, project)
    unused: dict[tuple[str, str, str | None], list[int]] = {}
    for rec in list_records(store, project):
        unused.setdefault((rec.referrer_type, rec.concern, rec.response), []).append(rec.id)
    docs, links = [], 0
    for k in range(coded_documents):
        name = f"duty room sample {k + 1} (seed {seed + k})"
        with store.session() as s:
            have = s.scalar(select(Document.id).where(Document.project_id == pid, Document.name == name))
        if have is not None:  # made by an earlier run, links and all
            docs.append(have)
            continue
        doc, calls = coded_document(seed + k, vocab=vocab)
        with store.session() as s:
            did = store_document(s, doc, name, project_id=pid)
        docs.append(did)
        for call in calls:
            candidates = unused.get((call.referrer_type, call.concern, call.response))
            if candidates:
                link_segment(store, candidates.pop(0), did, call.referrer_ann_id)
                links += 1
    return StoredSample(stored, tuple(docs), links)
