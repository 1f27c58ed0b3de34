"""The DUO matcher at run time: the pure matcher (duo_matcher) with the term cache plugged in (the MONDO
closure held in memory, labels for the messages) and the applicant facts read from an account."""

from __future__ import annotations

from datasets import duo
from datasets.duo_matcher import MatchResult, match
from datasets.term_cache import labels_for, term_cache


def facts_for(user) -> duo.ApplicantFacts:
    """What the portal knows of an applicant: stable id, institution and its kind."""
    if user is None or not user.is_authenticated:
        return duo.ApplicantFacts()
    institution = user.institution
    return duo.ApplicantFacts(
        user=str(user.sub),
        institution=(institution.ror_id or "") if institution else "",
        for_profit_organisation=(not institution.is_non_profit) if institution else None,
    )


def match_purpose(data_use: duo.DataUse, purpose: duo.ResearchPurpose, facts: duo.ApplicantFacts) -> MatchResult:
    labels = labels_for(diseases={*data_use.diseases, *purpose.diseases})
    return match(data_use, purpose, facts, ancestors=term_cache.ancestors(), labels=labels)
