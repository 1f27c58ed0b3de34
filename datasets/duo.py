"""The DUO vocabulary as the portal uses it: the terms, their parameters, the typed shapes of a
dataset's data-use profile and of a research purpose, their validation, and the sentences that
describe both to people. Pure Python: no database access, so the matcher, the API and the forms
share one definition of every term.

Labels and descriptions of terms come from the bundled DUO release (see datasets/data/); the
rules here say which terms are permissions, which take parameters, and how each reads in a
sentence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django_countries.data import COUNTRIES

DUO_VERSION = "2021-02-23"

# Permissions: exactly one per dataset.
NRES = "DUO:0000004"
GRU = "DUO:0000042"
HMB = "DUO:0000006"
DS = "DUO:0000007"
POA = "DUO:0000011"
# Modifiers.
RS = "DUO:0000012"
NMDS = "DUO:0000015"
GSO = "DUO:0000016"
NPUNCU = "DUO:0000018"
PUB = "DUO:0000019"
COL = "DUO:0000020"
IRB = "DUO:0000021"
GS = "DUO:0000022"
MOR = "DUO:0000024"
TS = "DUO:0000025"
US = "DUO:0000026"
PS = "DUO:0000027"
IS = "DUO:0000028"
RTN = "DUO:0000029"
CC = "DUO:0000043"
NPOA = "DUO:0000044"
NPU = "DUO:0000045"
NCU = "DUO:0000046"

MONDO_ROOT = "MONDO:0000001"
_MONDO_ID = re.compile(r"^MONDO:\d{7}$")
_ROR_ID = re.compile(r"^https://ror\.org/0[a-hj-km-np-tv-z0-9]{6}\d{2}$")


class Param(StrEnum):
    """The parameter a modifier takes, named as in the API's JSON."""

    COUNTRIES = "countries"
    INSTITUTIONS = "institutions"
    USERS = "users"
    PROJECT = "project"
    TOPIC = "topic"
    DATE = "date"
    MONTHS = "months"
    INVESTIGATORS = "investigators"


@dataclass(frozen=True)
class TermRule:
    shorthand: str
    kind: str  # "permission" or "modifier"
    param: Param | None = None


TERMS: dict[str, TermRule] = {
    NRES: TermRule("NRES", "permission"),
    GRU: TermRule("GRU", "permission"),
    HMB: TermRule("HMB", "permission"),
    DS: TermRule("DS", "permission"),
    POA: TermRule("POA", "permission"),
    # Modifiers in the order people read them: who may use, for what, where, then obligations.
    NPU: TermRule("NPU", "modifier"),
    NCU: TermRule("NCU", "modifier"),
    NPUNCU: TermRule("NPUNCU", "modifier"),
    NMDS: TermRule("NMDS", "modifier"),
    GSO: TermRule("GSO", "modifier"),
    NPOA: TermRule("NPOA", "modifier"),
    CC: TermRule("CC", "modifier"),
    RS: TermRule("RS", "modifier", Param.TOPIC),
    GS: TermRule("GS", "modifier", Param.COUNTRIES),
    IS: TermRule("IS", "modifier", Param.INSTITUTIONS),
    US: TermRule("US", "modifier", Param.USERS),
    PS: TermRule("PS", "modifier", Param.PROJECT),
    COL: TermRule("COL", "modifier", Param.INVESTIGATORS),
    IRB: TermRule("IRB", "modifier"),
    TS: TermRule("TS", "modifier", Param.MONTHS),
    PUB: TermRule("PUB", "modifier"),
    MOR: TermRule("MOR", "modifier", Param.DATE),
    RTN: TermRule("RTN", "modifier"),
}
PERMISSIONS = tuple(t for t, rule in TERMS.items() if rule.kind == "permission")
MODIFIERS = tuple(t for t, rule in TERMS.items() if rule.kind == "modifier")
BY_SHORTHAND = {rule.shorthand: term for term, rule in TERMS.items()}


