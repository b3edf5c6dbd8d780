"""What a review station says to a member of staff who has never seen Frontdoor: each use of a clip in one
sentence (who sees it, where, for how long: the lengths from the project's retention policy), what the clip
shows and what is already hidden in it, a title that is not a code value, and how to change one's mind.

Plain text, no Qt: the station (``app/gui/review``) lays it out; tests read it. Nothing here names anyone else
in the clip or what they decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from annotation.elan import REFERRAL_SCHEME
from consent.station.review import ReviewItem
from media_tools.clock import clock_text

__all__ = ["CHANGE_YOUR_MIND", "Length", "UseText", "clip_summary", "clip_title", "use_text"]

CHANGE_YOUR_MIND = (
    "You can change your mind later, also after today: tell the researcher, and you can decide again on this "
    "screen. A new “no” stops that use from then on. If you leave the study, every copy already given out is "
    "deleted."
)


@dataclass(frozen=True)
class UseText:
    """One use as the station puts it: the question, the sentence under it, and which conditions of a yes
    make sense for it (``not_after``: the label of the date condition, None when it has none)."""

    question: str
    sentence: str
    not_after: str | None
    audience_inside: bool  # offer "only if everyone watching works for the authority" (internal training)


_QUESTIONS = {
    "research_team": "Research: may the research team study this clip?",
    "internal_training": "Training: may it be shown in the authority's own staff training?",
    "external_seminar": "Seminars: may it be shown to people from outside the authority?",
    "publication": "Publication: may it be published?",
}

_WHO_WHERE = {
    "research_team": (
        "Only the researchers of this study watch it, on the study's own computers, to learn how referrals "
        "are handled; nobody else sees it."
    ),
    "internal_training": (
        "Staff of the authority watch it in training sessions run by the research team; it is shown in the "
        "room, not handed out to keep."
    ),
    "external_seminar": (
        "People from outside the authority (other councils, universities, at a seminar or conference) watch "
        "it when the research team present their work."
    ),
    "publication": (
        "Anyone may see it: it may be published with the research, for example online with an article. Once "
        "published it cannot be called back."
    ),
}


class Length(Protocol):
    """A retention period (``consent.retention``'s ``Period``, which sits above the station)."""

    def describe(self) -> str: ...


def use_text(scope: str, clips: Length | None = None, exports: Length | None = None) -> UseText:
    """The question and sentence for one use, with how long it lasts from the project's retention policy:
    ``clips``, how long a clip is kept after its last use; ``exports``, how long after it was given out a
    copy without an end date is deleted (None: the project sets no limit)."""
    if scope == "research_team":
        kept = f"for {clips.describe()} after its last use, then deletes it" if clips else "until it deletes it"
        how_long = f"The study keeps it {kept}."
    elif scope == "publication":
        how_long = "A published copy is not deleted."
    else:
        copies = f"by its end date, or {exports.describe()} after it was given out" if exports else "by its end date"
        how_long = f"Each copy made for a session is deleted {copies}."
    return UseText(
        _QUESTIONS[scope],
        f"{_WHO_WHERE[scope]} {how_long}",
        "only if published before" if scope == "publication" else "not after",
        scope == "internal_training",  # training could invite partner agencies; the narrower and wider uses
    )  # are inside (the team) or outside (a seminar, the public) by what they are


_DESCRIPTIONS = {value: text for spec in REFERRAL_SCHEME for value, text in spec.values}


def clip_title(item: ReviewItem) -> str:
    """What the clip is, in words: its title card's text, else the referral scheme's description of the code
    it is named after ("The referrer states why they are calling", not "reason for call"), else its name."""
    if item.title:
        return item.title
    return _DESCRIPTIONS.get(item.label.strip(), item.label)


def _clock(seconds: float) -> str:
    return clock_text(max(0.0, seconds) * 1000, digits=1, hours="auto", rounding="nearest")


def clip_summary(item: ReviewItem) -> str:
    """How long the clip is and where it comes from, and what is already hidden in it."""
    length = item.end_s - item.start_s
    where = f"{_clock(length)} long: {_clock(item.start_s)} to {_clock(item.end_s)} of the recording."
    hidden = "; ".join(item.hidden) if item.hidden else "nothing yet (no blurred areas, bleeps or captions)"
    return f"{where} Already hidden in it: {hidden}."
