"""The DUO matcher: (dataset data-use profile, research purpose, applicant facts) -> a decision,
one reason per DUO term that took part, and the conditions that must ride on the permit.

Pure and versioned: no database, no Django models. The MONDO ancestor closure is passed in, so a
caller loads it once (from the catalogue, or from the bundled TSV with `load_ancestor_closure`)
and every call is a handful of set lookups.

Reasons come in a fixed order: the permission, then a clinical-care reason when the profile has
no CC term but the purpose is clinical care (see `_missing_cc`), then one per modifier in the
profile's order, then one for free text. Every message starts with the sentence that
`datasets.duo` uses to describe the term to people, so the words and the decision agree.

`match_person` answers a narrower question for each holder of a permit: do this person's own
facts (organisation, institution, account, country) meet the modifiers that ask who uses the data?
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from django_countries.data import COUNTRIES

from datasets.duo import (
    CC,
    COL,
    DS,
    GRU,
    GS,
    GSO,
    HMB,
    IRB,
    IS,
    MOR,
    NCU,
    NMDS,
    NPOA,
    NPU,
    NPUNCU,
    NRES,
    POA,
    PS,
    PUB,
    RS,
    RTN,
    TERMS,
    TS,
    US,
    ApplicantFacts,
    DataUse,
    Modifier,
    Primary,
    ProfileInvalid,
    ResearchPurpose,
    modifier_phrase,
    permission_sentence,
)

ALGORITHM_VERSION = "duo-match/1.0"  # bump when a rule changes: stored decisions cite it

MONDO_TSV = Path(__file__).resolve().parent / "data" / "mondo-2022-09-06.tsv"
FREE_TEXT = "free_text"


class Decision(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    DENY = "deny"


# Aggregation order: deny beats review beats approve.
_SEVERITY = {Decision.APPROVE: 0, Decision.REVIEW: 1, Decision.DENY: 2}


@dataclass(frozen=True, slots=True)
class Reason:
    term: str  # a DUO id, or "free_text"
    decision: Decision
    message: str

    def to_json(self) -> dict[str, str]:
        return {"term": self.term, "decision": self.decision.value, "message": self.message}


@dataclass(frozen=True, slots=True)
class Condition:
    """An obligation from a DUO modifier that the permit carries, e.g. PUB or MOR."""

    term: str
    code: str  # the DUO shorthand, e.g. "MOR"
    text: str  # for people
    # Excluded from the hash so a Condition stays hashable although params is a dict.
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    def to_json(self) -> dict[str, Any]:
        return {"term": self.term, "code": self.code, "text": self.text, **self.params}


@dataclass(frozen=True, slots=True)
class MatchResult:
    decision: Decision
    algorithm_version: str
    reasons: tuple[Reason, ...]
    conditions: tuple[Condition, ...] = ()
    max_months: int | None = None  # from TS: the longest permit the profile allows

    def reason(self, term: str) -> Reason | None:
        return next((r for r in self.reasons if r.term == term), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "algorithm_version": self.algorithm_version,
            "reasons": [r.to_json() for r in self.reasons],
            "conditions": [c.to_json() for c in self.conditions],
            "max_months": self.max_months,
        }


# --- The case being matched ----------------------------------------------------------------

_NO_LABELS: Mapping[str, str] = {}
_NO_ANCESTORS: frozenset[str] = frozenset()


class _Case:
    """One call's inputs plus the disease fit, worked out once because DS and NMDS both read it.
    `who` names the person whose facts are read, in the messages ("the applicant", or a name)."""

    __slots__ = ("country", "data_use", "facts", "labels", "outside", "purpose", "who")

    def __init__(
        self,
        data_use: DataUse,
        purpose: ResearchPurpose | None,
        facts: ApplicantFacts,
        labels: Mapping[str, str],
        outside: tuple[str, ...],
        *,
        who: str = "the applicant",
        country: str = "",
    ) -> None:
        self.data_use = data_use
        self.purpose = purpose
        self.facts = facts
        self.labels = labels
        self.outside = outside
        self.who = who
        self.country = country

    @property
    def diseases_fit(self) -> bool:
        """The dataset is DS and the purpose names diseases, all within the dataset's."""
        return self.data_use.permission == DS and bool(self.purpose.diseases) and not self.outside

    def names(self, ids: tuple[str, ...]) -> str:
        return _join([self.labels.get(i, i) for i in ids])


