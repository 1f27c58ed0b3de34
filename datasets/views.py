"""Pages of the catalogue: search, dataset, committee and its policy, data-use editor and history,
and the credits of the ontologies it is built from."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from datasets import duo, services
from datasets.forms import CatalogueFilterForm, DacPolicyForm, DataUseForm, PurposeForm
from datasets.matcher_runtime import facts_for, match_purpose
from datasets.models import DacMembership, DataAccessCommittee, DataUseProfile, DataUseTerm, DiseaseTerm
from datasets.ontologies import MONDO_RELEASE
from datasets.permissions import datasets_visible_to, may_manage_committee, may_manage_dataset
from datasets.presenters import present_data_use, present_datasets, present_profiles
from datasets.selectors import CatalogueFilters, catalogue_search, dataset_for
from datasets.term_cache import labels_for
from portal.exceptions import InvalidInput, NotAllowed
from portal.input_guard import forms_refuse_nul

PAGE_SIZE = 20


@forms_refuse_nul
@require_safe
def catalogue(request: HttpRequest) -> HttpResponse:
    form = CatalogueFilterForm(request.GET or None)
    filters = CatalogueFilters(**form.cleaned_data) if form.is_valid() else CatalogueFilters()
    results = catalogue_search(request.user, filters) if not form.errors else datasets_visible_to(request.user).none()
    page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "rows": present_datasets(page.object_list), "query": query.urlencode()}
    return render(request, "datasets/catalogue.html", context, status=400 if form.errors else 200)


def _dataset_or_404(request: HttpRequest, accession: str):
    dataset = dataset_for(request.user, accession)
    if dataset is None:
        raise Http404("No such dataset")
    return dataset


@require_safe
def dataset_detail(request: HttpRequest, accession: str) -> HttpResponse:
    dataset = _dataset_or_404(request, accession)
    row = present_datasets([dataset])[0]
    context = {
        "dataset": dataset,
        "data_use": row.data_use,
        "may_manage": may_manage_dataset(request.user, dataset),
        "in_basket": dataset.accession in request.session.get("basket", []),
    }
    return render(request, "datasets/detail.html", context)


@forms_refuse_nul
@login_required
@require_http_methods(["GET", "POST"])
def edit_data_use(request: HttpRequest, accession: str) -> HttpResponse:
    dataset = _dataset_or_404(request, accession)
    if not may_manage_dataset(request.user, dataset):
        raise PermissionDenied("Only the committee's chair or secretary may change the data use.")
    current = present_profiles([dataset.current_profile])[0] if dataset.current_profile else None
    initial = DataUseForm.initial_from(current.data_use) if current else {}
    form = DataUseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            profile = services.dataset_profile_change(
                dataset=dataset,
                data_use=form.cleaned_data["data_use"],
                note=form.cleaned_data["change_note"],
                actor=request.user,
            )
        except services.NoChange as unchanged:
            form.add_error(None, str(unchanged))
        else:
            messages.success(request, f"Data use saved as version {profile.version}.")
            return redirect("datasets:data_use_history", accession=dataset.accession)
    preview = present_data_use(form.cleaned_data["data_use"], {}) if form.is_bound and form.is_valid() else None
    context = {"dataset": dataset, "form": form, "current": current, "preview": preview}
    return render(request, "datasets/edit_data_use.html", context, status=400 if form.errors else 200)


@login_required
@require_safe
def data_use_history(request: HttpRequest, accession: str) -> HttpResponse:
    dataset = _dataset_or_404(request, accession)
    if not may_manage_dataset(request.user, dataset):
        raise PermissionDenied("Only the committee's chair or secretary may see the history of the data use.")
    versions = list(
        DataUseProfile.objects.filter(dataset=dataset)
        .select_related("permission", "created_by")
        .prefetch_related("diseases")
        .order_by("-version")
    )
    rows = list(zip(versions, present_profiles(versions), strict=True))
    return render(request, "datasets/history.html", {"dataset": dataset, "rows": rows})


@forms_refuse_nul
@require_safe
def check_purpose(request: HttpRequest) -> HttpResponse:
    """Anyone describes a research purpose and sees, per DUO term, whether it fits a dataset."""
    datasets = list(datasets_visible_to(request.user).published().with_profile().order_by("accession"))
    chosen = next((d for d in datasets if d.accession == request.GET.get("dataset", "").upper()), None)
    bound = "primary" in request.GET
    form = PurposeForm(request.GET if bound else None, initial=_facts_initial(request.user))
    result = purpose_text = None
    if bound and chosen is None:
        form.add_error(None, "Choose a dataset to check against.")
    if bound and chosen is not None and form.is_valid():
        data_use = present_datasets([chosen])[0].data_use
        purpose = form.cleaned_data["purpose"]
        result = match_purpose(data_use.data_use, purpose, form.cleaned_data["facts"])
        purpose_text = duo.describe_purpose(purpose, labels_for(diseases=purpose.diseases))
    context = {
        "form": form,
        "datasets": datasets,
        "chosen": chosen,
        "result": result,
        "purpose_text": purpose_text,
        "data_use": present_datasets([chosen])[0].data_use if chosen else None,
    }
    return render(request, "datasets/check.html", context, status=400 if form.errors else 200)


def _facts_initial(user) -> dict:
    facts = facts_for(user)
    initial = {"institution": facts.institution, "country": getattr(user, "country", "") or ""}
    if facts.for_profit_organisation is not None:
        initial["for_profit_organisation"] = "yes" if facts.for_profit_organisation else "no"
    return initial


@require_safe
def disease_autocomplete(request: HttpRequest) -> JsonResponse:
    """Up to 20 MONDO terms whose id or label matches `q`, shortest labels first."""
    q = request.GET.get("q", "").strip()
    if len(q) < 2:
        return JsonResponse({"results": []})
    condition = Q(label__icontains=q) | Q(id__iexact=q) | Q(id__iexact=f"MONDO:{q}")
    terms = DiseaseTerm.objects.filter(condition).order_by("label").values_list("id", "label")[:200]
    ranked = sorted(terms, key=lambda t: (not t[1].lower().startswith(q.lower()), len(t[1]), t[1]))[:20]
    return JsonResponse({"results": [{"id": i, "label": label} for i, label in ranked]})


@require_safe
def dac_list(request: HttpRequest) -> HttpResponse:
    dacs = DataAccessCommittee.objects.order_by("name")
    visible = datasets_visible_to(request.user).order_by()
    counts = dict(visible.values("dac").annotate(n=Count("pk")).values_list("dac", "n"))
    return render(request, "datasets/dac_list.html", {"rows": [(dac, counts.get(dac.pk, 0)) for dac in dacs]})


@require_safe
def dac_detail(request: HttpRequest, slug: str) -> HttpResponse:
    members = Prefetch(
        "memberships", queryset=DacMembership.objects.select_related("user").order_by("role", "user__name")
    )
    dac = get_object_or_404(DataAccessCommittee.objects.prefetch_related(members), slug=slug)
    datasets = datasets_visible_to(request.user).filter(dac=dac).with_profile().order_by("accession")
    context = {
        "dac": dac,
        "rows": present_datasets(datasets),
        "may_edit_policy": may_manage_committee(request.user, dac),
    }
    return render(request, "datasets/dac_detail.html", context)


@forms_refuse_nul
@login_required
@require_http_methods(["GET", "POST"])
def dac_policy(request: HttpRequest, slug: str) -> HttpResponse:
    """The committee's chair or secretary sets quorum, permit lengths and automatic approval."""
    dac = get_object_or_404(DataAccessCommittee, slug=slug)
    if not may_manage_committee(request.user, dac):
        raise PermissionDenied("Only the committee's chair or secretary may change its policy.")
    initial = {name: getattr(dac, name) for name in services.POLICY_FIELDS}
    form = DacPolicyForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_bound and form.is_valid():
        try:
            services.dac_policy_update(dac=dac, actor=request.user, **form.cleaned_data)
        except InvalidInput as invalid:
            for name, message in invalid.extra.get("fields", {}).items():
                form.add_error(name if name in form.fields else None, message)
        except NotAllowed as refused:
            raise PermissionDenied(refused.message) from refused
        else:
            messages.success(request, "The committee's policy is saved.")
            return redirect("datasets:dac_detail", slug=dac.slug)
    return render(request, "datasets/dac_policy.html", {"dac": dac, "form": form}, status=400 if form.errors else 200)


@require_safe
def about_data(request: HttpRequest) -> HttpResponse:
    """Credits the ontologies the catalogue is built from, with their releases and licences."""
    context = {
        "duo_version": duo.DUO_VERSION,
        "mondo_release": MONDO_RELEASE,
        "duo_count": DataUseTerm.objects.count(),
        "mondo_count": DiseaseTerm.objects.count(),
        "terms": DataUseTerm.objects.filter(kind__in=["permission", "modifier"], deprecated=False).order_by(
            "kind", "id"
        ),
    }
    return render(request, "datasets/about_data.html", context)
