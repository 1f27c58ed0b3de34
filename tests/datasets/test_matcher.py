"""The DUO matcher's rule tables (datasets.duo_matcher; docs/architecture.md): every permission against the
purposes it meets, every modifier's approve / deny / review paths, aggregation, free text, and
the issue's "done when" cases. Pure: no database."""

from __future__ import annotations

import datetime as dt

import pytest

from datasets.duo import (
    CC,
    COL,
    DS,
    GRU,
    GS,
    GSO,
    HMB,
    IRB,
    IS,
    MOR,
    NCU,
    NMDS,
    NPOA,
    NPU,
    NPUNCU,
    NRES,
    POA,
    PS,
    PUB,
    RS,
    RTN,
    TS,
    US,
    ApplicantFacts,
    DataUse,
    Modifier,
    Primary,
    ProfileInvalid,
    ResearchPurpose,
    modifier_phrase,
    parse_data_use,
    parse_purpose,
    permission_sentence,
)
from datasets.duo_matcher import (
    ALGORITHM_VERSION,
    FREE_TEXT,
    PERSONAL_TERMS,
    Condition,
    Decision,
    MatchResult,
    ancestor_closure,
    load_ancestor_closure,
    match,
    match_person,
    read_mondo_parents,
)

ROOT = "MONDO:0000001"
NEOPLASM = "MONDO:0005070"
CANCER = "MONDO:0004992"
BREAST_CANCER = "MONDO:0007254"
OVARIAN_CANCER = "MONDO:0008170"
DIABETES = "MONDO:0005015"
TYPE_2_DIABETES = "MONDO:0005148"
LABELS = {
    NEOPLASM: "neoplasm",
    CANCER: "cancer",
    BREAST_CANCER: "breast cancer",
    OVARIAN_CANCER: "ovarian cancer",
    DIABETES: "diabetes mellitus",
    TYPE_2_DIABETES: "type 2 diabetes mellitus",
}
HELSINKI = "https://ror.org/040af2s02"
OTHER_ROR = "https://ror.org/001w7jn25"

APPROVE, REVIEW, DENY = Decision.APPROVE, Decision.REVIEW, Decision.DENY

# A non-profit applicant in Finland studying breast cancer genetics, non-commercially: every
# modifier approves it unless a row changes one fact.
NON_PROFIT = ApplicantFacts(user="aino", institution=HELSINKI, for_profit_organisation=False)
FOR_PROFIT = ApplicantFacts(user="aino", institution=HELSINKI, for_profit_organisation=True)
UNKNOWN_ORG = ApplicantFacts(user="aino", institution=HELSINKI, for_profit_organisation=None)


@pytest.fixture(scope="module")
def ancestors() -> dict[str, frozenset[str]]:
    return load_ancestor_closure()


def profile(
    permission: str = GRU, *modifiers: Modifier, diseases: tuple[str, ...] = (), free_text: str = ""
) -> DataUse:
    return DataUse(permission=permission, diseases=diseases, modifiers=modifiers, free_text=free_text)


def ds(*diseases: str, modifiers: tuple[Modifier, ...] = ()) -> DataUse:
    return profile(DS, *modifiers, diseases=diseases)


def purpose(primary: Primary = Primary.DISEASE, *diseases: str, **changes) -> ResearchPurpose:
    if primary is Primary.DISEASE and not diseases:
        diseases = (BREAST_CANCER,)
    base = {"genetic_study": True, "country": "FI"}
    return ResearchPurpose(primary=primary, diseases=diseases, **(base | changes))


def run(data_use: DataUse, research: ResearchPurpose, facts: ApplicantFacts = NON_PROFIT, *, ancestors) -> MatchResult:
    return match(data_use, research, facts, ancestors=ancestors, labels=LABELS)


def decision_of(result: MatchResult, term: str) -> Decision:
    reason = result.reason(term)
    assert reason is not None, f"no reason for {term}: {result.to_json()}"
    return reason.decision


# --- Permissions ------------------------------------------------------------------------------

