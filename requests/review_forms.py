"""Forms of the committee's pages. They parse and keep what was typed; the rules (who may vote,
what a decision needs) are the services', whose errors are put back next to these fields."""

from __future__ import annotations

from django import forms

from portal.exceptions import InvalidInput
from requests.models import ReviewNote, ReviewStatus, VoteChoice
from requests.selectors.committee import ALL, InboxFilters

STATUS_CHOICES = [*ReviewStatus.choices, (ALL, "All")]
WAITING_CHOICES = [("", "Any time"), ("7", "More than 7 days"), ("30", "More than 30 days")]
MATCHER_CHOICES = [
    ("", "Any"),
    ("approve", "Approve (consent fits)"),
    ("review", "Review (needs the committee)"),
    ("deny", "Deny (consent does not fit)"),
]
SORT_CHOICES = [("oldest", "Oldest first"), ("newest", "Newest first")]


class InboxFilterForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, widget=forms.HiddenInput)
    dac = forms.ChoiceField(label="Committee", required=False)
    dataset = forms.ChoiceField(label="Dataset", required=False)
    waiting = forms.ChoiceField(label="Waiting", choices=WAITING_CHOICES, required=False)
    matcher = forms.ChoiceField(
        label="Matcher decision",
        choices=MATCHER_CHOICES,
        required=False,
        help_text="Reviews with at least one dataset the matcher answered so.",
    )
    sort = forms.ChoiceField(label="Order", choices=SORT_CHOICES, required=False)

    def __init__(self, data, *, dacs: list[tuple[str, str]], datasets: list[tuple[str, str]]):
        super().__init__(data)
        self.fields["dac"].choices = [("", "All my committees"), *dacs]
        self.fields["dataset"].choices = [("", "Any"), *((a, f"{a} {title}") for a, title in datasets)]
        if len(dacs) < 2:
            # One committee: the choice would be empty words.
            del self.fields["dac"]

    def filters(self) -> InboxFilters:
        data = self.cleaned_data
        return InboxFilters(
            status=data.get("status") or ReviewStatus.PENDING,
            dac=data.get("dac", ""),
            dataset=data.get("dataset", ""),
            waiting_days=int(data["waiting"]) if data.get("waiting") else None,
            matcher=data.get("matcher", ""),
            newest_first=data.get("sort") == "newest",
        )


class VoteForm(forms.Form):
    choice = forms.ChoiceField(label="Your vote", choices=VoteChoice.choices, required=False, widget=forms.RadioSelect)
    comment = forms.CharField(
        label="Comment for the committee",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only the committee reads votes and their comments; the applicant never does.",
    )
    conflict_of_interest = forms.BooleanField(required=False, widget=forms.HiddenInput)


class NoteForm(forms.Form):
    kind = forms.ChoiceField(choices=ReviewNote.Kind.choices, widget=forms.HiddenInput)
    text = forms.CharField(required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3}))

    TEXT_LABELS = {
        ReviewNote.Kind.DISCUSSION: "Add to the discussion (the committee only)",
        ReviewNote.Kind.TO_APPLICANT: "Message to the applicant (sent by e-mail and shown on their application)",
    }

    def __init__(self, *args, kind: str = ReviewNote.Kind.DISCUSSION, **kwargs):
        kwargs.setdefault("initial", {"kind": kind})
        kwargs.setdefault("auto_id", f"id_{kind}_%s")
        super().__init__(*args, **kwargs)
        self.fields["text"].label = self.TEXT_LABELS.get(kind, "Text")
        # Not required by the form, so that the service's own words say what is missing; not
        # "(optional)" either.
        self.fields["text"].needed_to_submit = True


class ReturnForm(forms.Form):
    message = forms.CharField(
        label="What the applicant should change",
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The application goes back to the applicant as editable; they resubmit it for a new round.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["message"].needed_to_submit = True


def add_service_errors(form: forms.Form, invalid: InvalidInput, aliases: dict[str, str] | None = None) -> None:
    """Put a service's InvalidInput next to the fields it names (`aliases` maps the service's
    field names to the form's); anything else goes above the form."""
    fields = invalid.extra.get("fields") or {}
    placed = False
    for key in fields:
        name = (aliases or {}).get(key, key)
        if name in form.fields:
            form.add_error(name, invalid.message)
            placed = True
    if not placed:
        form.add_error(None, invalid.message)