def _outside(
    purpose_diseases: tuple[str, ...], allowed: tuple[str, ...], ancestors: Mapping[str, frozenset[str]]
) -> tuple[str, ...]:
    """The purpose's diseases that are neither one of `allowed` nor below one of them in MONDO."""
    return tuple(
        x for x in purpose_diseases if x not in allowed and ancestors.get(x, _NO_ANCESTORS).isdisjoint(allowed)
    )


def _develops_methods(purpose: ResearchPurpose) -> bool:
    return purpose.primary is Primary.METHODS or purpose.methods_development


def _involves_ancestry(purpose: ResearchPurpose) -> bool:
    return purpose.primary is Primary.POPULATION_ANCESTRY or purpose.population_ancestry


def _involves_clinical_care(purpose: ResearchPurpose) -> bool:
    return purpose.primary is Primary.CLINICAL_CARE or purpose.clinical_care


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# How a purpose's primary category reads inside a reason.
_KIND = {
    Primary.DISEASE: "disease research",
    Primary.HMB: "general health, medical or biomedical research",
    Primary.POPULATION_ANCESTRY: "research on population origins or ancestry",
    Primary.METHODS: "methods development",
    Primary.FUNDAMENTAL_BIOLOGY: "fundamental biology research",
    Primary.CLINICAL_CARE: "clinical care",
    Primary.OTHER: "other research",
}
_CC_DECIDES = "clinical care use is decided by the clinical care use (CC) term"


# --- Permissions -----------------------------------------------------------------------------


def _permission_reason(case: _Case, decision: Decision, why: str) -> Reason:
    sentence = permission_sentence(case.data_use, case.labels)
    return Reason(case.data_use.permission, decision, f"{sentence}: {why}.")


def _any_research(case: _Case) -> Reason:
    primary = case.purpose.primary
    if primary is Primary.OTHER:
        return _permission_reason(case, Decision.REVIEW, "'other' is not a recognised research purpose")
    if primary is Primary.CLINICAL_CARE:
        return _permission_reason(case, Decision.APPROVE, _CC_DECIDES)
    return _permission_reason(case, Decision.APPROVE, f"{_KIND[primary]} is allowed")


_HEALTH = frozenset({Primary.DISEASE, Primary.HMB, Primary.METHODS})


def _health(case: _Case) -> Reason:
    primary = case.purpose.primary
    if _involves_ancestry(case.purpose):
        return _permission_reason(case, Decision.DENY, "the purpose involves population origins or ancestry")
    if primary is Primary.CLINICAL_CARE:
        return _permission_reason(case, Decision.APPROVE, _CC_DECIDES)
    if primary in _HEALTH:
        return _permission_reason(case, Decision.APPROVE, f"{_KIND[primary]} is allowed")
    return _permission_reason(case, Decision.DENY, f"{_KIND[primary]} is not health research")


# Purposes that DS accepts when they are tied to the dataset's diseases.
_TIED_TO_DISEASE = frozenset({Primary.DISEASE, Primary.METHODS, Primary.CLINICAL_CARE})


def _disease_specific(case: _Case) -> Reason:
    purpose = case.purpose
    kind = _KIND[purpose.primary]
    # DS is a subclass of HMB in DUO, so it inherits HMB's exclusion of ancestry research.
    if _involves_ancestry(purpose):
        return _permission_reason(case, Decision.DENY, "the purpose involves population origins or ancestry")
    if purpose.primary not in _TIED_TO_DISEASE:
        return _permission_reason(case, Decision.DENY, f"{kind} is not limited to these diseases")
    if not purpose.diseases:
        return _permission_reason(case, Decision.DENY, f"the purpose ({kind}) names no disease")
    if case.outside:
        verb = "is" if len(case.outside) == 1 else "are"
        return _permission_reason(case, Decision.DENY, f"{case.names(case.outside)} {verb} outside them")
    verb = "falls" if len(purpose.diseases) == 1 else "fall"
    return _permission_reason(case, Decision.APPROVE, f"{case.names(purpose.diseases)} {verb} within them")


def _ancestry_only(case: _Case) -> Reason:
    primary = case.purpose.primary
    if primary is Primary.POPULATION_ANCESTRY:
        return _permission_reason(case, Decision.APPROVE, "the purpose is research on population origins or ancestry")
    return _permission_reason(case, Decision.DENY, f"{_KIND[primary]} is not research on population origins")


_PERMISSION_RULES: dict[str, Callable[[_Case], Reason]] = {
    NRES: _any_research,
    GRU: _any_research,
    HMB: _health,
    DS: _disease_specific,
    POA: _ancestry_only,
}


