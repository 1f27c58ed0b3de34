"""Who of an application's people may hold a permit on a dataset, by their own facts: the one home
of the rule that every grantee meets, in person, the DUO modifiers that ask who uses the data.

The matcher judges the research once per application, from the applicant's facts. A permit goes
to each person, so the modifiers that ask who the user is (duo_matcher.PERSONAL_TERMS: NPU and the
not-for-profit half of NPUNCU, IS, US, GS) are checked again for the applicant and for every
collaborator: the kind of their institution, the institution itself, their account, and the
country where they process the data (a collaborator's own profile country, else their
institution's; for the applicant, the country the purpose names).

What happens to a person who does not meet them:

- Submission is not refused. A project may rightly include a collaborator from industry; the
  committee's approval of the dataset still holds for everyone else. The applicant is warned next
  to the collaborators (`grantee_warnings`), and the committee sees every person's institution and
  result on the review page before it decides.
- At approval, such a person gets no permit on that dataset; the others get theirs
  (requests.services.reviews.review_decide). An unknown fact (no institution on the profile, an
  institution without the ROR id the dataset names, no country) counts as not met: consent is not
  assumed, and the committee, who sees it first, may return the application so that the person
  completes their profile.
- The decision's audit event records each withheld permit with its reasons (`withheld_json`), and
  the application page reads them back from there (`grantee_table`), so the applicant reads who
  did not qualify and why, as it was when the committee decided.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django_countries.data import COUNTRIES

from accounts.models import User
from datasets import duo
from datasets.duo_matcher import ALGORITHM_VERSION, Decision, MatchResult, Reason
from datasets.matcher_runtime import institution_labels, match_person
from datasets.models import Dataset
from portal.audit_actions import AuditAction
from portal.models import AuditEvent
from requests.models import Application, DatasetDecision, Outcome, Permit, Review

APPLICANT, COLLABORATOR = "applicant", "collaborator"
_NO_RESTRICTION = MatchResult(Decision.APPROVE, ALGORITHM_VERSION, ())


@dataclass(frozen=True)
class Person:
    """The applicant or a collaborator, with what the consent checks read."""

    role: str  # APPLICANT or COLLABORATOR
    name: str  # the account's name; the invitation's address until an account is linked
    email: str
    user: User | None  # None for an invitation no account has taken yet
    country: str  # ISO code of the country where they process the data, "" when not known

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    @property
    def institution(self):
        return self.user.institution if self.user is not None else None

    @property
    def institution_name(self) -> str:
        return self.institution.name if self.institution else ""

    @property
    def institution_kind(self) -> str:
        return self.institution.get_organisation_type_display() if self.institution else ""

    @property
    def institution_kind_code(self) -> str:
        return self.institution.organisation_type if self.institution else ""

    @property
    def institution_country(self) -> str:
        return self.institution.country.code if self.institution and self.institution.country else ""

    @property
    def institution_country_name(self) -> str:
        return COUNTRIES.get(self.institution_country, self.institution_country)

    @property
    def country_name(self) -> str:
        return COUNTRIES.get(self.country, self.country)


# The state of one person on one dataset, for the pages: before the decision (or when the dataset
# is rejected) the live check; after an approval, what the decision gave.
QUALIFIES, FAILS = "qualifies", "fails"
ISSUED, WITHHELD, NOT_GRANTED, REJECTED = "issued", "withheld", "not_granted", "rejected"


@dataclass(frozen=True)
class GranteeCheck(Person):
    """One person against one dataset's personal restrictions."""

    accession: str = ""
    result: MatchResult | None = None  # None: no account yet, so nothing to check
    outcome: str = ""  # the committee's decision on the dataset: "", approve or reject
    permit: str = ""  # after an approval: ISSUED, WITHHELD (with `recorded`) or NOT_GRANTED
    recorded: tuple[Reason, ...] = field(default=(), compare=False)

    @property
    def qualifies(self) -> bool:
        """Every personal restriction approves: only then may a permit be issued to them."""
        return self.result is not None and self.result.decision is Decision.APPROVE

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Why they do not qualify: the reasons that do not approve (recorded ones once withheld)."""
        if self.permit == WITHHELD:
            return self.recorded
        if self.result is None:
            return (Reason("", Decision.REVIEW, f"{self.email} has not joined the application yet."),)
        return tuple(r for r in self.result.reasons if r.decision is not Decision.APPROVE)

    @property
    def restricted(self) -> bool:
        """The dataset has a restriction on who may use it (so the check said something)."""
        return self.result is None or bool(self.result.reasons)

    @property
    def state(self) -> str:
        if self.outcome == Outcome.REJECT:
            return REJECTED
        if self.outcome == Outcome.APPROVE:
            return self.permit or NOT_GRANTED
        return QUALIFIES if self.qualifies else FAILS

    def to_json(self) -> dict:
        return {
            "dataset": self.accession,
            "qualifies": self.qualifies if self.permit != WITHHELD else False,
            "permit": self.permit or None,
            "reasons": [r.to_json() for r in self.reasons],
        }


@dataclass(frozen=True)
class GranteeRow:
    """One person and their check on each dataset the reader sees."""

    person: Person
    checks: tuple[GranteeCheck, ...]


def _home_country(user: User | None) -> str:
    if user is None:
        return ""
    if user.country:
        return user.country.code
    institution = user.institution
    return institution.country.code if institution is not None and institution.country else ""


def people_of(app: Application) -> list[Person]:
    """The applicant, then each collaborator (by e-mail), with the country where they process data."""
    applicant = app.applicant
    country = str((app.purpose or {}).get("country") or "") or _home_country(applicant)
    people = [Person(APPLICANT, applicant.name or applicant.email, applicant.email, applicant, country)]
    for c in app.collaborators.select_related("user__institution").order_by("email"):
        name = (c.user.name or c.email) if c.user else c.email
        people.append(Person(COLLABORATOR, name, c.email, c.user, _home_country(c.user)))
    return people


def _data_uses(datasets: Iterable[Dataset]) -> dict[str, duo.DataUse | None]:
    rows = Dataset.objects.filter(pk__in=[d.pk for d in datasets]).select_related("current_profile")
    rows = rows.prefetch_related("current_profile__diseases")
    return {d.accession: d.current_profile.as_data_use() if d.current_profile else None for d in rows}


def _checks(people: Sequence[Person], datasets: Sequence[Dataset]) -> dict[tuple[int, str], GranteeCheck]:
    """(index of the person, accession) -> the live check."""
    data_uses = _data_uses(datasets)
    labels = institution_labels([u for u in data_uses.values() if u is not None], [p.user for p in people])
    checks = {}
    for index, person in enumerate(people):
        for accession, data_use in data_uses.items():
            if person.user is None:
                result = None
            elif data_use is None:
                result = _NO_RESTRICTION
            else:
                result = match_person(data_use, person.user, country=person.country, who=person.name, labels=labels)
            checks[index, accession] = GranteeCheck(**vars(person), accession=accession, result=result)
    return checks


def grantee_checks(application: Application, dataset: Dataset) -> list[GranteeCheck]:
    """Every person of the application (the applicant first) against the dataset's personal
    restrictions, as their facts stand now: the check `review_decide` runs before each permit."""
    people = people_of(application)
    checks = _checks(people, [dataset])
    return [checks[i, dataset.accession] for i in range(len(people))]


def withheld_json(check: GranteeCheck) -> dict:
    """A withheld permit as the decision's audit event records it."""
    sub = str(check.user.sub) if check.user is not None else ""
    return {
        "person": sub,
        "email": check.email,
        "name": check.name,
        "reasons": [r.to_json() for r in check.reasons],
    }


