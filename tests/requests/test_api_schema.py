"""One spec per endpoint for the people's and the nodes' APIs of requests/: each view's Input (or
Filter) and Output serializers read its input, write its answer and name its components in the
OpenAPI document; the inputs keep JSON types as sent and name a wrong field as the domain does."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from datasets.services import node_key_create
from portal.exceptions import InvalidInput, field_errors
from requests.api import ApplicationDocumentApi, ApplicationDraftSerializer, ApplicationSubmitApi
from requests.node_api import ChangesApi, CheckApi, IntrospectApi, PermissionsApi
from requests.permit_api import PermitRevokeApi
from requests.review_api import ReviewDecideApi, ReviewListApi, ReviewVoteApi

APPLICATION = "/api/v1/applications/{id}"
REVIEW = "/api/v1/reviews/{id}"

# (method, path) -> (request component or None, success status, response component)
OPERATIONS = {
    ("get", "/api/v1/applications"): (None, "200", "ApplicationListOutput"),
    ("post", "/api/v1/applications"): ("ApplicationDraft", "201", "Application"),
    ("get", APPLICATION): (None, "200", "Application"),
    ("patch", APPLICATION): ("PatchedApplicationDraft", "200", "Application"),
    ("post", f"{APPLICATION}/documents"): ("ApplicationDocumentInput", "201", "ApplicationDocumentOutput"),
    ("post", f"{APPLICATION}/agreements"): (None, "200", "ApplicationAgreementsOutput"),
    ("post", f"{APPLICATION}/submit"): ("ApplicationSubmitInput", "200", "Application"),
    ("post", f"{APPLICATION}/withdraw"): (None, "200", "Application"),
    ("get", "/api/v1/reviews"): (None, "200", "PaginatedReviewSummaryList"),
    ("get", REVIEW): (None, "200", "Review"),
    ("post", f"{REVIEW}/votes"): ("ReviewVoteInput", "201", "Vote"),
    ("post", f"{REVIEW}/return"): ("ReviewReturnInput", "200", "Review"),
    ("post", f"{REVIEW}/decide"): ("ReviewDecideInput", "200", "Review"),
    ("post", "/api/v1/permits/{id}/revoke"): ("PermitRevokeInput", "200", "Permit"),
    ("get", "/api/v1/me/permits"): (None, "200", "MyPermitsOutput"),
    ("get", "/api/v1/me/passport"): (None, "200", "MyPassportOutput"),
    ("get", "/api/v1/permissions/{user_id}"): (None, "200", "PermissionsOutput"),
    ("post", "/api/v1/permits/introspect"): ("IntrospectInput", "200", "IntrospectOutput"),
    ("post", "/api/v1/permits/check"): ("CheckInput", "200", "CheckOutput"),
    ("get", "/api/v1/permits/changes"): (None, "200", "ChangesOutput"),
}
NODE_OPERATIONS = [op for op in OPERATIONS if op[1].startswith(("/api/v1/permissions", "/api/v1/permits/"))]
NODE_OPERATIONS.remove(("post", "/api/v1/permits/{id}/revoke"))
# People's actions that refuse a caller who sees the object (NotAllowed), and their 409s.
REFUSING = [op for op in OPERATIONS if op[0] in {"patch", "post"} and "{id}" in op[1]]


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def ref(content: dict) -> str:
    return content["schema"]["$ref"].removeprefix("#/components/schemas/")


def properties(schema: dict, component: str) -> list[str]:
    return list(schema["components"]["schemas"][component]["properties"])


# --- the OpenAPI document ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), list(OPERATIONS))
def test_each_operation_names_its_request_and_response_components(schema, method, path):
    request, status, response = OPERATIONS[(method, path)]
    operation = schema["paths"][path][method]
    if request is None:
        assert "requestBody" not in operation
    else:
        (content,) = operation["requestBody"]["content"].values()
        assert ref(content) == request
    assert ref(operation["responses"][status]["content"]["application/json"]) == response


@pytest.mark.parametrize(("method", "path"), list(OPERATIONS))
def test_every_error_of_the_request_apis_is_the_one_error_component(schema, method, path):
    for status, answer in schema["paths"][path][method]["responses"].items():
        if status >= "400":
            assert ref(answer["content"]["application/json"]) == "Error", (path, status)


@pytest.mark.parametrize(("method", "path"), REFUSING)
def test_the_peoples_actions_document_their_403_and_409(schema, method, path):
    assert {"403", "409"} <= set(schema["paths"][path][method]["responses"])


@pytest.mark.parametrize(("method", "path"), NODE_OPERATIONS)
def test_node_operations_document_no_403_they_never_answer(schema, method, path):
    responses = schema["paths"][path][method]["responses"]
    assert {"400", "401"} <= set(responses)
    assert "403" not in responses


def test_the_permissions_of_an_unknown_user_document_no_404(schema):
    assert "404" not in schema["paths"]["/api/v1/permissions/{user_id}"]["get"]["responses"]
    assert PermissionsApi.schema_omit_statuses == {404}


def test_query_parameters_come_from_the_filter_serializers(schema):
    def query(path: str) -> dict:
        return {p["name"]: p["schema"] for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}

    assert set(query("/api/v1/reviews")) == {"status", "dac", "page"}
    assert {"pending", "returned", "decided", "withdrawn"} <= set(query("/api/v1/reviews")["status"]["enum"])
    assert query("/api/v1/permissions/{user_id}")["expired"]["enum"] == ["false"]
    changes = query("/api/v1/permits/changes")
    assert (changes["cursor"]["type"], changes["limit"]["type"], changes["limit"]["minimum"]) == (
        "string",
        "integer",
        1,
    )


def test_the_components_list_the_fields_of_the_answers_in_their_order(schema):
    # The node answers are the contract (docs/node-contract.md): names and order as nodes read them.
    assert properties(schema, "IntrospectOutput") == [
        "active",
        "sub",
        "dataset",
        "permit_id",
        "exp",
        "permit_expires_at",
        "conditions",
        "dac",
    ]
    assert properties(schema, "CheckOutput") == ["allowed", "permit_id", "expires_at", "conditions"]
    assert properties(schema, "PermitChange") == ["permit_id", "user", "dataset", "event", "at", "expires_at"]
    assert properties(schema, "ChangesOutput") == ["changes", "next_cursor"]
    assert properties(schema, "PermissionsOutput") == ["ga4gh_passport_v1"]
    assert schema["components"]["schemas"]["IntrospectOutput"]["required"] == ["active"]


# --- the answers are what the components say -------------------------------------------------------


@pytest.mark.django_db
def test_the_answers_have_the_fields_of_their_components(schema, client_for, applicant_permit, applicant_review):
    applicant, chair = client_for("applicant"), client_for("dac_chair")
    application = applicant.get(reverse("api:application", args=[applicant_review.application_id])).json()
    assert list(application) == properties(schema, "Application")
    review = chair.get(reverse("api:review", args=[applicant_review.pk])).json()
    assert list(review) == properties(schema, "Review")
    assert list(review["application"]) == properties(schema, "ReviewApplication")
    assert list(review["decisions"][0]) == properties(schema, "DatasetDecision")
    assert list(review["permits"][0]) == properties(schema, "IssuedPermit")
    (permit,) = applicant.get(reverse("api:my_permits")).json()["permits"]
    assert list(permit) == properties(schema, "Permit")
    (row,) = chair.get(reverse("api:reviews")).json()["results"]
    assert list(row) == properties(schema, "ReviewSummary")


@pytest.mark.django_db
def test_node_answers_keep_their_exact_bytes(applicant_permit, applicant, node):
    _, key = node_key_create(node=node, name="tests", days=None)
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")

    def post(name: str, body: dict) -> bytes:
        return client.post(reverse(name), body, content_type="application/json").content

    assert post("api:permit_introspect", {"token": "not a visa"}) == b'{"active":false}'
    nobody = {"user": "00000000-0000-0000-0000-000000000000", "dataset": "GDS000001"}
    assert post("api:permit_check", nobody) == b'{"allowed":false,"permit_id":null,"expires_at":null,"conditions":[]}'
    allowed = json.loads(
        post("api:permit_check", {"user": str(applicant.sub), "dataset": applicant_permit.dataset.accession})
    )
    assert allowed["expires_at"].endswith("Z")
    feed = client.get(reverse("api:permit_changes")).json()
    assert [list(change) for change in feed["changes"]] == [
        ["permit_id", "user", "dataset", "event", "at", "expires_at"]
    ]


# --- the serializers, without HTTP ---------------------------------------------------------------


def errors_of(serializer_class, data) -> dict[str, str]:
    serializer = serializer_class(data=data)
    assert not serializer.is_valid()
    return field_errors(serializer.errors)


def test_json_types_are_taken_as_sent_not_converted():
    assert errors_of(ReviewVoteApi.InputSerializer, {"vote": 1, "comment": 3, "conflict_of_interest": "yes"}) == {
        "vote": "must be text",
        "comment": "must be text",
        "conflict_of_interest": "must be true or false",
    }
    months = ReviewDecideApi.InputSerializer
    for wrong in ("12", True, 1.5):
        body = {"decisions": [{"dataset": "GDS000001", "outcome": "approve", "months": wrong}]}
        assert errors_of(months, body) == {"decisions[0].months": "must be a whole number"}


def test_null_reads_as_left_out_where_the_field_allows_it():
    vote = ReviewVoteApi.InputSerializer(data={"vote": None, "comment": None, "conflict_of_interest": None})
    assert vote.is_valid()
    assert dict(vote.validated_data) == {"choice": "", "comment": "", "conflict_of_interest": False}
    assert errors_of(ApplicationDraftSerializer, {"title": None}) == {"title": "must be text"}


def test_a_decision_is_named_by_its_index_and_field():
    body = {"decisions": ["x", {"dataset": " ", "outcome": "maybe", "conditions": "publish"}, None]}
    assert errors_of(ReviewDecideApi.InputSerializer, body) == {
        "decisions[0]": "must be an object",
        "decisions[1].dataset": "give the dataset's accession",
        "decisions[1].outcome": "must be approve or reject",
        "decisions[1].conditions": "must be a list",
        "decisions[2]": "must be an object",
    }
    for wrong in ({}, {"decisions": None}, {"decisions": []}, {"decisions": "approve all"}):
        assert errors_of(ReviewDecideApi.InputSerializer, wrong) == {"decisions": "must be a non-empty list"}


def test_a_decision_is_read_trimmed_with_its_defaults():
    data = ReviewDecideApi.InputSerializer.read({"decisions": [{"dataset": " gds000001 ", "outcome": "reject"}]})
    assert [dict(d) for d in data["decisions"]] == [
        {"dataset": "GDS000001", "outcome": "reject", "months": None, "reason": "", "conditions": None}
    ]


def test_lists_and_objects_that_are_wrong_inside_are_named_as_a_whole():
    assert errors_of(ApplicationDraftSerializer, {"collaborators": ["a@example.org", "not-an-email"]}) == {
        "collaborators": "must be a list of e-mail addresses"
    }
    assert errors_of(ApplicationSubmitApi.InputSerializer, {"justifications": {"GDS000001": 5}}) == {
        "justifications": "invalid"
    }


@pytest.mark.parametrize(
    ("serializer_class", "message", "problem"),
    [
        (ReviewVoteApi.InputSerializer, "The body must be a JSON object.", "must be an object"),
        (PermitRevokeApi.InputSerializer, "The body must be a JSON object.", "must be an object"),
        (CheckApi.InputSerializer, "The request is not valid.", "must be a JSON object"),
    ],
)
@pytest.mark.parametrize("body", [[], "text", None, 5])
def test_a_body_that_is_not_an_object_is_named_body(serializer_class, message, problem, body):
    with pytest.raises(InvalidInput) as refused:
        serializer_class.read(body)
    assert (refused.value.message, refused.value.extra) == (message, {"fields": {"body": problem}})


def test_node_text_is_checked_for_type_only():
    assert errors_of(CheckApi.InputSerializer, {"user": 1}) == {"user": "must be a string", "dataset": "required"}
    assert errors_of(IntrospectApi.InputSerializer, {"token": None}) == {"token": "must be a string"}
    # The serializer takes odd characters as sent (no trimming); over HTTP the parser refuses NUL
    # and lone surrogates before it (portal.input_guard).
    assert IntrospectApi.InputSerializer.read({"token": " a\x00b\ud800 "}) == {"token": " a\x00b\ud800 "}


def test_the_feed_filters_read_the_cursor_and_the_limit():
    read = ChangesApi.FilterSerializer.read
    assert read({}) == {"limit": 100}
    assert read({"cursor": "", "limit": "0007"}) == {"cursor": 0, "limit": 7}
    assert read({"cursor": "42", "limit": "9" * 50}) == {"cursor": 42, "limit": 1000}
    assert set(errors_of(ChangesApi.FilterSerializer, {"cursor": "x", "limit": ""})) == {"cursor", "limit"}


def test_the_review_filter_refuses_an_unknown_status_with_its_own_message():
    with pytest.raises(InvalidInput) as refused:
        ReviewListApi.FilterSerializer.read({"status": "open"})
    assert refused.value.message == "Unknown review status."
    assert refused.value.extra == {"fields": {"status": "one of pending, returned, decided, withdrawn"}}
    assert ReviewListApi.FilterSerializer.read({}) == {"status": "", "dac": ""}


def test_the_document_form_names_its_first_wrong_field_only():
    with pytest.raises(InvalidInput) as refused:
        ApplicationDocumentApi.InputSerializer.read({"kind": "", "expires_on": "soon"})
    assert (refused.value.message, refused.value.extra) == (
        "Only kind=ethics_approval is accepted.",
        {"fields": {"kind": "unknown kind"}},
    )
    assert errors_of(ApplicationDocumentApi.InputSerializer, {"expires_on": "2099-1-5"})["expires_on"] == "not a date"


# --- wrong types through the API -------------------------------------------------------------------


def post_json(client, name: str, pk: int, body) -> dict:
    response = client.post(reverse(name, args=[pk]), json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    return response.json()["extra"]["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"vote": ["approve"]}, {"vote": "must be text"}),
        ({"vote": "approve", "conflict_of_interest": 1}, {"conflict_of_interest": "must be true or false"}),
        ({"vote": "approve", "comment": {"text": "Fine."}}, {"comment": "must be text"}),
    ],
)
def test_a_vote_of_the_wrong_type_is_400_naming_the_field(client_for, applicant_review, dac_member, body, fields):
    assert post_json(client_for("dac_member"), "api:review_votes", applicant_review.pk, body) == fields
    assert not applicant_review.votes.exists()


@pytest.mark.django_db
def test_a_null_decision_is_400_naming_its_index(client_for, applicant_review, dac_chair):
    fields = post_json(client_for("dac_chair"), "api:review_decide", applicant_review.pk, {"decisions": [None]})
    assert fields == {"decisions[0]": "must be an object"}


@pytest.mark.django_db
def test_justifications_of_the_wrong_type_are_400_naming_them(client_for, applicant_draft):
    body = {"justifications": ["GDS000001"]}
    assert post_json(client_for("applicant"), "api:application_submit", applicant_draft.pk, body) == {
        "justifications": "invalid"
    }


@pytest.mark.django_db
def test_a_refused_caller_gets_403_whatever_the_body(client_for, applicant_review, dac_member):
    for name in ("api:review_return", "api:review_decide"):
        response = client_for("dac_member").post(reverse(name, args=[applicant_review.pk]), "[]", "application/json")
        assert response.status_code == 403


@pytest.mark.django_db
def test_a_bad_cursor_and_limit_are_both_named(node):
    _, key = node_key_create(node=node, name="tests", days=None)
    response = Client(HTTP_AUTHORIZATION=f"Api-Key {key}").get(
        reverse("api:permit_changes"), {"cursor": "x", "limit": ""}
    )
    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {"cursor", "limit"}


@pytest.mark.django_db
def test_an_empty_expired_parameter_is_refused(node):
    _, key = node_key_create(node=node, name="tests", days=None)
    url = reverse("api:permissions", args=["00000000-0000-0000-0000-000000000000"])
    response = Client(HTTP_AUTHORIZATION=f"Api-Key {key}").get(url, {"expired": ""})
    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {"expired"}