def _missing_cc(case: _Case) -> Reason | None:
    """Design choice: a clinical-care purpose against a profile without CC is denied by a
    reason of its own, with term CC, rather than folded into the permission's reason. The
    permission reason then answers one question (is the research category allowed?), and the
    deny names the term a DAC would have to add."""
    if not _involves_clinical_care(case.purpose) or case.data_use.modifier(CC) is not None:
        return None
    return Reason(
        CC, Decision.DENY, "Clinical care use is not allowed: the profile has no clinical care use (CC) term."
    )


# --- Modifiers -------------------------------------------------------------------------------


def _modifier_reason(m: Modifier, case: _Case, decision: Decision, why: str) -> Reason:
    return Reason(m.term, decision, f"{_capital(modifier_phrase(m, case.labels))}: {why}.")


def _no_methods(m: Modifier, case: _Case) -> Reason:
    if not _develops_methods(case.purpose):
        return _modifier_reason(m, case, Decision.APPROVE, "the purpose does not develop methods")
    if case.diseases_fit:
        names = case.names(case.purpose.diseases)
        return _modifier_reason(m, case, Decision.APPROVE, f"the methods development is tied to {names}")
    return _modifier_reason(m, case, Decision.DENY, "the purpose develops methods not tied to the dataset's diseases")


def _genetic_only(m: Modifier, case: _Case) -> Reason:
    if case.purpose.genetic_study:
        return _modifier_reason(m, case, Decision.APPROVE, "the purpose is a genetic study")
    return _modifier_reason(m, case, Decision.DENY, "the purpose is not a genetic study")


def _npu_verdict(facts: ApplicantFacts, who: str) -> tuple[Decision, str]:
    if facts.for_profit_organisation is False:
        return Decision.APPROVE, f"{who}'s organisation is not-for-profit"
    if facts.for_profit_organisation:
        return Decision.DENY, f"{who}'s organisation is for-profit"
    return Decision.REVIEW, f"whether {who}'s organisation is for-profit is not known"


def _ncu_verdict(purpose: ResearchPurpose) -> tuple[Decision, str]:
    if purpose.commercial:
        return Decision.DENY, "the purpose is commercial"
    return Decision.APPROVE, "the purpose is non-commercial"


def _not_for_profit(m: Modifier, case: _Case) -> Reason:
    return _modifier_reason(m, case, *_npu_verdict(case.facts, case.who))


def _non_commercial(m: Modifier, case: _Case) -> Reason:
    return _modifier_reason(m, case, *_ncu_verdict(case.purpose))


def _npu_and_ncu(m: Modifier, case: _Case) -> Reason:
    npu, npu_why = _npu_verdict(case.facts, case.who)
    ncu, ncu_why = _ncu_verdict(case.purpose)
    decision = npu if _SEVERITY[npu] >= _SEVERITY[ncu] else ncu
    return _modifier_reason(m, case, decision, f"{npu_why}, and {ncu_why}")


def _no_ancestry(m: Modifier, case: _Case) -> Reason:
    if _involves_ancestry(case.purpose):
        return _modifier_reason(m, case, Decision.DENY, "the purpose involves population origins or ancestry")
    return _modifier_reason(m, case, Decision.APPROVE, "the purpose does not involve population origins or ancestry")


def _clinical_care(m: Modifier, case: _Case) -> Reason:
    if _involves_clinical_care(case.purpose):
        return _modifier_reason(m, case, Decision.APPROVE, "the purpose is clinical care")
    return _modifier_reason(m, case, Decision.APPROVE, "the purpose does not involve clinical care")


def _ethics(m: Modifier, case: _Case) -> Reason:
    # The document itself is checked when the application is submitted, not here.
    why = "an ethics approval document must be uploaded before the application can be submitted"
    return _modifier_reason(m, case, Decision.APPROVE, why)


def _collaboration(m: Modifier, case: _Case) -> Reason:
    return _modifier_reason(m, case, Decision.REVIEW, "the committee checks the collaboration")


def _countries(m: Modifier, case: _Case) -> Reason:
    country = case.purpose.country
    if not country:
        return _modifier_reason(m, case, Decision.REVIEW, "the purpose does not say where the data will be processed")
    name = COUNTRIES.get(country, country)
    if country in m.countries:
        return _modifier_reason(m, case, Decision.APPROVE, f"the data will be processed in {name}")
    return _modifier_reason(m, case, Decision.DENY, f"the data would be processed in {name}")


