"""Coding schemes: the default referral-handling scheme and project-supplied ELAN templates.

The default scheme follows the research programme's questions about how a duty team handles referrals
(the call's phases, who referred and about what, the response, and the practices the Laming report asked
for: a manager or senior social worker consulted on site (recommendation 11), feedback to a referring
professional and an initial assessment after a professional referral (recommendation 19), and a shared
language of referral between agencies (recommendation 30)). A "Sensitive identifier" tier marks spans
where a child or family is named; clip exports turn those spans into audio redactions.

The scheme is defined here once and shipped in ``resources/scheme/`` as an ELAN template (``referral.etf``,
vocabularies inline so ELAN needs nothing else) and an external vocabulary file (``referral.ecv``, for
projects that share the vocabularies across templates). ``python -m annotation.elan.scheme`` rewrites both.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from annotation.elan.model import (
    ControlledVocabulary,
    CVEntry,
    CVEValue,
    EafDocument,
    Tier,
)
from annotation.elan.reader import read_eaf
from annotation.errors import EafError

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "scheme"
ENGLISH = {
    "LANG_DEF": "http://cdb.iso.org/lg/CDB-00138502-001",
    "LANG_ID": "eng",
    "LANG_LABEL": "English (eng)",
}
SENSITIVE_TIER = "Sensitive identifier"
PARTICIPANTS_TIER = "Participants"


def participant_tier(pseudonym: str) -> str:
    """The tier of one filmed person (ELAN's usual layout: a tier per participant, so that two people
    present at once never overlap on one tier): ``Participants: Duty worker A``."""
    return f"{PARTICIPANTS_TIER}: {pseudonym}"


def is_participants_tier(tier_id: str) -> bool:
    """The scheme's Participants tier or one person's (:func:`participant_tier`)."""
    return tier_id == PARTICIPANTS_TIER or tier_id.startswith(f"{PARTICIPANTS_TIER}: ")


@dataclass(frozen=True)
class TierSpec:
    tier_id: str
    description: str
    values: tuple[tuple[str, str], ...] = ()  # (value, description); empty = free text


REFERRAL_SCHEME: tuple[TierSpec, ...] = (
    TierSpec(
        "Call phase",
        "Phase of the referral call or contact",
        (
            ("opening", "Greeting, identification of caller and duty worker"),
            ("reason for call", "The referrer states why they are calling"),
            ("information gathering", "Duty worker asks for and records information"),
            ("consultation", "Duty worker consults a colleague, manager or records"),
            ("decision", "A decision on the referral is reached or stated"),
            ("feedback to referrer", "The referrer is told what will happen"),
            ("closing", "End of the call or contact"),
        ),
    ),
    TierSpec(
        "Referrer type",
        "Who made the referral",
        (
            ("school", "School or education setting"),
            ("health visitor", "Health visitor"),
            ("GP", "General practitioner"),
            ("hospital", "Hospital staff"),
            ("police", "Police"),
            ("probation", "Probation service"),
            ("housing", "Housing provider or department"),
            ("voluntary sector", "Voluntary or community organisation"),
            ("family member", "Parent or relative"),
            ("member of public", "Member of the public"),
            ("anonymous", "Referrer did not give a name"),
            ("self", "The child or young person"),
        ),
    ),
    TierSpec(
        "Concern",
        "Concern category as stated by the referrer",
        (
            ("neglect", "Neglect"),
            ("physical abuse", "Physical abuse"),
            ("emotional abuse", "Emotional abuse"),
            ("sexual abuse", "Sexual abuse"),
            ("domestic abuse", "Domestic abuse in the household"),
            ("parental substance misuse", "Parental drug or alcohol misuse"),
            ("parental mental health", "Parental mental health"),
            ("child mental health", "Child's mental health"),
            ("exploitation", "Sexual or criminal exploitation"),
            ("missing", "Child missing from home or care"),
            ("behaviour", "Child's behaviour"),
            ("disability or additional needs", "Disability or additional needs"),
            ("housing or homelessness", "Housing or homelessness"),
            ("financial hardship", "Financial hardship"),
            ("request for information", "Request for a service or information"),
            ("other", "Other concern"),
        ),
    ),
    TierSpec(
        "Response",
        "Response decided for the referral",
        (
            ("no further action", "No further action"),
            ("signposting or advice", "Signposting or advice"),
            ("early help", "Early help"),
            ("initial assessment", "Initial assessment"),
            ("strategy discussion / section 47", "Strategy discussion or section 47 enquiry"),
            ("referral to another agency", "Referral to another agency"),
        ),
    ),
    TierSpec(
        "Manager consulted",
        "Manager or senior social worker consulted on site (Laming rec. 11)",
        (
            ("manager consulted", "A manager was consulted"),
            ("senior social worker consulted", "A senior social worker was consulted"),
            ("not consulted", "No manager or senior practitioner consulted"),
        ),
    ),
    TierSpec(
        "Feedback to referrer",
        "Feedback to the referring professional (Laming rec. 19)",
        (
            ("feedback given", "The referrer was told the outcome"),
            ("feedback promised", "Feedback was promised for later"),
            ("no feedback", "No feedback to the referrer"),
        ),
    ),
    TierSpec(
        "Initial assessment after professional referral",
        "Laming rec. 19",
        (
            ("initial assessment agreed", "An initial assessment follows the professional referral"),
            ("initial assessment not agreed", "No initial assessment despite a professional referral"),
            ("deferred", "Decision on an initial assessment deferred"),
        ),
    ),
    TierSpec(
        "Shared referral language",
        "Common language of referral between agencies (Laming rec. 30)",
        (
            ("shared threshold language", "Referrer and duty worker use the shared threshold language"),
            ("agency-specific language", "Terms specific to one agency"),
            ("clarification requested", "One side asks what a term means"),
        ),
    ),
    TierSpec(PARTICIPANTS_TIER, "Who is visible or audible: staff pseudonyms, one annotation per person per span"),
    TierSpec(
        SENSITIVE_TIER,
        "A child or family is identifiable: redact in every exported clip",
        (
            ("child name", "A child's name"),
            ("family name", "A family member's name"),
            ("address", "An address or place that identifies the family"),
            ("school", "A named school"),
            ("date of birth", "A date of birth"),
            ("case number", "A case or record number"),
            ("other identifier", "Any other detail that identifies the child or family"),
        ),
    ),
    TierSpec("Notes", "Free-text researcher notes"),
)


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


def scheme_documents() -> tuple[EafDocument, EafDocument]:
    """The default scheme as (template, external vocabulary) documents."""
    fixed = {"AUTHOR": "Frontdoor", "DATE": "2026-11-28T00:00:00+00:00"}
    etf = EafDocument(kind="etf", root_attrs=dict(fixed), languages=[dict(ENGLISH)])
    ecv = EafDocument(kind="ecv", root_attrs=dict(fixed), header_attrs={}, languages=[dict(ENGLISH)])
    for spec in REFERRAL_SCHEME:
        type_id = _slug(spec.tier_id)
        lt = {"GRAPHIC_REFERENCES": "false", "LINGUISTIC_TYPE_ID": type_id, "TIME_ALIGNABLE": "true"}
        if spec.values:
            lt["CONTROLLED_VOCABULARY_REF"] = spec.tier_id
            cv = ControlledVocabulary(
                cv_id=spec.tier_id,
                descriptions=[("eng", spec.description)],
                entries=[
                    CVEntry(cve_id=f"cveid_{type_id}_{_slug(v)}", values=[CVEValue(v, "eng", d)])
                    for v, d in spec.values
                ],
            )
            etf.vocabularies.append(cv)
            ecv.vocabularies.append(cv)
        etf.linguistic_types.append(lt)
        etf.tiers.append(Tier(attrs={"LINGUISTIC_TYPE_REF": type_id, "TIER_ID": spec.tier_id}))
    return etf, ecv


def load_scheme(scheme: str) -> EafDocument:
    """The template for ``scheme``: "referral" (the default shipped scheme) or a path to an ``.etf``/``.eaf``.

    Raises:
        EafError: the file is missing or not a valid ELAN template.
    """
    if scheme == "referral":
        return read_eaf(RESOURCES / "referral.etf", kind="etf")
    path = Path(scheme)
    if path.suffix.lower() not in (".etf", ".eaf"):
        raise EafError(f"{scheme}: a scheme is 'referral' or an ELAN template file (.etf)")
    return read_eaf(path, kind="etf")


def main(argv: list[str]) -> int:
    from annotation.elan.writer import write_eaf

    out = Path(argv[0]) if argv else RESOURCES
    etf, ecv = scheme_documents()
    write_eaf(etf, out / "referral.etf")
    write_eaf(ecv, out / "referral.ecv")
    print(f"wrote {out / 'referral.etf'} and {out / 'referral.ecv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