P = Primary
PERMISSION_TABLE = [
    # NRES and GRU: any research purpose; "other" is not a recognised one.
    *[
        pytest.param(profile(perm), research, expected, id=f"{name}-{label}")
        for perm, name in ((NRES, "nres"), (GRU, "gru"))
        for research, expected, label in (
            (purpose(P.DISEASE), APPROVE, "approves-disease-research"),
            (purpose(P.HMB), APPROVE, "approves-hmb"),
            (purpose(P.POPULATION_ANCESTRY), APPROVE, "approves-population-ancestry"),
            (purpose(P.METHODS), APPROVE, "approves-methods-development"),
            (purpose(P.FUNDAMENTAL_BIOLOGY), APPROVE, "approves-fundamental-biology"),
            (purpose(P.OTHER), REVIEW, "reviews-other"),
        )
    ],
    # HMB: health research only, never ancestry.
    pytest.param(profile(HMB), purpose(P.DISEASE), APPROVE, id="hmb-approves-disease-research"),
    pytest.param(profile(HMB), purpose(P.HMB), APPROVE, id="hmb-approves-hmb"),
    pytest.param(profile(HMB), purpose(P.METHODS), APPROVE, id="hmb-approves-methods-for-health"),
    pytest.param(profile(HMB), purpose(P.POPULATION_ANCESTRY), DENY, id="hmb-denies-population-ancestry"),
    pytest.param(
        profile(HMB), purpose(P.DISEASE, population_ancestry=True), DENY, id="hmb-denies-disease-research-with-ancestry"
    ),
    pytest.param(profile(HMB), purpose(P.FUNDAMENTAL_BIOLOGY), DENY, id="hmb-denies-fundamental-biology"),
    pytest.param(profile(HMB), purpose(P.OTHER), DENY, id="hmb-denies-other-research"),
    # DS: every purpose disease within the dataset's diseases (equal or a MONDO descendant).
    pytest.param(ds(CANCER), purpose(P.DISEASE, CANCER), APPROVE, id="ds-approves-the-same-disease"),
    pytest.param(ds(CANCER), purpose(P.DISEASE, BREAST_CANCER), APPROVE, id="ds-approves-a-subtype"),
    pytest.param(ds(DIABETES), purpose(P.DISEASE, BREAST_CANCER), DENY, id="ds-denies-an-unrelated-disease"),
    pytest.param(ds(CANCER), purpose(P.DISEASE, NEOPLASM), DENY, id="ds-denies-a-broader-disease"),
    pytest.param(
        ds(CANCER), purpose(P.DISEASE, BREAST_CANCER, OVARIAN_CANCER), APPROVE, id="ds-approves-several-subtypes"
    ),
    pytest.param(
        ds(CANCER), purpose(P.DISEASE, BREAST_CANCER, TYPE_2_DIABETES), DENY, id="ds-denies-when-one-disease-is-outside"
    ),
    pytest.param(
        ds(CANCER, DIABETES),
        purpose(P.DISEASE, BREAST_CANCER, TYPE_2_DIABETES),
        APPROVE,
        id="ds-with-several-diseases-approves-each-purpose-disease-under-one-of-them",
    ),
    pytest.param(ds(CANCER), purpose(P.METHODS, BREAST_CANCER), APPROVE, id="ds-approves-methods-tied-to-its-disease"),
    pytest.param(ds(CANCER), purpose(P.METHODS), DENY, id="ds-denies-methods-without-a-disease"),
    pytest.param(ds(CANCER), purpose(P.METHODS, DIABETES), DENY, id="ds-denies-methods-for-another-disease"),
    pytest.param(ds(CANCER), purpose(P.HMB), DENY, id="ds-denies-general-hmb"),
    pytest.param(ds(CANCER), purpose(P.HMB, BREAST_CANCER), DENY, id="ds-denies-general-hmb-even-naming-a-subtype"),
    pytest.param(ds(CANCER), purpose(P.POPULATION_ANCESTRY), DENY, id="ds-denies-population-ancestry"),
    pytest.param(
        ds(CANCER), purpose(P.DISEASE, BREAST_CANCER, population_ancestry=True), DENY, id="ds-denies-ancestry-flag"
    ),
    pytest.param(ds(CANCER), purpose(P.FUNDAMENTAL_BIOLOGY), DENY, id="ds-denies-fundamental-biology"),
    pytest.param(ds(CANCER), purpose(P.OTHER), DENY, id="ds-denies-other-research"),
    pytest.param(ds(CANCER), purpose(P.DISEASE, "MONDO:9999999"), DENY, id="ds-denies-a-disease-not-in-the-closure"),
    # POA: population origins or ancestry research only.
    pytest.param(profile(POA), purpose(P.POPULATION_ANCESTRY), APPROVE, id="poa-approves-population-ancestry"),
    pytest.param(profile(POA), purpose(P.DISEASE), DENY, id="poa-denies-disease-research"),
    pytest.param(profile(POA), purpose(P.HMB), DENY, id="poa-denies-hmb"),
    pytest.param(profile(POA), purpose(P.METHODS), DENY, id="poa-denies-methods-development"),
    pytest.param(profile(POA), purpose(P.FUNDAMENTAL_BIOLOGY), DENY, id="poa-denies-fundamental-biology"),
]