def _institutions(m: Modifier, case: _Case) -> Reason:
    institution, who = case.facts.institution, case.who
    if not institution:
        return _modifier_reason(m, case, Decision.REVIEW, f"{who}'s institution is not known")
    name = case.labels.get(institution, institution)
    if institution in m.institutions:
        return _modifier_reason(m, case, Decision.APPROVE, f"{who} is at {name}")
    return _modifier_reason(m, case, Decision.DENY, f"{who} is at {name}")


def _users(m: Modifier, case: _Case) -> Reason:
    user, who = case.facts.user, case.who
    if not user:
        return _modifier_reason(m, case, Decision.REVIEW, f"{who} is not known")
    if user in m.users:
        return _modifier_reason(m, case, Decision.APPROVE, f"{who} is an approved user")
    return _modifier_reason(m, case, Decision.DENY, f"{who} is not an approved user")


def _home_country(m: Modifier, case: _Case) -> Reason:
    """GS for one person: the country where they process data (their own, not the purpose's)."""
    country, who = case.country, case.who
    if not country:
        return _modifier_reason(m, case, Decision.REVIEW, f"where {who} processes data is not known")
    name = COUNTRIES.get(country, country)
    if country in m.countries:
        return _modifier_reason(m, case, Decision.APPROVE, f"{who} processes data in {name}")
    return _modifier_reason(m, case, Decision.DENY, f"{who} processes data in {name}")


def _project(m: Modifier, case: _Case) -> Reason:
    named = case.purpose.project.strip()
    if not named:
        return _modifier_reason(m, case, Decision.REVIEW, "the application names no project")
    if named.casefold() == m.project.strip().casefold():
        return _modifier_reason(m, case, Decision.APPROVE, f"the application names the project {named}")
    return _modifier_reason(m, case, Decision.REVIEW, f"the application names the project {named}")


def _topic(m: Modifier, case: _Case) -> Reason:
    return _modifier_reason(m, case, Decision.REVIEW, "the committee judges whether the purpose is on this topic")


def _obligation(m: Modifier, case: _Case) -> Reason:
    return _modifier_reason(m, case, Decision.APPROVE, "a condition of the permit")


def _time_limit(m: Modifier, case: _Case) -> Reason:
    return _modifier_reason(m, case, Decision.APPROVE, "a condition of the permit, which can run no longer")


_MODIFIER_RULES: dict[str, Callable[[Modifier, _Case], Reason]] = {
    NMDS: _no_methods,
    GSO: _genetic_only,
    NPU: _not_for_profit,
    NCU: _non_commercial,
    NPUNCU: _npu_and_ncu,
    NPOA: _no_ancestry,
    CC: _clinical_care,
    IRB: _ethics,
    COL: _collaboration,
    GS: _countries,
    IS: _institutions,
    US: _users,
    PS: _project,
    RS: _topic,
    PUB: _obligation,
    RTN: _obligation,
    MOR: _obligation,
    TS: _time_limit,
}
# Modifiers whose obligation rides on the permit; their parameters become the condition's params.
_CONDITION_TERMS = frozenset({COL, PUB, RTN, MOR, TS})


def _condition(m: Modifier, labels: Mapping[str, str]) -> Condition:
    params = m.to_json()
    del params["term"]
    return Condition(m.term, TERMS[m.term].shorthand, modifier_phrase(m, labels), params)


def _free_text(data_use: DataUse, purpose: ResearchPurpose) -> Reason | None:
    sides = [
        s for s, text in (("the dataset's profile", data_use.free_text), ("the purpose", purpose.free_text)) if text
    ]
    if not sides:
        return None
    # Free text cannot be read by a machine, so it always goes to a person, never to approve.
    return Reason(FREE_TEXT, Decision.REVIEW, f"Free text in {' and '.join(sides)} must be read by the committee.")


# --- The match -------------------------------------------------------------------------------