def _withheld(app: Application) -> dict[tuple[str, str], tuple[Reason, ...]]:
    """(accession, e-mail) -> the reasons recorded when the committee withheld the permit."""
    review_ids = [str(pk) for pk in Review.objects.filter(application=app).values_list("pk", flat=True)]
    events = AuditEvent.objects.filter(
        target_type=Review._meta.label_lower, target_id__in=review_ids, action=AuditAction.REVIEW_DECIDED
    )
    recorded = {}
    for data in events.values_list("data", flat=True):
        for decision in (data or {}).get("decisions", []):
            for person in decision.get("withheld", []):
                reasons = tuple(Reason(r["term"], Decision(r["decision"]), r["message"]) for r in person["reasons"])
                recorded[decision["dataset"], person["email"]] = reasons
    return recorded


def grantee_table(app: Application, datasets: Sequence[Dataset]) -> list[GranteeRow]:
    """Each person with their check on each of `datasets` and, where the committee decided,
    what the decision gave them: a permit, or none and why (as recorded at the decision)."""
    people = people_of(app)
    checks = _checks(people, datasets)
    outcomes = dict(
        DatasetDecision.objects.filter(review__application=app, dataset__in=list(datasets)).values_list(
            "dataset__accession", "outcome"
        )
    )
    issued = set(Permit.objects.filter(application=app).values_list("grantee_id", "dataset__accession"))
    withheld = _withheld(app) if Outcome.APPROVE in outcomes.values() else {}
    rows = []
    for index, person in enumerate(people):
        row = []
        for d in datasets:
            check = checks[index, d.accession]
            outcome = outcomes.get(d.accession, "")
            permit, recorded = "", ()
            if outcome == Outcome.APPROVE:
                recorded = withheld.get((d.accession, person.email), ())
                permit = ISSUED if (person.user_id, d.accession) in issued else WITHHELD if recorded else NOT_GRANTED
            row.append(_with(check, outcome=outcome, permit=permit, recorded=recorded))
        rows.append(GranteeRow(person, tuple(row)))
    return rows


def _with(check: GranteeCheck, **changes) -> GranteeCheck:
    return GranteeCheck(**{**vars(check), **changes})


def grantee_warnings(app: Application, datasets: Sequence[Dataset] | None = None) -> dict[str, str]:
    """What the applicant is told next to the collaborators: each collaborator who would not
    receive a permit on a requested dataset (of `datasets`), and why. A warning, never a refusal
    to submit: the committee decides each dataset, and each person's permit follows their facts."""
    if datasets is None:
        datasets = [i.dataset for i in app.requested.select_related("dataset")]
    return warnings_of(grantee_table(app, datasets))


def warnings_of(rows: Iterable[GranteeRow]) -> dict[str, str]:
    """grantee_warnings from a table already built: {"collaborators": text}, or none."""
    lines = [
        f"{check.name} will not receive a permit for {check.accession}. " + " ".join(r.message for r in check.reasons)
        for row in rows
        if row.person.role == COLLABORATOR and row.person.user is not None
        for check in row.checks
        if check.state == FAILS
    ]
    if not lines:
        return {}
    note = (
        "You may still submit: the committee decides each dataset, and each person gets a permit only if they qualify."
    )
    return {"collaborators": " ".join([*lines, note])}
