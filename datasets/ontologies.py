"""Loading the bundled DUO and MONDO releases (datasets/data/) into the catalogue tables.

Idempotent: rows are compared with what is stored and only new or changed rows are written,
so a second run writes nothing."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from datasets import duo
from datasets.duo_matcher import ancestor_closure
from datasets.models import DataUseTerm, DiseaseTerm

DATA_DIR = Path(__file__).resolve().parent / "data"
DUO_CSV = DATA_DIR / f"duo-{duo.DUO_VERSION}.csv"
DUO_OWL = DATA_DIR / f"duo-{duo.DUO_VERSION}.owl"
MONDO_TSV = DATA_DIR / "mondo-2022-09-06.tsv"
MONDO_RELEASE = "2022-09-06"

_NS = {
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "obo": "http://purl.obolibrary.org/obo/",
    "oboInOwl": "http://www.geneontology.org/formats/oboInOwl#",
}
_OBSOLETE = "http://www.geneontology.org/formats/oboInOwl#ObsoleteClass"
_PERMISSION_ROOT = "DUO:0000001"
_MODIFIER_ROOT = "DUO:0000017"


@dataclass(frozen=True)
class LoadReport:
    created: int
    updated: int
    unchanged: int

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def _attr(element: ET.Element, name: str) -> str:
    prefix, local = name.split(":")
    return element.get(f"{{{_NS[prefix]}}}{local}", "")


def _text(cls: ET.Element, path: str) -> str:
    node = cls.find(path, _NS)
    return (node.text or "").strip() if node is not None else ""


def read_duo_owl(path: Path = DUO_OWL) -> dict[str, dict]:
    """DUO classes of the OWL file keyed by their `oboInOwl:id` (never by IRI: NPOA's IRI has
    one digit too many), with parents resolved to ids."""
    root = ET.parse(path).getroot()  # noqa: S314 - a bundled, trusted file
    classes = [c for c in root.findall("owl:Class", _NS) if "/obo/DUO_" in _attr(c, "rdf:about")]
    iri_to_id = {_attr(c, "rdf:about"): _text(c, "oboInOwl:id") for c in classes}
    terms = {}
    for cls in classes:
        parent_iris = [_attr(s, "rdf:resource") for s in cls.findall("rdfs:subClassOf", _NS)]
        terms[_text(cls, "oboInOwl:id")] = {
            "label": _text(cls, "rdfs:label"),
            "description": _text(cls, "obo:IAO_0000115"),
            "shorthand": _text(cls, "oboInOwl:shorthand"),
            "parents": [iri_to_id[i] for i in parent_iris if i in iri_to_id],
            "deprecated": _text(cls, "owl:deprecated") == "true" or _OBSOLETE in parent_iris,
        }
    return terms


def _duo_ancestors(term: str, terms: Mapping[str, dict]) -> set[str]:
    seen: set[str] = set()
    stack = list(terms[term]["parents"])
    while stack:
        parent = stack.pop()
        if parent not in seen:
            seen.add(parent)
            stack.extend(terms.get(parent, {}).get("parents", []))
    return seen


def duo_rows() -> list[DataUseTerm]:
    terms = read_duo_owl()
    with DUO_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            # The CSV is the release's own table of live terms: its words win.
            entry = terms.setdefault(row["id"], {"parents": [], "deprecated": False})
            entry.update(label=row["label"], description=row["description"], shorthand=row["shorthand"])
    rows = []
    for term_id, t in sorted(terms.items()):
        ancestors = _duo_ancestors(term_id, terms)
        kind = DataUseTerm.Kind.OTHER
        if _PERMISSION_ROOT in ancestors:
            kind = DataUseTerm.Kind.PERMISSION
        elif _MODIFIER_ROOT in ancestors:
            kind = DataUseTerm.Kind.MODIFIER
        rows.append(
            DataUseTerm(
                id=term_id,
                shorthand=t["shorthand"],
                label=t["label"],
                description=t["description"],
                parents=sorted(t["parents"]),
                kind=kind,
                deprecated=t["deprecated"],
                release=duo.DUO_VERSION,
            )
        )
    return rows


def read_mondo(path: Path = MONDO_TSV) -> dict[str, tuple[str, list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            row["id"]: (row["label"], [p for p in row["parents"].split("|") if p])
            for row in csv.DictReader(handle, delimiter="\t")
        }


def mondo_rows() -> list[DiseaseTerm]:
    terms = read_mondo()
    closure = ancestor_closure({k: tuple(v[1]) for k, v in terms.items()})
    return [
        DiseaseTerm(id=k, label=label, parents=sorted(parents), ancestors=sorted(closure[k]))
        for k, (label, parents) in sorted(terms.items())
    ]


def _upsert(model, rows: list, fields: list[str]) -> LoadReport:
    stored = {obj["pk"]: obj for obj in model.objects.values("pk", *fields)}
    new = [r for r in rows if r.pk not in stored]
    changed = [r for r in rows if r.pk in stored and any(getattr(r, f) != stored[r.pk][f] for f in fields)]
    model.objects.bulk_create(new, batch_size=2000)
    model.objects.bulk_update(changed, fields, batch_size=2000)
    return LoadReport(created=len(new), updated=len(changed), unchanged=len(rows) - len(new) - len(changed))


@transaction.atomic
def load_duo() -> LoadReport:
    return _upsert(
        DataUseTerm, duo_rows(), ["shorthand", "label", "description", "parents", "kind", "deprecated", "release"]
    )


@transaction.atomic
def load_mondo() -> LoadReport:
    return _upsert(DiseaseTerm, mondo_rows(), ["label", "parents", "ancestors"])
