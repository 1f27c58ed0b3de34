"""The request basket: datasets a researcher collects before filling an application."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from datasets.presenters import present_datasets
from datasets.selectors import dataset_for
from requests import basket


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)


@login_required
@require_safe
def basket_view(request: HttpRequest) -> HttpResponse:
    rows = present_datasets(basket.datasets(request))
    groups: dict = {}
    for row in rows:
        groups.setdefault(row.dataset.dac, []).append(row)
    return render(request, "requests/basket.html", {"groups": groups, "count": len(rows)})


@login_required
@require_POST
def basket_add(request: HttpRequest) -> HttpResponse:
    dataset = dataset_for(request.user, request.POST.get("accession", ""))
    if dataset is None or dataset.status != dataset.Status.PUBLISHED:
        raise Http404("No such dataset")
    basket.add(request, dataset.accession)
    messages.success(request, f"{dataset.accession} is in your request basket.")
    return _back(request, "requests:basket")


@login_required
@require_POST
def basket_remove(request: HttpRequest) -> HttpResponse:
    basket.remove(request, request.POST.get("accession", ""))
    return _back(request, "requests:basket")