@pytest.mark.parametrize(("data_use", "research", "expected"), PERMISSION_TABLE)
def test_permission_rule(ancestors, data_use, research, expected):
    result = run(data_use, research, ancestors=ancestors)

    assert decision_of(result, data_use.permission) is expected
    assert result.decision is expected
    assert result.reasons[0].term == data_use.permission


def test_ds_deny_names_the_disease_outside(ancestors):
    result = run(ds(CANCER), purpose(P.DISEASE, BREAST_CANCER, TYPE_2_DIABETES), ancestors=ancestors)

    message = result.reason(DS).message
    assert "type 2 diabetes mellitus" in message
    assert "breast cancer" not in message


def test_messages_show_ids_when_no_labels_are_given(ancestors):
    result = match(ds(DIABETES), purpose(P.DISEASE, BREAST_CANCER), NON_PROFIT, ancestors=ancestors)

    assert BREAST_CANCER in result.reason(DS).message
    assert DIABETES in result.reason(DS).message


# --- Clinical care ------------------------------------------------------------------------------


@pytest.mark.parametrize("permission", [NRES, GRU, HMB])
def test_clinical_care_purpose_without_cc_is_denied_by_a_reason_with_term_cc(ancestors, permission):
    result = run(profile(permission), purpose(P.CLINICAL_CARE), ancestors=ancestors)

    assert result.decision is DENY
    # The permission itself has nothing against it; the missing CC term is what denies.
    assert decision_of(result, permission) is APPROVE
    assert decision_of(result, CC) is DENY
    assert [r.term for r in result.reasons] == [permission, CC]


def test_clinical_care_flag_without_cc_is_denied(ancestors):
    result = run(profile(GRU), purpose(P.DISEASE, clinical_care=True), ancestors=ancestors)

    assert result.decision is DENY
    assert decision_of(result, CC) is DENY


@pytest.mark.parametrize("permission", [NRES, GRU, HMB])
def test_clinical_care_purpose_with_cc_is_approved(ancestors, permission):
    result = run(profile(permission, Modifier(CC)), purpose(P.CLINICAL_CARE), ancestors=ancestors)

    assert result.decision is APPROVE
    assert [(r.term, r.decision) for r in result.reasons] == [(permission, APPROVE), (CC, APPROVE)]


def test_ds_with_cc_approves_clinical_care_for_its_diseases_only(ancestors):
    data_use = ds(CANCER, modifiers=(Modifier(CC),))

    assert run(data_use, purpose(P.CLINICAL_CARE, BREAST_CANCER), ancestors=ancestors).decision is APPROVE
    assert run(data_use, purpose(P.CLINICAL_CARE, DIABETES), ancestors=ancestors).decision is DENY
    assert run(data_use, purpose(P.CLINICAL_CARE), ancestors=ancestors).decision is DENY


def test_poa_denies_clinical_care_even_with_cc(ancestors):
    result = run(profile(POA, Modifier(CC)), purpose(P.CLINICAL_CARE), ancestors=ancestors)

    assert result.decision is DENY
    assert decision_of(result, POA) is DENY


def test_cc_on_the_profile_approves_a_purpose_without_clinical_care(ancestors):
    result = run(profile(GRU, Modifier(CC)), purpose(P.DISEASE), ancestors=ancestors)

    assert decision_of(result, CC) is APPROVE
    assert result.decision is APPROVE


# --- Modifiers ---------------------------------------------------------------------------------

