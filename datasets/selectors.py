"""Reads of the catalogue that encode rules: search and filters shared by pages and the API."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from datasets import duo
from datasets.models import Dataset, DiseaseTerm
from datasets.permissions import datasets_visible_to


@dataclass(frozen=True)
class CatalogueFilters:
    q: str = ""
    permission: str = ""  # a DUO id or shorthand
    disease: str = ""  # a MONDO id: matches it and all its descendants
    dac: str = ""  # committee slug
    node: str = ""  # node slug
    country: str = ""  # ISO code of a hosting node


def _permission_id(value: str) -> str:
    value = value.strip()
    return duo.BY_SHORTHAND.get(value.upper(), value)


def catalogue_search(user, filters: CatalogueFilters) -> QuerySet[Dataset]:
    """Datasets `user` may see that pass every filter, in accession order. All conditions go
    into one filter() so that conditions across relations are not widened (docs/conventions.md, "Selectors")."""
    conditions = Q()
    if filters.q.strip():
        text = filters.q.strip()
        conditions &= Q(title__icontains=text) | Q(description__icontains=text) | Q(accession__iexact=text)
    if filters.permission:
        conditions &= Q(current_profile__permission_id=_permission_id(filters.permission))
    if filters.disease:
        disease = filters.disease.strip().upper()
        matching = DiseaseTerm.objects.filter(Q(id=disease) | Q(ancestors__contains=[disease])).values("id")
        conditions &= Q(pk__in=Dataset.objects.filter(current_profile__diseases__in=matching).values("pk"))
    if filters.dac:
        conditions &= Q(dac__slug=filters.dac)
    if filters.node:
        conditions &= Q(pk__in=Dataset.objects.filter(nodes__slug=filters.node).values("pk"))
    if filters.country:
        country = filters.country.upper()
        conditions &= Q(pk__in=Dataset.objects.filter(nodes__country=country).values("pk"))
    return datasets_visible_to(user).filter(conditions).with_profile().order_by("accession")


def dataset_for(user, accession: str) -> Dataset | None:
    """The dataset if `user` may see it; None otherwise (callers answer 404 either way)."""
    return datasets_visible_to(user).with_profile().filter(accession=accession.upper()).first()