def match(
    data_use: DataUse,
    purpose: ResearchPurpose,
    facts: ApplicantFacts,
    *,
    ancestors: Mapping[str, frozenset[str]],
    labels: Mapping[str, str] | None = None,
) -> MatchResult:
    """Match a research purpose against a dataset's data-use profile; raises ProfileInvalid for
    a term the matcher has no rule for (a profile that skipped `parse_data_use`).

    `ancestors` maps a MONDO id to all its ancestors; `labels` names MONDO and ROR ids in the
    messages (ids are shown as they are when missing)."""
    permission_rule = _PERMISSION_RULES.get(data_use.permission)
    if permission_rule is None:
        raise ProfileInvalid({"permission": f"{data_use.permission!r} is not a DUO permission"})
    outside = _outside(purpose.diseases, data_use.diseases, ancestors) if data_use.permission == DS else ()
    case = _Case(data_use, purpose, facts, labels if labels is not None else _NO_LABELS, outside)
    reasons = [permission_rule(case)]
    if (missing_cc := _missing_cc(case)) is not None:
        reasons.append(missing_cc)
    conditions: list[Condition] = []
    max_months = None
    for m in data_use.modifiers:
        rule = _MODIFIER_RULES.get(m.term)
        if rule is None:
            raise ProfileInvalid({"modifiers": f"{m.term!r} is not a DUO modifier"})
        reasons.append(rule(m, case))
        if m.term in _CONDITION_TERMS:
            conditions.append(_condition(m, case.labels))
        if m.term == TS:
            max_months = m.months
    if (free_text := _free_text(data_use, purpose)) is not None:
        reasons.append(free_text)
    return MatchResult(_aggregate(reasons), ALGORITHM_VERSION, tuple(reasons), tuple(conditions), max_months)


# --- One person ----------------------------------------------------------------------------------

# The modifiers that ask who uses the data rather than what the research is. Each holder of a
# permit must meet them in person: the applicant's facts fit says nothing of a collaborator's.
# NPUNCU asks both; its non-commercial half is the purpose's, so only the organisation is personal.
_PERSONAL_RULES: dict[str, Callable[[Modifier, _Case], Reason]] = {
    NPU: _not_for_profit,
    NPUNCU: _not_for_profit,
    IS: _institutions,
    US: _users,
    GS: _home_country,
}
PERSONAL_TERMS = frozenset(_PERSONAL_RULES)


def match_person(
    data_use: DataUse,
    facts: ApplicantFacts,
    *,
    country: str,
    who: str,
    labels: Mapping[str, str] | None = None,
) -> MatchResult:
    """The profile's personal modifiers (PERSONAL_TERMS) against one person's own facts: their
    organisation's kind (NPU, and NPUNCU's not-for-profit half), their institution (IS), their
    account (US) and `country`, where they process the data (GS). One reason per personal
    modifier in the profile's order, named after `who`; approve when there is none. The rest of
    the profile is about the research, which `match` judges once for the application."""
    case = _Case(data_use, None, facts, labels if labels is not None else _NO_LABELS, (), who=who, country=country)
    reasons = [_PERSONAL_RULES[m.term](m, case) for m in data_use.modifiers if m.term in _PERSONAL_RULES]
    return MatchResult(_aggregate(reasons), ALGORITHM_VERSION, tuple(reasons))


def _aggregate(reasons: list[Reason]) -> Decision:
    worst = Decision.APPROVE
    for reason in reasons:
        if _SEVERITY[reason.decision] > _SEVERITY[worst]:
            worst = reason.decision
    return worst


# --- The MONDO closure -------------------------------------------------------------------------


def read_mondo_parents(path: Path | str = MONDO_TSV) -> dict[str, tuple[str, ...]]:
    """MONDO id -> its direct parents, from the bundled TSV (id, label, parents joined by "|")."""
    parents: dict[str, tuple[str, ...]] = {}
    with open(path, encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            columns = line.rstrip("\n").split("\t")
            raw = columns[2] if len(columns) > 2 else ""
            parents[columns[0]] = tuple(p for p in raw.split("|") if p)
    return parents


def ancestor_closure(parents: Mapping[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    """Every term -> all its ancestors (not itself), iteratively so depth cannot overflow the
    stack. A cycle (which MONDO should not have) is cut where it closes instead of looping."""
    closure: dict[str, frozenset[str]] = {}
    entered: set[str] = set()
    for start in parents:
        stack = [start]
        while stack:
            term = stack[-1]
            if term in closure:
                stack.pop()
            elif term in entered:
                # Second visit: every parent above it on the stack has been closed (or is on a cycle).
                found: set[str] = set()
                for parent in parents.get(term, ()):
                    found.add(parent)
                    found |= closure.get(parent, _NO_ANCESTORS)
                found.discard(term)
                closure[term] = frozenset(found)
                stack.pop()
            else:
                entered.add(term)
                stack.extend(p for p in parents.get(term, ()) if p not in closure and p not in entered)
    return closure


def load_ancestor_closure(path: Path | str = MONDO_TSV) -> dict[str, frozenset[str]]:
    """The ancestor closure of the bundled MONDO release, for tests and the benchmark."""
    return ancestor_closure(read_mondo_parents(path))
