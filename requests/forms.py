"""The application form: everything is kept as typed; completeness is checked on submission."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from datasets.forms import PurposeForm


class ApplicationPurposeForm(PurposeForm):
    """The research purpose of an application. Who the applicant is and where they work come
    from the profile, not from the form."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("institution", "for_profit_organisation"):
            del self.fields[name]
        # Drafts save half-filled; submission checks completeness (and says "required" then).
        self.fields["primary"].required = False
        self.fields["primary"].needed_to_submit = True


def purpose_from_data(data, prefix: str = "purpose") -> dict[str, Any]:
    """The purpose in the API's shape from raw form data, valid or not (drafts keep everything)."""

    def value(name: str) -> str:
        return (data.get(f"{prefix}-{name}") or "").strip()

    def flag(name: str) -> bool:
        return value(name).lower() in {"on", "true", "1", "yes"}

    return {
        "primary": value("primary"),
        "diseases": [d.upper() for d in re.split(r"[\s,;]+", value("diseases")) if d],
        "methods_development": flag("methods_development"),
        "genetic_study": flag("genetic_study"),
        "population_ancestry": flag("population_ancestry"),
        "clinical_care": flag("clinical_care"),
        "commercial": flag("commercial"),
        "country": value("country").upper(),
        "project": value("project")[:200],
        "free_text": value("free_text")[:5000],
    }


def purpose_initial(purpose: dict) -> dict[str, Any]:
    initial = {k: v for k, v in purpose.items() if k != "diseases"}
    initial["diseases"] = " ".join(purpose.get("diseases", []))
    return initial


class ApplicationForm(forms.Form):
    title = forms.CharField(label="Title of the project", max_length=300, required=False)
    lay_summary = forms.CharField(
        label="Lay summary",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What you will do and why, for readers without a science background (participants read these).",
    )
    abstract = forms.CharField(label="Scientific abstract", required=False, widget=forms.Textarea(attrs={"rows": 8}))
    requested_months = forms.CharField(
        label="Length of access (months)",
        required=False,
        max_length=4,
        help_text="The committee may grant less; some datasets cap the length.",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    collaborators = forms.CharField(
        label="Collaborators (e-mail addresses, one per line)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept with the draft as you type: nobody is e-mailed until you press “Invite now” or submit. "
        "Each collaborator must then accept the data access agreements personally.",
    )
    ethics_file = forms.FileField(
        label="Ethics approval (PDF, at most 10 MB)",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )
    ethics_expires_on = forms.DateField(
        label="The ethics approval is valid until",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    NEEDED_TO_SUBMIT = ("title", "lay_summary", "abstract", "requested_months")
    ETHICS_FIELDS = ("ethics_file", "ethics_expires_on")

    def __init__(self, *args, ethics_needed: bool = False, **kwargs):
        """`ethics_needed`: a requested dataset asks for an ethics approval and none is on file, so
        the upload is needed to submit (not "optional")."""
        super().__init__(*args, **kwargs)
        needed = self.NEEDED_TO_SUBMIT + (self.ETHICS_FIELDS if ethics_needed else ())
        for name in needed:
            self.fields[name].needed_to_submit = True

    def collaborator_emails(self) -> tuple[list[str], list[str]]:
        """(valid addresses, invalid entries) from the raw text."""
        return parse_collaborators(self.data.get("collaborators", "") if self.is_bound else "")


def parse_collaborators(raw: str) -> tuple[list[str], list[str]]:
    """(valid addresses in lower case, entries that are no address) from the typed text, one
    address a line (or separated by commas, semicolons or spaces)."""
    entries = [e.strip() for e in re.split(r"[\s,;]+", raw or "") if e.strip()]
    valid, invalid = [], []
    for entry in entries:
        try:
            forms.EmailField().clean(entry)
            valid.append(entry.lower())
        except forms.ValidationError:
            invalid.append(entry)
    return valid, invalid
