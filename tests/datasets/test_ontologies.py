import csv

import pytest
from django.core.management import call_command

from datasets.duo_matcher import ancestor_closure
from datasets.models import DataUseTerm, DiseaseTerm
from datasets.ontologies import DUO_CSV, load_duo, load_mondo

pytestmark = pytest.mark.django_db


def test_every_duo_term_of_the_release_is_loaded_with_its_words(ontologies):
    with DUO_CSV.open() as handle:
        live = list(csv.DictReader(handle))
    for row in live:
        term = DataUseTerm.objects.get(pk=row["id"])
        assert (term.shorthand, term.label, term.description) == (row["shorthand"], row["label"], row["description"])
        assert not term.deprecated
    # The OWL file adds the deprecated terms and the research categories the CSV leaves out.
    assert DataUseTerm.objects.count() == 39
    assert DataUseTerm.objects.get(pk="DUO:0000005").deprecated
    assert set(DataUseTerm.objects.filter(kind="permission").values_list("shorthand", flat=True)) == {
        "NRES",
        "GRU",
        "HMB",
        "DS",
        "POA",
    }


def test_duo_hierarchy_comes_from_the_owl_file(ontologies):
    parents = dict(DataUseTerm.objects.values_list("id", "parents"))
    assert parents["DUO:0000006"] == ["DUO:0000042"]  # HMB under GRU
    assert parents["DUO:0000007"] == ["DUO:0000006"]  # DS under HMB
    assert parents["DUO:0000045"] == ["DUO:0000018"]  # NPU under NPUNCU
    assert parents["DUO:0000046"] == ["DUO:0000018"]  # NCU under NPUNCU
    # NPOA's IRI in the OWL file has eight digits; it is keyed by its id all the same.
    assert DataUseTerm.objects.get(pk="DUO:0000044").kind == "modifier"


def test_all_mondo_terms_are_loaded_with_their_ancestor_closure(ontologies):
    assert DiseaseTerm.objects.count() == 22382
    breast = DiseaseTerm.objects.get(pk="MONDO:0007254")
    assert breast.label == "breast cancer"
    assert "MONDO:0004992" in breast.ancestors  # cancer
    assert "MONDO:0000001" in breast.ancestors  # the root
    assert DiseaseTerm.objects.get(pk="MONDO:0000001").ancestors == []


def test_loading_twice_changes_nothing(ontologies):
    before = list(DiseaseTerm.objects.order_by("pk").values_list("pk", "label", "parents", "ancestors"))
    duo_before = list(DataUseTerm.objects.order_by("pk").values())
    assert (load_duo().created, load_duo().updated) == (0, 0)
    report = load_mondo()
    assert (report.created, report.updated, report.unchanged) == (0, 0, 22382)
    assert list(DiseaseTerm.objects.order_by("pk").values_list("pk", "label", "parents", "ancestors")) == before
    assert list(DataUseTerm.objects.order_by("pk").values()) == duo_before


def test_the_command_reports_what_it_did(ontologies, capsys):
    call_command("load_ontologies")
    out = capsys.readouterr().out
    assert "DUO 2021-02-23: 0 created, 0 updated, 39 unchanged" in out
    assert "MONDO 2022-09-06: 0 created, 0 updated, 22382 unchanged" in out


def test_a_changed_label_is_put_right_by_the_next_load(ontologies):
    DiseaseTerm.objects.filter(pk="MONDO:0007254").update(label="tampered")
    report = load_mondo()
    assert report.updated == 1
    assert DiseaseTerm.objects.get(pk="MONDO:0007254").label == "breast cancer"


def test_closure_follows_every_parent():
    closure = ancestor_closure({"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c"), "e": ("d",)})
    assert closure["e"] == {"a", "b", "c", "d"}
    assert closure["a"] == frozenset()