MODIFIER_TABLE = [
    pytest.param(Modifier(NMDS), purpose(), NON_PROFIT, APPROVE, id="nmds-approves-a-purpose-without-methods"),
    pytest.param(Modifier(NMDS), purpose(P.METHODS), NON_PROFIT, DENY, id="nmds-denies-methods-development"),
    pytest.param(
        Modifier(NMDS), purpose(methods_development=True), NON_PROFIT, DENY, id="nmds-denies-the-methods-flag"
    ),
    pytest.param(Modifier(GSO), purpose(), NON_PROFIT, APPROVE, id="gso-approves-a-genetic-study"),
    pytest.param(Modifier(GSO), purpose(genetic_study=False), NON_PROFIT, DENY, id="gso-denies-a-non-genetic-study"),
    pytest.param(Modifier(NPU), purpose(), NON_PROFIT, APPROVE, id="npu-approves-a-non-profit"),
    pytest.param(Modifier(NPU), purpose(), FOR_PROFIT, DENY, id="npu-denies-a-for-profit"),
    pytest.param(Modifier(NPU), purpose(), UNKNOWN_ORG, REVIEW, id="npu-reviews-an-unknown-organisation"),
    pytest.param(Modifier(NCU), purpose(), NON_PROFIT, APPROVE, id="ncu-approves-non-commercial-use"),
    pytest.param(Modifier(NCU), purpose(commercial=True), NON_PROFIT, DENY, id="ncu-denies-commercial-use"),
    pytest.param(Modifier(NPUNCU), purpose(), NON_PROFIT, APPROVE, id="npuncu-approves-non-profit-non-commercial"),
    pytest.param(Modifier(NPUNCU), purpose(), FOR_PROFIT, DENY, id="npuncu-denies-a-for-profit"),
    pytest.param(Modifier(NPUNCU), purpose(commercial=True), NON_PROFIT, DENY, id="npuncu-denies-commercial-use"),
    pytest.param(Modifier(NPUNCU), purpose(), UNKNOWN_ORG, REVIEW, id="npuncu-reviews-an-unknown-organisation"),
    pytest.param(
        Modifier(NPUNCU), purpose(commercial=True), UNKNOWN_ORG, DENY, id="npuncu-denies-commercial-use-of-unknown-org"
    ),
    pytest.param(Modifier(NPOA), purpose(), NON_PROFIT, APPROVE, id="npoa-approves-a-purpose-without-ancestry"),
    pytest.param(Modifier(NPOA), purpose(P.POPULATION_ANCESTRY), NON_PROFIT, DENY, id="npoa-denies-ancestry-research"),
    pytest.param(
        Modifier(NPOA), purpose(population_ancestry=True), NON_PROFIT, DENY, id="npoa-denies-the-ancestry-flag"
    ),
    pytest.param(Modifier(CC), purpose(P.CLINICAL_CARE), NON_PROFIT, APPROVE, id="cc-approves-clinical-care"),
    pytest.param(Modifier(IRB), purpose(), NON_PROFIT, APPROVE, id="irb-approves"),
    pytest.param(Modifier(COL, investigators="Dr A. Example"), purpose(), NON_PROFIT, REVIEW, id="col-reviews"),
    pytest.param(
        Modifier(GS, countries=("FI", "SE")), purpose(), NON_PROFIT, APPROVE, id="gs-approves-a-listed-country"
    ),
    pytest.param(
        Modifier(GS, countries=("FI", "SE")), purpose(country="DE"), NON_PROFIT, DENY, id="gs-denies-another-country"
    ),
    pytest.param(
        Modifier(GS, countries=("FI", "SE")), purpose(country=""), NON_PROFIT, REVIEW, id="gs-reviews-a-missing-country"
    ),
    pytest.param(
        Modifier(IS, institutions=(HELSINKI,)), purpose(), NON_PROFIT, APPROVE, id="is-approves-a-listed-institution"
    ),
    pytest.param(
        Modifier(IS, institutions=(OTHER_ROR,)), purpose(), NON_PROFIT, DENY, id="is-denies-another-institution"
    ),
    pytest.param(
        Modifier(IS, institutions=(HELSINKI,)),
        purpose(),
        ApplicantFacts(user="aino", for_profit_organisation=False),
        REVIEW,
        id="is-reviews-an-unknown-institution",
    ),
    pytest.param(Modifier(US, users=("aino", "olli")), purpose(), NON_PROFIT, APPROVE, id="us-approves-a-listed-user"),
    pytest.param(Modifier(US, users=("olli",)), purpose(), NON_PROFIT, DENY, id="us-denies-another-user"),
    pytest.param(
        Modifier(US, users=("aino",)),
        purpose(),
        ApplicantFacts(institution=HELSINKI, for_profit_organisation=False),
        REVIEW,
        id="us-reviews-an-unknown-user",
    ),
    pytest.param(
        Modifier(PS, project="ELIXIR-1"), purpose(project="ELIXIR-1"), NON_PROFIT, APPROVE, id="ps-approves-the-project"
    ),
    pytest.param(
        Modifier(PS, project="ELIXIR-1"),
        purpose(project="  elixir-1 "),
        NON_PROFIT,
        APPROVE,
        id="ps-ignores-case-and-surrounding-space",
    ),
    pytest.param(
        Modifier(PS, project="ELIXIR-1"), purpose(project="OTHER"), NON_PROFIT, REVIEW, id="ps-reviews-another-project"
    ),
    pytest.param(Modifier(PS, project="ELIXIR-1"), purpose(), NON_PROFIT, REVIEW, id="ps-reviews-a-missing-project"),
    pytest.param(Modifier(RS, topic="cancer genomics"), purpose(), NON_PROFIT, REVIEW, id="rs-always-reviews"),
    pytest.param(Modifier(PUB), purpose(), NON_PROFIT, APPROVE, id="pub-approves"),
    pytest.param(Modifier(RTN), purpose(), NON_PROFIT, APPROVE, id="rtn-approves"),
    pytest.param(Modifier(MOR, date=dt.date(2027, 6, 30)), purpose(), NON_PROFIT, APPROVE, id="mor-approves"),
    pytest.param(Modifier(TS, months=12), purpose(), NON_PROFIT, APPROVE, id="ts-approves"),
]