class ProfileInvalid(ValueError):
    """A profile or purpose broke a rule; `errors` maps each field path to what is wrong."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{path}: {message}" for path, message in self.errors.items()))


# --- Shapes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Modifier:
    term: str
    countries: tuple[str, ...] = ()
    institutions: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    project: str = ""
    topic: str = ""
    date: dt.date | None = None
    months: int | None = None
    investigators: str = ""

    @property
    def shorthand(self) -> str:
        return TERMS[self.term].shorthand

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"term": self.term}
        param = TERMS[self.term].param
        if param is None:
            return data
        value = getattr(self, param.value)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        data[param.value] = value
        return data


@dataclass(frozen=True)
class DataUse:
    """A dataset's data-use profile: one permission, diseases for DS, modifiers, free text."""

    permission: str
    diseases: tuple[str, ...] = ()
    modifiers: tuple[Modifier, ...] = ()
    free_text: str = ""
    duo_version: str = DUO_VERSION

    def modifier(self, term: str) -> Modifier | None:
        return next((m for m in self.modifiers if m.term == term), None)

    def has(self, term: str) -> bool:
        return self.permission == term or self.modifier(term) is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "duo_version": self.duo_version,
            "permission": self.permission,
            "diseases": list(self.diseases),
            "modifiers": [m.to_json() for m in self.modifiers],
            "free_text": self.free_text,
        }


class Primary(StrEnum):
    DISEASE = "disease"
    HMB = "hmb"
    POPULATION_ANCESTRY = "population_ancestry"
    METHODS = "methods"
    FUNDAMENTAL_BIOLOGY = "fundamental_biology"
    CLINICAL_CARE = "clinical_care"
    OTHER = "other"


@dataclass(frozen=True)
class ResearchPurpose:
    """What the applicant means to do, in the structured form the matcher reads."""

    primary: Primary
    diseases: tuple[str, ...] = ()
    methods_development: bool = False
    commercial: bool = False
    genetic_study: bool = False
    population_ancestry: bool = False
    clinical_care: bool = False
    country: str = ""
    project: str = ""
    free_text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "primary": self.primary.value,
            "diseases": list(self.diseases),
            "methods_development": self.methods_development,
            "commercial": self.commercial,
            "genetic_study": self.genetic_study,
            "population_ancestry": self.population_ancestry,
            "clinical_care": self.clinical_care,
            "country": self.country,
            "project": self.project,
            "free_text": self.free_text,
        }


@dataclass(frozen=True)
class ApplicantFacts:
    """Facts about the applicant, not chosen per application: who, where, what kind of employer."""

    user: str = ""
    institution: str = ""
    for_profit_organisation: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "institution": self.institution,
            "for_profit_organisation": self.for_profit_organisation,
        }


# --- Parsing and validation ---------------------------------------------------------------------

KnownDiseases = Callable[[set[str]], set[str]]


@dataclass
class _Errors:
    items: dict[str, str] = field(default_factory=dict)

    def add(self, path: str, message: str) -> None:
        self.items.setdefault(path, message)

    def raise_any(self) -> None:
        if self.items:
            raise ProfileInvalid(self.items)


def _text(data: Mapping, key: str, errors: _Errors, path: str, *, required: bool = False) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(path, "must be text")
        return ""
    if required and not value.strip():
        errors.add(path, "must not be empty")
    return value.strip()


def _string_list(value: Any, errors: _Errors, path: str) -> list[str]:
    if not isinstance(value, list) or not value:
        errors.add(path, "must be a non-empty list")
        return []
    if not all(isinstance(item, str) and item.strip() for item in value):
        errors.add(path, "every item must be non-empty text")
        return []
    return [item.strip() for item in value]


def _diseases(value: Any, errors: _Errors, path: str, known: KnownDiseases) -> tuple[str, ...]:
    if value in (None, []):
        return ()
    ids = _string_list(value, errors, path)
    bad = [i for i in ids if not _MONDO_ID.match(i)]
    if bad:
        errors.add(path, f"not MONDO ids: {', '.join(bad)}")
        return ()
    unknown = sorted(set(ids) - known(set(ids)))
    if unknown:
        errors.add(path, f"unknown MONDO ids: {', '.join(unknown)}")
        return ()
    return tuple(dict.fromkeys(ids))


