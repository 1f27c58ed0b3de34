"""Forms of the catalogue: the search filters and the data-use profile editor."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django_countries import countries

from datasets import duo
from datasets.models import DataAccessCommittee, DataNode
from datasets.term_cache import known_diseases

PERMISSION_CHOICES = [(duo.NRES, "NRES"), (duo.GRU, "GRU"), (duo.HMB, "HMB"), (duo.DS, "DS"), (duo.POA, "POA")]


class CatalogueFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    permission = forms.ChoiceField(label="Data use permission", required=False)
    disease = forms.CharField(
        label="Disease (includes its subtypes)",
        required=False,
        max_length=16,
        help_text="A MONDO id, e.g. MONDO:0004992 for cancer; start typing a name to pick one.",
        widget=forms.TextInput(attrs={"data-mondo-autocomplete": "single", "autocomplete": "off"}),
    )
    dac = forms.ChoiceField(label="Committee", required=False)
    node = forms.ChoiceField(label="Data node", required=False)
    country = forms.ChoiceField(label="Hosted in", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["permission"].choices = [("", "Any")] + [(s, s) for _, s in PERMISSION_CHOICES]
        self.fields["dac"].choices = [("", "Any"), *list(DataAccessCommittee.objects.values_list("slug", "name"))]
        nodes = list(DataNode.objects.values_list("slug", "name", "country"))
        self.fields["node"].choices = [("", "Any")] + [(slug, name) for slug, name, _ in nodes]
        codes = sorted({c for *_, c in nodes})
        self.fields["country"].choices = [("", "Any")] + [(c, countries.name(c)) for c in codes]

    def clean_disease(self) -> str:
        value = self.cleaned_data["disease"].strip().upper()
        if value and not re.fullmatch(r"MONDO:\d{7}", value):
            raise forms.ValidationError("Enter a MONDO id like MONDO:0004992, or pick a disease from the list.")
        if value and not known_diseases({value}):
            raise forms.ValidationError(f"{value} is not a MONDO disease of the loaded release.")
        return value


class SinglePermissionWidget(forms.RadioSelect):
    """Radio buttons that still report every submitted value, so a request carrying two
    permissions is refused instead of silently keeping the last one."""

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)


class PermissionField(forms.Field):
    widget = SinglePermissionWidget

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget.choices = PERMISSION_CHOICES

    def to_python(self, value: Any) -> list[str]:
        if value in (None, "", []):
            return []
        return [value] if isinstance(value, str) else list(value)

    def validate(self, value: list[str]) -> None:
        if not value:
            raise forms.ValidationError("Choose the dataset's data use permission.", code="required")
        if len(value) > 1:
            raise forms.ValidationError(
                f"A dataset has exactly one data use permission; {len(value)} were chosen.", code="two_permissions"
            )


_PARAM_WIDGETS = {
    duo.Param.COUNTRIES: ("Countries (ISO codes, e.g. FI, SE)", forms.TextInput),
    duo.Param.INSTITUTIONS: ("Institutions (ROR ids, one per line)", forms.Textarea),
    duo.Param.USERS: ("Approved users (researcher ids or e-mails, one per line)", forms.Textarea),
    duo.Param.PROJECT: ("Project", forms.TextInput),
    duo.Param.TOPIC: ("Research topic", forms.TextInput),
    duo.Param.DATE: ("No publication before (YYYY-MM-DD)", forms.DateInput),
    duo.Param.MONTHS: ("Months", forms.TextInput),
    duo.Param.INVESTIGATORS: ("Investigators to collaborate with", forms.TextInput),
}


def _split(value: str) -> list[str]:
    return [item for item in re.split(r"[\s,;]+", value or "") if item]


class DataUseForm(forms.Form):
    """Edits one data-use profile. Validation is duo.parse_data_use's, so the form refuses
    exactly what the API refuses, with each message next to the field it names."""

    permission = PermissionField(label="Data use permission")
    diseases = forms.CharField(
        label="Diseases (for DS)",
        required=False,
        help_text="MONDO ids separated by spaces or commas; type a disease name to search.",
        widget=forms.TextInput(attrs={"data-mondo-autocomplete": "multiple", "autocomplete": "off"}),
    )
    free_text = forms.CharField(
        label="Further conditions in words", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    change_note = forms.CharField(
        label="Reason for the change", max_length=500, help_text="Kept in the history with your name."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for term in duo.MODIFIERS:
            rule = duo.TERMS[term]
            self.fields[f"mod_{rule.shorthand}"] = forms.BooleanField(required=False, label=rule.shorthand)
            if rule.param:
                label, widget = _PARAM_WIDGETS[rule.param]
                attrs = {"rows": 2} if widget is forms.Textarea else {}
                self.fields[f"param_{rule.shorthand}"] = forms.CharField(
                    label=label, required=False, widget=widget(attrs=attrs)
                )

    @staticmethod
    def initial_from(data_use: duo.DataUse) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "permission": [data_use.permission],
            "diseases": " ".join(data_use.diseases),
            "free_text": data_use.free_text,
        }
        for mod in data_use.modifiers:
            initial[f"mod_{mod.shorthand}"] = True
            param = duo.TERMS[mod.term].param
            if param is not None:
                value = mod.to_json()[param.value]
                separator = ", " if param is duo.Param.COUNTRIES else "\n"
                initial[f"param_{mod.shorthand}"] = separator.join(value) if isinstance(value, list) else value
        return initial

    def modifier_rows(self) -> list[dict[str, Any]]:
        from datasets.term_cache import term_cache

        rows = []
        for term in duo.MODIFIERS:
            short = duo.TERMS[term].shorthand
            rows.append(
                {
                    "term": term,
                    "label": term_cache.term(term).label,
                    "checkbox": self[f"mod_{short}"],
                    "param": self[f"param_{short}"] if f"param_{short}" in self.fields else None,
                }
            )
        return rows

    def _param_json(self, rule: duo.TermRule, raw: str) -> Any:
        if rule.param in (duo.Param.COUNTRIES, duo.Param.INSTITUTIONS, duo.Param.USERS):
            return _split(raw)
        if rule.param is duo.Param.MONTHS:
            return int(raw) if raw.strip().isdigit() else raw
        return raw

    def _as_json(self) -> tuple[dict[str, Any], list[str]]:
        data = self.cleaned_data
        modifiers, order = [], []
        for term in duo.MODIFIERS:
            rule = duo.TERMS[term]
            if not data.get(f"mod_{rule.shorthand}"):
                continue
            item: dict[str, Any] = {"term": term}
            if rule.param:
                item[rule.param.value] = self._param_json(rule, data.get(f"param_{rule.shorthand}", ""))
            modifiers.append(item)
            order.append(rule.shorthand)
        permission = data.get("permission") or []
        body = {
            "permission": permission[0] if len(permission) == 1 else permission,
            "diseases": [d.upper() for d in _split(data.get("diseases", ""))],
            "modifiers": modifiers,
            "free_text": data.get("free_text", ""),
        }
        return body, order

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "permission" in self.errors:
            return cleaned
        body, order = self._as_json()
        try:
            cleaned["data_use"] = duo.parse_data_use(body, known_diseases=known_diseases)
        except duo.ProfileInvalid as invalid:
            for path, message in invalid.errors.items():
                self.add_error(self._field_for(path, order), message[0].upper() + message[1:] + ".")
        return cleaned

    def _field_for(self, path: str, order: list[str]) -> str | None:
        match = re.match(r"modifiers\[(\d+)\](?:\.(\w+))?", path)
        if match:
            short = order[int(match.group(1))]
            param = f"param_{short}"
            return param if match.group(2) not in (None, "term") and param in self.fields else f"mod_{short}"
        return path if path in self.fields else None


PRIMARY_CHOICES = [
    (duo.Primary.DISEASE.value, "Research on specific diseases"),
    (duo.Primary.HMB.value, "Health, medical or biomedical research in general"),
    (duo.Primary.POPULATION_ANCESTRY.value, "Population origins or ancestry"),
    (duo.Primary.METHODS.value, "Methods development (software, algorithms)"),
    (duo.Primary.FUNDAMENTAL_BIOLOGY.value, "Fundamental biology"),
    (duo.Primary.CLINICAL_CARE.value, "Clinical care"),
    (duo.Primary.OTHER.value, "Something else"),
]
FOR_PROFIT_CHOICES = [
    ("", "Not stated"),
    ("no", "Non-profit (university, hospital, public institute)"),
    ("yes", "For-profit (company)"),
]


class PurposeForm(forms.Form):
    """A research purpose in the structured form the matcher reads, validated by
    duo.parse_purpose so that page and API refuse the same things."""

    primary = forms.ChoiceField(label="What is the research about?", choices=PRIMARY_CHOICES, widget=forms.RadioSelect)
    diseases = forms.CharField(
        label="Diseases studied",
        required=False,
        help_text="MONDO ids separated by spaces; type a disease name to search.",
        widget=forms.TextInput(attrs={"data-mondo-autocomplete": "multiple", "autocomplete": "off"}),
    )
    methods_development = forms.BooleanField(label="The work develops new methods or software", required=False)
    genetic_study = forms.BooleanField(label="It is a genetic study (genotypes are analysed)", required=False)
    population_ancestry = forms.BooleanField(label="It involves population origins or ancestry", required=False)
    clinical_care = forms.BooleanField(label="Results are used in the clinical care of patients", required=False)
    commercial = forms.BooleanField(label="The purpose is commercial", required=False)
    country = forms.ChoiceField(label="Country where the data is processed", required=False)
    project = forms.CharField(label="Project name", required=False, max_length=200)
    institution = forms.CharField(
        label="Institution (ROR id)", required=False, max_length=64, help_text="e.g. https://ror.org/040af2s02"
    )
    for_profit_organisation = forms.ChoiceField(label="Your organisation", choices=FOR_PROFIT_CHOICES, required=False)
    free_text = forms.CharField(
        label="Anything the structured answers do not cover",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Free text always goes to the committee for review.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", "(not stated)"), *list(countries)]

    def _as_json(self) -> dict[str, Any]:
        data = self.cleaned_data
        for_profit = {"yes": True, "no": False}.get(data.get("for_profit_organisation") or "")
        return {
            "primary": data.get("primary"),
            "diseases": [d.upper() for d in _split(data.get("diseases", ""))],
            **{
                k: bool(data.get(k))
                for k in ("methods_development", "genetic_study", "population_ancestry", "clinical_care", "commercial")
            },
            "country": data.get("country") or "",
            "project": data.get("project", ""),
            "institution": data.get("institution", "").strip(),
            "for_profit_organisation": for_profit,
            "free_text": data.get("free_text", ""),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "primary" in self.errors:
            return cleaned
        try:
            cleaned["purpose"], cleaned["facts"] = duo.parse_purpose(self._as_json(), known_diseases=known_diseases)
        except duo.ProfileInvalid as invalid:
            for path, message in invalid.errors.items():
                self.add_error(path if path in self.fields else None, message[0].upper() + message[1:] + ".")
        return cleaned


class DacPolicyForm(forms.Form):
    """A committee's review policy. The service checks the same rules; the form says them next
    to the fields."""

    quorum = forms.IntegerField(
        label="Quorum (votes)",
        min_value=1,
        max_value=100,
        help_text="Votes needed before the chair may decide. A member who declares a conflict of interest is out of "
        "the quorum; when fewer members can vote, all of them are needed.",
    )
    default_permit_months = forms.IntegerField(
        label="Default permit length (months)",
        min_value=1,
        max_value=120,
        help_text="Proposed to the chair for each approval; never longer than the applicant asked for.",
    )
    max_permit_months = forms.IntegerField(
        label="Longest permit (months)",
        min_value=1,
        max_value=120,
        help_text="A dataset whose consent limits the time (DUO TS) may cap it further.",
    )
    auto_approve = forms.BooleanField(
        label="Approve automatically when the consent clearly fits",
        required=False,
        help_text="Without a vote, for datasets that are GRU or HMB without modifiers, when the matcher approves a "
        "purpose that has no free text. Everything else is still reviewed.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        default, longest = data.get("default_permit_months"), data.get("max_permit_months")
        if default is not None and longest is not None and default > longest:
            self.add_error(
                "default_permit_months", f"The default cannot be longer than the longest permit ({longest} months)."
            )
        return data