@pytest.mark.parametrize(("modifier", "research", "facts", "expected"), MODIFIER_TABLE)
def test_modifier_rule(ancestors, modifier, research, facts, expected):
    result = run(profile(GRU, modifier), research, facts, ancestors=ancestors)

    assert decision_of(result, modifier.term) is expected
    assert result.decision is expected
    assert [r.term for r in result.reasons] == [GRU, modifier.term]


def test_nmds_approves_methods_when_the_dataset_is_ds_and_the_diseases_fit(ancestors):
    result = run(ds(CANCER, modifiers=(Modifier(NMDS),)), purpose(P.METHODS, BREAST_CANCER), ancestors=ancestors)

    assert decision_of(result, NMDS) is APPROVE
    assert result.decision is APPROVE


def test_nmds_denies_methods_against_ds_when_a_disease_is_outside(ancestors):
    data_use = ds(CANCER, modifiers=(Modifier(NMDS),))
    result = run(data_use, purpose(P.METHODS, BREAST_CANCER, DIABETES), ancestors=ancestors)

    assert decision_of(result, NMDS) is DENY


def test_nmds_denies_the_methods_flag_on_disease_research_against_hmb(ancestors):
    result = run(profile(HMB, Modifier(NMDS)), purpose(P.DISEASE, methods_development=True), ancestors=ancestors)

    assert decision_of(result, NMDS) is DENY


def test_irb_is_a_submission_requirement_not_a_condition(ancestors):
    result = run(profile(GRU, Modifier(IRB)), purpose(), ancestors=ancestors)

    assert "ethics approval document" in result.reason(IRB).message
    assert result.conditions == ()


@pytest.mark.parametrize(
    ("modifier", "code", "text", "params"),
    [
        pytest.param(
            Modifier(COL, investigators="Dr A. Example"),
            "COL",
            "collaboration with Dr A. Example required",
            {"investigators": "Dr A. Example"},
            id="col",
        ),
        pytest.param(Modifier(PUB), "PUB", "results must be published for the scientific community", {}, id="pub"),
        pytest.param(Modifier(RTN), "RTN", "derived data must be returned to the resource", {}, id="rtn"),
        pytest.param(
            Modifier(MOR, date=dt.date(2027, 6, 30)),
            "MOR",
            "no publication before 2027-06-30",
            {"date": "2027-06-30"},
            id="mor",
        ),
        pytest.param(Modifier(TS, months=12), "TS", "use for at most 12 months", {"months": 12}, id="ts"),
    ],
)
def test_obligations_ride_on_the_permit_as_conditions(ancestors, modifier, code, text, params):
    result = run(profile(GRU, modifier), purpose(), ancestors=ancestors)

    assert result.conditions == (Condition(modifier.term, code, text, params),)
    assert result.to_json()["conditions"] == [{"term": modifier.term, "code": code, "text": text, **params}]


def test_ts_caps_the_permit_length(ancestors):
    result = run(profile(GRU, Modifier(TS, months=12)), purpose(), ancestors=ancestors)

    assert result.max_months == 12


def test_no_ts_leaves_the_permit_length_uncapped(ancestors):
    assert run(profile(GRU, Modifier(PUB)), purpose(), ancestors=ancestors).max_months is None


@pytest.mark.parametrize("term", [NPU, NCU, NPUNCU, GSO, NPOA, NMDS, IRB, CC])
def test_modifiers_without_an_obligation_add_no_condition(ancestors, term):
    assert run(profile(GRU, Modifier(term)), purpose(), ancestors=ancestors).conditions == ()


# --- Free text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data_use", "research"),
    [
        pytest.param(profile(GRU, free_text="Only with the PI's consent."), purpose(), id="on-the-profile"),
        pytest.param(profile(GRU), purpose(free_text="We also look at X."), id="in-the-purpose"),
        pytest.param(profile(GRU, free_text="A"), purpose(free_text="B"), id="on-both-sides"),
    ],
)
def test_free_text_on_either_side_is_reviewed_never_approved(ancestors, data_use, research):
    result = run(data_use, research, ancestors=ancestors)

    assert result.decision is REVIEW
    assert [(r.term, r.decision) for r in result.reasons] == [(GRU, APPROVE), (FREE_TEXT, REVIEW)]


