"""The matcher with the catalogue plugged in: the MONDO closure held in memory, labels for the
messages, and the applicant facts read from an account."""

from __future__ import annotations

from datasets import duo
from datasets.catalogue import catalogue, labels_for
from datasets.matcher import MatchResult, match


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
    return match(data_use, purpose, facts, ancestors=catalogue.ancestors(), labels=labels)