def _param_value(param: Param, raw: Any, errors: _Errors, path: str) -> dict[str, Any]:
    if param is Param.COUNTRIES:
        codes = [c.upper() for c in _string_list(raw, errors, path)]
        bad = [c for c in codes if c not in COUNTRIES]
        if bad:
            errors.add(path, f"not ISO 3166 country codes: {', '.join(bad)}")
        return {"countries": tuple(dict.fromkeys(codes))}
    if param is Param.INSTITUTIONS:
        rors = _string_list(raw, errors, path)
        bad = [r for r in rors if not _ROR_ID.match(r)]
        if bad:
            errors.add(path, f"not ROR ids (https://ror.org/...): {', '.join(bad)}")
        return {"institutions": tuple(dict.fromkeys(rors))}
    if param is Param.USERS:
        return {"users": tuple(dict.fromkeys(_string_list(raw, errors, path)))}
    if param is Param.MONTHS:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            errors.add(path, "must be a positive whole number of months")
            return {}
        return {"months": raw}
    if param is Param.DATE:
        try:
            return {"date": dt.date.fromisoformat(raw) if isinstance(raw, str) else _fail()}
        except ValueError:
            errors.add(path, "must be a date written YYYY-MM-DD")
            return {}
    if not isinstance(raw, str) or not raw.strip():
        errors.add(path, "must be non-empty text")
        return {}
    return {param.value: raw.strip()}


def _fail():
    raise ValueError


def _modifier(item: Any, index: int, errors: _Errors) -> Modifier | None:
    base = f"modifiers[{index}]"
    if not isinstance(item, Mapping):
        errors.add(base, 'must be an object like {"term": "DUO:0000021"}')
        return None
    term = item.get("term")
    rule = TERMS.get(term) if isinstance(term, str) else None
    if rule is None:
        errors.add(f"{base}.term", f"unknown DUO modifier: {term!r}")
        return None
    if rule.kind == "permission":
        errors.add(f"{base}.term", f"{rule.shorthand} is a permission; a dataset has exactly one permission")
        return None
    allowed = {"term"} | ({rule.param.value} if rule.param else set())
    extra = sorted(set(item) - allowed)
    if extra:
        errors.add(f"{base}.{extra[0]}", f"{rule.shorthand} takes no parameter {extra[0]!r}")
    if rule.param is None:
        return Modifier(term=term)
    if rule.param.value not in item:
        errors.add(f"{base}.{rule.param.value}", f"{rule.shorthand} needs {rule.param.value!r}")
        return None
    values = _param_value(rule.param, item[rule.param.value], errors, f"{base}.{rule.param.value}")
    return Modifier(term=term, **values) if values else None


def _permission(value: Any, errors: _Errors) -> str:
    if isinstance(value, list):
        if len(value) != 1:
            errors.add("permission", f"a dataset has exactly one permission; {len(value)} were given")
            return ""
        value = value[0]
    if not isinstance(value, str) or not value:
        errors.add("permission", "is required: one of NRES, GRU, HMB, DS, POA")
        return ""
    rule = TERMS.get(value)
    if rule is None or rule.kind != "permission":
        errors.add("permission", f"{value!r} is not a DUO permission (NRES, GRU, HMB, DS, POA)")
        return ""
    return value