def test_free_text_does_not_soften_a_deny(ancestors):
    result = run(profile(POA, free_text="Ask us."), purpose(), ancestors=ancestors)

    assert result.decision is DENY


# --- Aggregation and the result ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("modifiers", "expected"),
    [
        pytest.param((Modifier(PUB), Modifier(IRB)), APPROVE, id="all-approve-approves"),
        pytest.param((Modifier(PUB), Modifier(RS, topic="t")), REVIEW, id="review-beats-approve"),
        pytest.param((Modifier(RS, topic="t"), Modifier(GSO), Modifier(PUB)), DENY, id="deny-beats-review"),
    ],
)
def test_aggregation_deny_beats_review_beats_approve(ancestors, modifiers, expected):
    research = purpose(genetic_study=False)  # GSO denies it; PUB and IRB approve; RS reviews
    assert run(profile(GRU, *modifiers), research, ancestors=ancestors).decision is expected


def test_one_reason_per_term_that_took_part_in_order(ancestors):
    modifiers = (Modifier(NPU), Modifier(GSO), Modifier(GS, countries=("FI",)), Modifier(TS, months=6))
    data_use = ds(CANCER, DIABETES, modifiers=modifiers)
    data_use = DataUse(data_use.permission, data_use.diseases, data_use.modifiers, free_text="Ask first.")

    result = run(data_use, purpose(), ancestors=ancestors)

    assert [r.term for r in result.reasons] == [DS, NPU, GSO, GS, TS, FREE_TEXT]


def test_messages_start_with_the_words_people_see_for_the_term(ancestors):
    modifiers = (Modifier(NPU), Modifier(GS, countries=("FI", "SE")), Modifier(MOR, date=dt.date(2027, 6, 30)))
    data_use = ds(CANCER, modifiers=modifiers)

    result = run(data_use, purpose(), FOR_PROFIT, ancestors=ancestors)

    assert result.reasons[0].message.startswith(permission_sentence(data_use, LABELS))
    for modifier, reason in zip(modifiers, result.reasons[1:], strict=True):
        phrase = modifier_phrase(modifier, LABELS)
        assert reason.message.startswith(phrase[0].upper() + phrase[1:])


def test_result_json_has_the_api_shape(ancestors):
    data_use = profile(GRU, Modifier(NPU), Modifier(TS, months=12))
    result = run(data_use, purpose(), ancestors=ancestors)

    assert result.to_json() == {
        "decision": "approve",
        "algorithm_version": ALGORITHM_VERSION,
        "reasons": [
            {"term": GRU, "decision": "approve", "message": result.reasons[0].message},
            {"term": NPU, "decision": "approve", "message": result.reasons[1].message},
            {"term": TS, "decision": "approve", "message": result.reasons[2].message},
        ],
        "conditions": [{"term": TS, "code": "TS", "text": "use for at most 12 months", "months": 12}],
        "max_months": 12,
    }


def test_result_carries_the_algorithm_version(ancestors):
    assert run(profile(GRU), purpose(), ancestors=ancestors).algorithm_version == "duo-match/1.0"


def test_a_profile_that_skipped_the_parser_with_a_modifier_as_permission_is_refused(ancestors):
    with pytest.raises(ProfileInvalid) as raised:
        run(profile(NPU), purpose(), ancestors=ancestors)

    assert "permission" in raised.value.errors


def test_a_profile_that_skipped_the_parser_with_a_permission_as_modifier_is_refused(ancestors):
    with pytest.raises(ProfileInvalid) as raised:
        run(profile(GRU, Modifier(HMB)), purpose(), ancestors=ancestors)

    assert "modifiers" in raised.value.errors


# --- The "done when" cases ---------------------------------------------------------------


def test_done_when_breast_cancer_purpose_is_approved_against_ds_cancer(ancestors):
    result = run(ds(CANCER), purpose(P.DISEASE, BREAST_CANCER), ancestors=ancestors)

    assert result.decision is APPROVE


def test_done_when_breast_cancer_purpose_is_denied_against_ds_diabetes(ancestors):
    result = run(ds(DIABETES), purpose(P.DISEASE, BREAST_CANCER), ancestors=ancestors)

    assert result.decision is DENY
    assert "breast cancer" in result.reason(DS).message


