"""The typed data-use profile: what is refused, with the field named, and how it reads."""

import pytest

from datasets import duo

KNOWN = {"MONDO:0007254", "MONDO:0004992", "MONDO:0005148"}


def parse(data):
    return duo.parse_data_use(data, known_diseases=lambda ids: ids & KNOWN)


def errors_of(data) -> dict[str, str]:
    with pytest.raises(duo.ProfileInvalid) as caught:
        parse(data)
    return caught.value.errors


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"permission": [duo.DS, duo.GRU], "diseases": ["MONDO:0007254"]}, "permission", "exactly one permission"),
        ({"permission": duo.GRU, "modifiers": [{"term": duo.HMB}]}, "modifiers[0].term", "HMB is a permission"),
        ({"permission": duo.DS}, "diseases", "needs at least one MONDO disease"),
        ({"permission": duo.DS, "diseases": ["MONDO:9999999"]}, "diseases", "unknown MONDO ids: MONDO:9999999"),
        ({"permission": duo.DS, "diseases": ["cancer"]}, "diseases", "not MONDO ids"),
        ({"permission": "DUO:0000999"}, "permission", "not a DUO permission"),
        ({}, "permission", "is required"),
        ({"permission": duo.GRU, "diseases": ["MONDO:0007254"]}, "diseases", "only a disease-specific"),
        ({"permission": duo.GRU, "modifiers": [{"term": "DUO:0000999"}]}, "modifiers[0].term", "unknown DUO modifier"),
        (
            {"permission": duo.GRU, "modifiers": [{"term": duo.TS, "months": 0}]},
            "modifiers[0].months",
            "positive whole number",
        ),
        (
            {"permission": duo.GRU, "modifiers": [{"term": duo.TS, "months": "12"}]},
            "modifiers[0].months",
            "positive whole number",
        ),
        (
            {"permission": duo.GRU, "modifiers": [{"term": duo.TS, "months": 1.5}]},
            "modifiers[0].months",
            "positive whole number",
        ),
        (
            {"permission": duo.GRU, "modifiers": [{"term": duo.TS, "months": True}]},
            "modifiers[0].months",
            "positive whole number",
        ),
        ({"permission": duo.GRU, "modifiers": [{"term": duo.TS}]}, "modifiers[0].months", "needs 'months'"),
        (
            {"permission": duo.GRU, "modifiers": [{"term": duo.GS, "countries": ["XX"]}]},
            "modifiers[0].countries",
            "not ISO 3166",
        ),
        (
            {"permission": duo.GRU, "modifiers": [{"term": duo.GS, "countries": []}]},
            "modifiers[0].countries",
            "non-empty list",
        ),
        (
            {"permission": duo.GRU, "modifiers": [{"term": duo.MOR, "date": "30/06/2027"}]},
            "modifiers[0].date",
            "YYYY-MM-DD",
        ),
        (
            {"permission": duo.GRU, "modifiers": [{"term": duo.IS, "institutions": ["Helsinki"]}]},
            "modifiers[0].institutions",
            "not ROR ids",
        ),
        (
            {"permission": duo.GRU, "modifiers": [{"term": duo.IRB, "months": 3}]},
            "modifiers[0].months",
            "takes no parameter",
        ),
        (
            {"permission": duo.GRU, "modifiers": [{"term": duo.IRB}, {"term": duo.IRB}]},
            "modifiers[1].term",
            "given twice",
        ),
        ({"permission": duo.GRU, "duo_version": "2016-01-01"}, "duo_version", "only DUO release"),
    ],
)
def test_invalid_profiles_are_refused_naming_the_field(data, field, words):
    errors = errors_of(data)
    assert field in errors, errors
    assert words in errors[field]


def test_every_error_is_reported_at_once():
    errors = errors_of({"permission": duo.DS, "modifiers": [{"term": duo.TS, "months": -1}, {"term": "x"}]})
    assert set(errors) == {"diseases", "modifiers[0].months", "modifiers[1].term"}


def test_a_valid_profile_round_trips_through_json():
    data = {
        "duo_version": "2021-02-23",
        "permission": duo.DS,
        "diseases": ["MONDO:0007254"],
        "modifiers": [
            {"term": duo.NCU},
            {"term": duo.MOR, "date": "2027-06-30"},
            {"term": duo.TS, "months": 12},
            {"term": duo.GS, "countries": ["fi", "SE"]},
            {"term": duo.IS, "institutions": ["https://ror.org/040af2s02"]},
            {"term": duo.COL, "investigators": "Dr A. Example"},
        ],
        "free_text": "",
    }
    parsed = parse(data)
    assert parse(parsed.to_json()) == parsed
    assert parsed.modifier(duo.GS).countries == ("FI", "SE")
    assert parsed.modifier(duo.TS).months == 12


def test_profile_reads_as_one_sentence_from_the_catalogue():
    profile = parse(
        {"permission": duo.DS, "diseases": ["MONDO:0007254"], "modifiers": [{"term": duo.IRB}, {"term": duo.NPU}]}
    )
    text = duo.describe_data_use(profile, {"MONDO:0007254": "breast cancer"})
    assert text == (
        "Use is limited to research on breast cancer or its subtypes; not-for-profit organisations only; "
        "ethics approval required."
    )


@pytest.mark.parametrize(
    ("modifier", "words"),
    [
        ({"term": duo.GS, "countries": ["FI", "SE"]}, "use only in Finland and Sweden"),
        ({"term": duo.MOR, "date": "2027-06-30"}, "no publication before 2027-06-30"),
        ({"term": duo.TS, "months": 12}, "use for at most 12 months"),
        ({"term": duo.COL, "investigators": "Dr A"}, "collaboration with Dr A required"),
        ({"term": duo.IS, "institutions": ["https://ror.org/040af2s02"]}, "only at University of Helsinki"),
        ({"term": duo.NPUNCU}, "not-for-profit organisations and non-commercial use only"),
    ],
)
def test_parameters_appear_in_the_words(modifier, words):
    profile = parse({"permission": duo.GRU, "modifiers": [modifier]})
    labels = {"https://ror.org/040af2s02": "University of Helsinki"}
    assert words in duo.describe_data_use(profile, labels)


def test_several_diseases_read_with_their_subtypes():
    profile = parse({"permission": duo.DS, "diseases": ["MONDO:0007254", "MONDO:0005148"]})
    labels = {"MONDO:0007254": "breast cancer", "MONDO:0005148": "type 2 diabetes mellitus"}
    assert duo.describe_data_use(profile, labels).startswith(
        "Use is limited to research on breast cancer, type 2 diabetes mellitus, or their subtypes"
    )


def test_purpose_reads_as_one_sentence():
    purpose, _ = duo.parse_purpose(
        {"primary": "disease", "diseases": ["MONDO:0007254"], "genetic_study": True, "country": "de"},
        known_diseases=lambda ids: ids & KNOWN,
    )
    assert duo.describe_purpose(purpose, {"MONDO:0007254": "breast cancer"}) == (
        "Research on breast cancer; genetic study; non-commercial; data processed in Germany."
    )