def parse_data_use(data: Any, *, known_diseases: KnownDiseases) -> DataUse:
    """Validate a data-use profile in the API's JSON shape; raises ProfileInvalid naming fields."""
    errors = _Errors()
    if not isinstance(data, Mapping):
        raise ProfileInvalid({"data_use": "must be an object"})
    version = data.get("duo_version", DUO_VERSION)
    if version != DUO_VERSION:
        errors.add("duo_version", f"only DUO release {DUO_VERSION} is loaded")
    permission = _permission(data.get("permission"), errors)
    diseases = _diseases(data.get("diseases"), errors, "diseases", known_diseases)
    if permission == DS and not diseases and "diseases" not in errors.items:
        errors.add("diseases", "a disease-specific (DS) permission needs at least one MONDO disease")
    if permission and permission != DS and diseases:
        errors.add("diseases", "only a disease-specific (DS) permission takes diseases")
    raw_modifiers = data.get("modifiers") or []
    if not isinstance(raw_modifiers, list):
        errors.add("modifiers", "must be a list")
        raw_modifiers = []
    modifiers = [m for i, item in enumerate(raw_modifiers) if (m := _modifier(item, i, errors)) is not None]
    seen: set[str] = set()
    for index, mod in enumerate(modifiers):
        if mod.term in seen:
            errors.add(f"modifiers[{index}].term", f"{mod.shorthand} is given twice")
        seen.add(mod.term)
    free_text = _text(data, "free_text", errors, "free_text")
    errors.raise_any()
    ordered = tuple(sorted(modifiers, key=lambda m: MODIFIERS.index(m.term)))
    return DataUse(permission=permission, diseases=diseases, modifiers=ordered, free_text=free_text)


