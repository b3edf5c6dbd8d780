"""Analyses of coded video: agreement between two coders, their disagreements and the consensus tier built
from decisions on them, and statistics of coded time."""

from __future__ import annotations

from annotation.coding.agreement import CohenKappa, ModifiedKappa, TierAgreement, elan_number, tier_agreement
from annotation.coding.consensus import Comparison, Decision, decision_template, disagreements, load_decisions
from annotation.coding.consensus_tier import BuildConsensus, build_consensus
from annotation.coding.video_stats import co_occurrence, code_stats, code_stats_with_length

__all__ = [
    "BuildConsensus",
    "CohenKappa",
    "Comparison",
    "Decision",
    "ModifiedKappa",
    "TierAgreement",
    "build_consensus",
    "co_occurrence",
    "code_stats",
    "code_stats_with_length",
    "decision_template",
    "disagreements",
    "elan_number",
    "load_decisions",
    "tier_agreement",
]