def test_done_when_population_ancestry_purpose_is_denied_against_hmb(ancestors):
    result = run(profile(HMB), purpose(P.POPULATION_ANCESTRY), ancestors=ancestors)

    assert result.decision is DENY
    assert decision_of(result, HMB) is DENY


def test_done_when_for_profit_applicant_is_denied_against_npu(ancestors):
    result = run(profile(GRU, Modifier(NPU)), purpose(commercial=False), FOR_PROFIT, ancestors=ancestors)

    assert result.decision is DENY


def test_done_when_for_profit_applicant_with_non_commercial_purpose_is_not_denied_against_ncu(ancestors):
    result = run(profile(GRU, Modifier(NCU)), purpose(commercial=False), FOR_PROFIT, ancestors=ancestors)

    assert result.decision is not DENY
    assert decision_of(result, NCU) is APPROVE


@pytest.mark.parametrize(
    ("data_use", "research", "expected"),
    [
        pytest.param(profile(GRU, Modifier(NMDS)), purpose(P.METHODS), DENY, id="gru"),
        pytest.param(profile(HMB, Modifier(NMDS)), purpose(P.METHODS, BREAST_CANCER), DENY, id="hmb-with-a-disease"),
        pytest.param(ds(CANCER, modifiers=(Modifier(NMDS),)), purpose(P.METHODS), DENY, id="ds-without-a-disease"),
        pytest.param(
            ds(CANCER, modifiers=(Modifier(NMDS),)), purpose(P.METHODS, DIABETES), DENY, id="ds-with-another-disease"
        ),
        pytest.param(
            ds(CANCER, modifiers=(Modifier(NMDS),)), purpose(P.METHODS, BREAST_CANCER), APPROVE, id="ds-diseases-fit"
        ),
    ],
)
def test_done_when_methods_development_against_nmds_is_denied_unless_ds_and_diseases_fit(
    ancestors, data_use, research, expected
):
    assert run(data_use, research, ancestors=ancestors).decision is expected


# --- Unknown ids are refused by the parser before they reach the matcher ---------------------------


def _known_only(*ids: str):
    return lambda asked: asked & set(ids)


def test_parse_data_use_refuses_unknown_mondo_ids_naming_diseases():
    raw = {"permission": DS, "diseases": [CANCER, "MONDO:9999999"]}

    with pytest.raises(ProfileInvalid) as raised:
        parse_data_use(raw, known_diseases=_known_only(CANCER))

    assert "MONDO:9999999" in raised.value.errors["diseases"]


def test_parse_purpose_refuses_unknown_mondo_ids_naming_diseases():
    raw = {"primary": "disease", "diseases": ["MONDO:9999999"]}

    with pytest.raises(ProfileInvalid) as raised:
        parse_purpose(raw, known_diseases=_known_only(CANCER))

    assert "MONDO:9999999" in raised.value.errors["diseases"]


def test_parse_data_use_refuses_an_unknown_duo_modifier():
    with pytest.raises(ProfileInvalid) as raised:
        parse_data_use({"permission": GRU, "modifiers": [{"term": "DUO:0009999"}]}, known_diseases=_known_only())

    assert "modifiers[0].term" in raised.value.errors


def test_parsed_profile_and_purpose_match_end_to_end(ancestors):
    known = _known_only(CANCER, BREAST_CANCER)
    data_use = parse_data_use(
        {"permission": DS, "diseases": [CANCER], "modifiers": [{"term": NCU}, {"term": TS, "months": 6}]},
        known_diseases=known,
    )
    research, facts = parse_purpose(
        {"primary": "disease", "diseases": [BREAST_CANCER], "for_profit_organisation": True}, known_diseases=known
    )

    result = match(data_use, research, facts, ancestors=ancestors)

    assert result.decision is APPROVE
    assert result.max_months == 6


# --- One person: the modifiers that ask who uses the data ------------------------------------------

BEA = ApplicantFacts(user="bea", institution=OTHER_ROR, for_profit_organisation=True)
PERSON_LABELS = {HELSINKI: "University of Helsinki", OTHER_ROR: "Genomics Ventures Oy"}


def person(data_use: DataUse, facts: ApplicantFacts = BEA, country: str = "SE") -> MatchResult:
    return match_person(data_use, facts, country=country, who="Bea Bolt", labels=PERSON_LABELS)


def test_the_personal_terms_are_those_about_the_user():
    assert {NPU, NPUNCU, IS, US, GS} == PERSONAL_TERMS