def _bool(data: Mapping, key: str, errors: _Errors, path: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        errors.add(path, "must be true or false")
        return False
    return value


_PURPOSE_FLAGS = ("methods_development", "commercial", "genetic_study", "population_ancestry", "clinical_care")


def parse_purpose(data: Any, *, known_diseases: KnownDiseases) -> tuple[ResearchPurpose, ApplicantFacts]:
    """Validate a research purpose in the API's JSON shape (which also carries the applicant
    facts `user`, `institution`, `for_profit_organisation`); raises ProfileInvalid."""
    errors = _Errors()
    if not isinstance(data, Mapping):
        raise ProfileInvalid({"purpose": "must be an object"})
    raw_primary = data.get("primary")
    try:
        primary = Primary(raw_primary)
    except ValueError:
        errors.add("primary", f"must be one of {', '.join(p.value for p in Primary)}")
        primary = Primary.OTHER
    diseases = _diseases(data.get("diseases"), errors, "diseases", known_diseases)
    if primary is Primary.DISEASE and not diseases and "diseases" not in errors.items:
        errors.add("diseases", "disease research needs at least one MONDO disease")
    flags = {name: _bool(data, name, errors, name) for name in _PURPOSE_FLAGS}
    country = _text(data, "country", errors, "country").upper()
    if country and country not in COUNTRIES:
        errors.add("country", f"{country!r} is not an ISO 3166 country code")
    institution = _text(data, "institution", errors, "institution")
    if institution and not _ROR_ID.match(institution):
        errors.add("institution", "must be a ROR id (https://ror.org/...)")
    for_profit = data.get("for_profit_organisation")
    if for_profit is not None and not isinstance(for_profit, bool):
        errors.add("for_profit_organisation", "must be true, false or null")
    purpose = ResearchPurpose(
        primary=primary,
        diseases=diseases,
        country=country,
        project=_text(data, "project", errors, "project"),
        free_text=_text(data, "free_text", errors, "free_text"),
        **flags,
    )
    facts = ApplicantFacts(
        user=_text(data, "user", errors, "user"), institution=institution, for_profit_organisation=for_profit
    )
    errors.raise_any()
    return purpose, facts


# --- Words ---------------------------------------------------------------------------------------


def _join(items: Iterable[str], last: str = "or") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def _country_names(codes: Iterable[str]) -> str:
    return _join([str(COUNTRIES.get(c, c)) for c in codes], "and")


def _diseases_phrase(ids: Iterable[str], labels: Mapping[str, str]) -> str:
    names = [labels.get(i, i) for i in ids]
    if len(names) == 1:
        return f"{names[0]} or its subtypes"
    return f"{', '.join(names)}, or their subtypes"


_PERMISSION_TEXT = {
    NRES: "There is no restriction on use",
    GRU: "Use is allowed for any research purpose",
    HMB: "Use is allowed for health, medical or biomedical research, not for population origins or ancestry",
    POA: "Use is limited to research on population origins or ancestry",
}

_MODIFIER_TEXT: dict[str, Callable[[Modifier, Mapping[str, str]], str]] = {
    RS: lambda m, _: f"limited to research on {m.topic}",
    NMDS: lambda m, _: "no general methods development",
    GSO: lambda m, _: "genetic studies only",
    NPUNCU: lambda m, _: "not-for-profit organisations and non-commercial use only",
    PUB: lambda m, _: "results must be published for the scientific community",
    COL: lambda m, _: f"collaboration with {m.investigators} required",
    IRB: lambda m, _: "ethics approval required",
    GS: lambda m, _: f"use only in {_country_names(m.countries)}",
    MOR: lambda m, _: f"no publication before {m.date.isoformat() if m.date else '?'}",
    TS: lambda m, _: f"use for at most {m.months} months",
    US: lambda m, _: "approved users only",
    PS: lambda m, _: f"only within the project {m.project}",
    IS: lambda m, labels: f"only at {_join([labels.get(r, r) for r in m.institutions])}",
    RTN: lambda m, _: "derived data must be returned to the resource",
    CC: lambda m, _: "clinical care use is allowed",
    NPOA: lambda m, _: "no population origins or ancestry research",
    NPU: lambda m, _: "not-for-profit organisations only",
    NCU: lambda m, _: "non-commercial use only",
}


def permission_sentence(data_use: DataUse, labels: Mapping[str, str]) -> str:
    if data_use.permission == DS:
        return f"Use is limited to research on {_diseases_phrase(data_use.diseases, labels)}"
    return _PERMISSION_TEXT[data_use.permission]


def modifier_phrase(modifier: Modifier, labels: Mapping[str, str]) -> str:
    return _MODIFIER_TEXT[modifier.term](modifier, labels)


def describe_data_use(data_use: DataUse, labels: Mapping[str, str] | None = None) -> str:
    """One sentence for people, e.g. "Use is limited to research on breast cancer or its
    subtypes; not-for-profit organisations only; ethics approval required."

    `labels` maps MONDO ids and ROR ids to names; unknown ids are shown as they are."""
    labels = labels or {}
    parts = [permission_sentence(data_use, labels)]
    parts += [modifier_phrase(m, labels) for m in data_use.modifiers]
    text = "; ".join(parts) + "."
    if data_use.free_text:
        text += f" Further conditions: {data_use.free_text}"
    return text


_PRIMARY_TEXT = {
    Primary.DISEASE: "Research on {diseases}",
    Primary.HMB: "Health, medical or biomedical research",
    Primary.POPULATION_ANCESTRY: "Research on population origins or ancestry",
    Primary.METHODS: "Development of methods (software, algorithms)",
    Primary.FUNDAMENTAL_BIOLOGY: "Fundamental biology research",
    Primary.CLINICAL_CARE: "Clinical care",
    Primary.OTHER: "Other research",
}


def describe_purpose(purpose: ResearchPurpose, labels: Mapping[str, str] | None = None) -> str:
    """One sentence for people, e.g. "Research on breast cancer; genetic study; non-commercial;
    data processed in Germany." Uses the same labels as describe_data_use."""
    labels = labels or {}
    names = _join([labels.get(i, i) for i in purpose.diseases], "and")
    first = _PRIMARY_TEXT[purpose.primary].format(diseases=names or "unnamed diseases")
    if purpose.primary is not Primary.DISEASE and purpose.diseases:
        first += f", concerning {names}"
    parts = [first]
    if purpose.methods_development and purpose.primary is not Primary.METHODS:
        parts.append("includes methods development")
    if purpose.genetic_study:
        parts.append("genetic study")
    if purpose.population_ancestry and purpose.primary is not Primary.POPULATION_ANCESTRY:
        parts.append("involves population origins or ancestry")
    if purpose.clinical_care and purpose.primary is not Primary.CLINICAL_CARE:
        parts.append("for clinical care")
    parts.append("commercial" if purpose.commercial else "non-commercial")
    if purpose.project:
        parts.append(f"project {purpose.project}")
    if purpose.country:
        parts.append(f"data processed in {_country_names([purpose.country])}")
    text = "; ".join(parts) + "."
    if purpose.free_text:
        text += f" In the applicant's words: {purpose.free_text}"
    return text
