"""Referral records: the case-record sample a study codes beside its video, kept without identifiers.

The record tables (``models``), their vocabularies and services (``referrals``), the CSV import (``importer``,
with ``columns`` for the column mapping and ``rows`` for checking a row), the statistics (``analysis``), the
suppression of small cells (``suppression``; ``protection``: the optimal choice of hidden counts and its
audit) and a generated sample for demos and tests (``sample``).
"""

from __future__ import annotations

from annotation.records import models, referrals
from annotation.records.analysis import (
    MONTE_CARLO_RESAMPLES,
    NON_PROFESSIONAL,
    NOT_RECORDED,
    PROFESSIONAL,
    CrossTab,
    Frequency,
    PeriodComparison,
    Proportion,
    RecordAnalysis,
    RecordLike,
    TimeSummary,
    analyse,
    compare_distribution,
    compare_periods,
    group_of,
    holm,
)
from annotation.records.columns import ColumnMapping
from annotation.records.importer import import_records
from annotation.records.models import RecordSegment, ReferralRecord
from annotation.records.protection import Protection, interval, protect_optimal, unprotected
from annotation.records.referrals import (
    FIELDS,
    RecordView,
    Vocabularies,
    get_record,
    identifier_warnings,
    list_records,
    load_vocabularies,
    record_periods,
    record_segments,
)
from annotation.records.sample import store_sample
from annotation.records.suppression import (
    MARK,
    OPEN_MARK,
    SECONDARY,
    THRESHOLD,
    Quantity,
    cell_text,
    is_small,
    protect,
    suppress,
)

__all__ = [
    "FIELDS",
    "MARK",
    "MONTE_CARLO_RESAMPLES",
    "NON_PROFESSIONAL",
    "NOT_RECORDED",
    "OPEN_MARK",
    "PROFESSIONAL",
    "SECONDARY",
    "THRESHOLD",
    "ColumnMapping",
    "CrossTab",
    "Frequency",
    "PeriodComparison",
    "Proportion",
    "Protection",
    "Quantity",
    "RecordAnalysis",
    "RecordLike",
    "RecordSegment",
    "RecordView",
    "ReferralRecord",
    "TimeSummary",
    "Vocabularies",
    "analyse",
    "cell_text",
    "compare_distribution",
    "compare_periods",
    "get_record",
    "group_of",
    "holm",
    "identifier_warnings",
    "import_records",
    "interval",
    "is_small",
    "list_records",
    "load_vocabularies",
    "models",
    "protect",
    "protect_optimal",
    "record_periods",
    "record_segments",
    "referrals",
    "store_sample",
    "suppress",
    "unprotected",
]
