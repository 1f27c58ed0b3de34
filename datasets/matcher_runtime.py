"""The DUO matcher at run time: the pure matcher (duo_matcher) with the term cache plugged in (the MONDO
closure held in memory, labels for the messages) and the applicant facts read from an account."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from datasets import duo, duo_matcher
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


def institution_labels(data_uses: Iterable[duo.DataUse], users: Iterable) -> dict[str, str]:
    """Names for the ROR ids that the profiles' IS modifiers and the people's institutions carry:
    one query at most, for the messages of `match_person`."""
    labels = {
        u.institution.ror_id: u.institution.name
        for u in users
        if u is not None and u.institution is not None and u.institution.ror_id
    }
    named = {r for d in data_uses for m in d.modifiers if m.term == duo.IS for r in m.institutions} - set(labels)
    if named:
        labels.update(labels_for(institutions=named))
    return labels


def match_person(
    data_use: duo.DataUse, user, *, country: str, who: str, labels: Mapping[str, str] | None = None
) -> MatchResult:
    """The profile's personal modifiers (duo_matcher.PERSONAL_TERMS) against one person's own
    facts (facts_for) and `country`, where they process the data; `who` names them in the reasons."""
    if labels is None:
        labels = institution_labels([data_use], [user])
    return duo_matcher.match_person(data_use, facts_for(user), country=country, who=who, labels=labels)
