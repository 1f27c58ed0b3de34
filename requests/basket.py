"""The request basket, kept in the session: a list of accessions, in the order added."""

from __future__ import annotations

from django.http import HttpRequest

from datasets.models import Dataset
from datasets.permissions import datasets_visible_to

SESSION_KEY = "basket"
MAX_ITEMS = 50


def accessions(request: HttpRequest) -> list[str]:
    return list(request.session.get(SESSION_KEY, []))


def add(request: HttpRequest, accession: str) -> None:
    items = accessions(request)
    if accession not in items and len(items) < MAX_ITEMS:
        request.session[SESSION_KEY] = [*items, accession]


def remove(request: HttpRequest, accession: str) -> None:
    request.session[SESSION_KEY] = [a for a in accessions(request) if a != accession.upper()]


def datasets(request: HttpRequest) -> list[Dataset]:
    """The basket's datasets that the user may still see and request, in the order added."""
    items = accessions(request)
    found = {
        d.accession: d
        for d in datasets_visible_to(request.user)
        .filter(accession__in=items, status=Dataset.Status.PUBLISHED)
        .with_profile()
    }
    return [found[a] for a in items if a in found]
