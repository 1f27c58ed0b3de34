"""The term cache: DUO terms and the MONDO ancestor closure held in memory per process, which the
matcher reads. Loaded once on first use; `load_ontologies` clears it."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from datasets import duo


@dataclass(frozen=True)
class TermInfo:
    id: str
    shorthand: str
    label: str
    description: str
    deprecated: bool


class TermCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._terms: dict[str, TermInfo] | None = None
        self._ancestors: dict[str, frozenset[str]] | None = None

    def clear(self) -> None:
        with self._lock:
            self._terms = None
            self._ancestors = None

    def terms(self) -> dict[str, TermInfo]:
        if self._terms is None:
            from datasets.models import DataUseTerm

            rows = DataUseTerm.objects.values_list("id", "shorthand", "label", "description", "deprecated")
            with self._lock:
                self._terms = {r[0]: TermInfo(*r) for r in rows}
        return self._terms

    def ancestors(self) -> Mapping[str, frozenset[str]]:
        """MONDO id -> all its ancestors; about 22,000 entries, loaded once."""
        if self._ancestors is None:
            from datasets.models import DiseaseTerm

            rows = DiseaseTerm.objects.values_list("id", "ancestors").iterator(chunk_size=5000)
            closure = {term: frozenset(ancestors) for term, ancestors in rows}
            with self._lock:
                self._ancestors = closure
        return self._ancestors

    def term(self, term_id: str) -> TermInfo:
        info = self.terms().get(term_id)
        if info is None:
            rule = duo.TERMS.get(term_id)
            return TermInfo(term_id, rule.shorthand if rule else "", term_id, "", False)
        return info


term_cache = TermCache()


def known_diseases(ids: set[str]) -> set[str]:
    """The subset of `ids` that are MONDO terms of the loaded release."""
    from datasets.models import DiseaseTerm

    return set(DiseaseTerm.objects.filter(id__in=ids).values_list("id", flat=True)) if ids else set()


def labels_for(*, diseases: Iterable[str] = (), institutions: Iterable[str] = ()) -> dict[str, str]:
    """Names for MONDO ids and ROR ids, for the sentences of duo.describe_*."""
    from accounts.models import Institution
    from datasets.models import DiseaseTerm

    labels: dict[str, str] = {}
    diseases, institutions = set(diseases), set(institutions)
    if diseases:
        labels.update(DiseaseTerm.objects.filter(id__in=diseases).values_list("id", "label"))
    if institutions:
        labels.update(Institution.objects.filter(ror_id__in=institutions).values_list("ror_id", "name"))
    return labels


def data_use_labels(data_use: duo.DataUse) -> dict[str, str]:
    rors = [r for m in data_use.modifiers for r in m.institutions]
    return labels_for(diseases=data_use.diseases, institutions=rors)