@pytest.mark.parametrize(
    ("modifier", "facts", "country", "expected", "message"),
    [
        pytest.param(
            Modifier(NPU),
            BEA,
            "FI",
            DENY,
            "Not-for-profit organisations only: Bea Bolt's organisation is for-profit.",
            id="npu-denies-a-for-profit-person",
        ),
        pytest.param(
            Modifier(NPU),
            NON_PROFIT,
            "FI",
            APPROVE,
            "Not-for-profit organisations only: Bea Bolt's organisation is not-for-profit.",
            id="npu-approves-a-not-for-profit-person",
        ),
        pytest.param(
            Modifier(NPU),
            UNKNOWN_ORG,
            "FI",
            REVIEW,
            "Not-for-profit organisations only: whether Bea Bolt's organisation is for-profit is not known.",
            id="npu-reviews-an-unknown-organisation",
        ),
        pytest.param(
            Modifier(NPUNCU),
            NON_PROFIT,
            "FI",
            APPROVE,
            "Not-for-profit organisations and non-commercial use only: Bea Bolt's organisation is not-for-profit.",
            id="npuncu-reads-only-the-organisation-of-a-person",
        ),
        pytest.param(
            Modifier(IS, institutions=(HELSINKI,)),
            BEA,
            "FI",
            DENY,
            "Only at University of Helsinki: Bea Bolt is at Genomics Ventures Oy.",
            id="is-denies-a-person-elsewhere",
        ),
        pytest.param(
            Modifier(IS, institutions=(HELSINKI,)),
            NON_PROFIT,
            "FI",
            APPROVE,
            "Only at University of Helsinki: Bea Bolt is at University of Helsinki.",
            id="is-approves-a-person-there",
        ),
        pytest.param(
            Modifier(GS, countries=("FI",)),
            NON_PROFIT,
            "SE",
            DENY,
            "Use only in Finland: Bea Bolt processes data in Sweden.",
            id="gs-denies-a-person-processing-abroad",
        ),
        pytest.param(
            Modifier(GS, countries=("FI",)),
            NON_PROFIT,
            "",
            REVIEW,
            "Use only in Finland: where Bea Bolt processes data is not known.",
            id="gs-reviews-an-unknown-country",
        ),
        pytest.param(
            Modifier(US, users=("aino",)),
            BEA,
            "FI",
            DENY,
            "Approved users only: Bea Bolt is not an approved user.",
            id="us-denies-another-person",
        ),
    ],
)
def test_match_person_checks_one_persons_own_facts(modifier, facts, country, expected, message):
    result = person(profile(GRU, modifier), facts, country)

    assert result.decision is expected
    assert [(r.term, r.decision, r.message) for r in result.reasons] == [(modifier.term, expected, message)]


def test_match_person_ignores_what_the_research_is_about():
    research_only = profile(HMB, Modifier(NMDS), Modifier(GSO), Modifier(NCU), Modifier(TS, months=6), Modifier(COL))

    result = person(research_only)

    assert (result.decision, result.reasons, result.conditions) == (APPROVE, (), ())


def test_match_person_gives_one_reason_per_personal_modifier_in_the_profiles_order():
    data_use = profile(GRU, Modifier(GS, countries=("FI",)), Modifier(PUB), Modifier(NPU))

    result = person(data_use, NON_PROFIT, "FI")

    assert [(r.term, r.decision) for r in result.reasons] == [(GS, APPROVE), (NPU, APPROVE)]
    assert result.decision is APPROVE


def test_the_applicants_match_still_names_the_applicant(ancestors):
    result = run(profile(GRU, Modifier(NPU)), purpose(), FOR_PROFIT, ancestors=ancestors)

    assert (
        result.reason(NPU).message == "Not-for-profit organisations only: the applicant's organisation is for-profit."
    )


# --- The MONDO closure -----------------------------------------------------------------------------


def test_closure_covers_every_bundled_term(ancestors):
    assert len(ancestors) == 22_382


def test_closure_holds_transitive_ancestors_but_not_the_term_itself(ancestors):
    assert {CANCER, NEOPLASM, ROOT} <= ancestors[BREAST_CANCER]
    assert BREAST_CANCER not in ancestors[BREAST_CANCER]
    assert ancestors[ROOT] == frozenset()


def test_closure_is_each_terms_parents_and_their_closures(ancestors):
    parents = read_mondo_parents()
    wrong = [
        term
        for term, direct in parents.items()
        if ancestors[term] != frozenset(direct).union(*(ancestors.get(p, frozenset()) for p in direct))
    ]
    assert wrong == []


def test_closure_stops_at_a_cycle_instead_of_looping():
    closure = ancestor_closure({"A": ("B",), "B": ("C",), "C": ("A",), "D": ("A",)})

    assert "A" not in closure["A"]
    assert {"A", "B", "C"} <= closure["D"]
