"""What pages and the API show of a dataset's data use: codes and words from one catalogue."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from datasets import duo
from datasets.models import Dataset, DataUseProfile
from datasets.term_cache import labels_for, term_cache


@dataclass(frozen=True)
class TermView:
    id: str
    shorthand: str
    label: str
    text: str
    params: dict


@dataclass(frozen=True)
class DataUseView:
    data_use: duo.DataUse
    text: str
    permission: TermView
    diseases: tuple[tuple[str, str], ...]
    modifiers: tuple[TermView, ...]

    def to_json(self) -> dict:
        return {
            **self.data_use.to_json(),
            "text": self.text,
            "permission_term": _term_json(self.permission),
            "disease_terms": [{"id": i, "label": label} for i, label in self.diseases],
            "modifier_terms": [_term_json(m) for m in self.modifiers],
        }


def _term_json(term: TermView) -> dict:
    return {"id": term.id, "shorthand": term.shorthand, "label": term.label, "text": term.text, **term.params}


def _profile_data_use(profile: DataUseProfile) -> duo.DataUse:
    # diseases are prefetched by the callers' querysets; as_data_use() would query again.
    return duo.parse_data_use(
        {
            "duo_version": profile.duo_version,
            "permission": profile.permission_id,
            "diseases": sorted(d.id for d in profile.diseases.all()),
            "modifiers": profile.modifiers,
            "free_text": profile.free_text,
        },
        known_diseases=lambda ids: ids,
    )


def present_data_use(data_use: duo.DataUse, labels: dict[str, str]) -> DataUseView:
    info = term_cache.term(data_use.permission)
    permission = TermView(info.id, info.shorthand, info.label, duo.permission_sentence(data_use, labels), {})
    modifiers = []
    for mod in data_use.modifiers:
        term = term_cache.term(mod.term)
        params = {k: v for k, v in mod.to_json().items() if k != "term"}
        modifiers.append(TermView(term.id, term.shorthand, term.label, duo.modifier_phrase(mod, labels), params))
    return DataUseView(
        data_use=data_use,
        text=duo.describe_data_use(data_use, labels),
        permission=permission,
        diseases=tuple((d, labels.get(d, d)) for d in data_use.diseases),
        modifiers=tuple(modifiers),
    )


def present_profiles(profiles: Sequence[DataUseProfile]) -> list[DataUseView]:
    """Views of several profiles with one query for all institution names (no N+1)."""
    data_uses = [_profile_data_use(p) for p in profiles]
    labels = {d.id: d.label for p in profiles for d in p.diseases.all()}
    rors = {r for du in data_uses for m in du.modifiers for r in m.institutions}
    labels.update(labels_for(institutions=rors))
    return [present_data_use(du, labels) for du in data_uses]


@dataclass(frozen=True)
class DatasetRow:
    dataset: Dataset
    data_use: DataUseView | None


def present_datasets(datasets: Iterable[Dataset]) -> list[DatasetRow]:
    datasets = list(datasets)
    with_profile = [d for d in datasets if d.current_profile is not None]
    views = dict(
        zip((d.pk for d in with_profile), present_profiles([d.current_profile for d in with_profile]), strict=True)
    )
    return [DatasetRow(d, views.get(d.pk)) for d in datasets]
