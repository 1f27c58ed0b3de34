"""Every error under /api/ is JSON {"code", "message", "extra"} (docs/node-contract.md), whoever answers it, and the
OpenAPI document names the errors each operation can answer, all with one error component."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from datasets.api import DatasetDetailApi
from tests.factories import minimal_pdf

pytestmark = pytest.mark.django_db

DS_CANCER = {"permission": "DUO:0000007", "diseases": ["MONDO:0004992"]}
BREAST = {"primary": "disease", "diseases": ["MONDO:0007254"]}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "extra"}
    assert body["code"] == code
    return body


def oversized(settings) -> str:
    return "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)


# --- answers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v1/datasets/GDS000001/nothing", "/api/other/"])
def test_an_unknown_path_under_api_answers_a_json_404(client, path):
    assert_error(client.get(path), 404, "not_found")


def test_a_page_outside_api_keeps_its_html_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_oversized_json_body_to_the_anonymous_matcher_answers_413(client, settings, ontologies):
    body = {"data_use": {**DS_CANCER, "free_text": oversized(settings)}, "purpose": BREAST}
    response = client.post(reverse("api:duo_match"), body, content_type="application/json")
    answer = assert_error(response, 413, "too_large")
    assert answer["extra"] == {"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}


def test_an_oversized_json_body_to_a_node_endpoint_answers_413(client_for, node, settings):
    response = client_for("node").post(
        reverse("api:permit_introspect"), {"token": oversized(settings)}, content_type="application/json"
    )
    assert_error(response, 413, "too_large")


def test_a_body_within_the_limit_is_read(client_for, node, settings):
    token = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 100)
    response = client_for("node").post(
        reverse("api:permit_introspect"), {"token": token}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_an_upload_larger_than_the_json_limit_is_still_accepted(client_for, applicant_draft, settings):
    padding = b"%" + b"0" * (9 * 1024 * 1024) + b"\n"
    assert len(padding) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    upload = {"kind": "ethics_approval", "expires_on": "2099-01-01", "file": _pdf(minimal_pdf(padding))}
    response = client_for("applicant").post(reverse("api:application_documents", args=[applicant_draft.pk]), upload)
    assert response.status_code == 201, response.content[:300]


def test_an_upload_far_past_the_document_limit_answers_413(client_for, applicant_draft):
    upload = {"kind": "ethics_approval", "expires_on": "2099-01-01", "file": _pdf(b"%PDF-" + b"0" * 12 * 1024 * 1024)}
    response = client_for("applicant").post(reverse("api:application_documents", args=[applicant_draft.pk]), upload)
    assert_error(response, 413, "too_large")


def test_a_method_the_endpoint_does_not_have_answers_a_json_405(client):
    assert_error(client.get(reverse("api:duo_match")), 405, "method_not_allowed")
    assert_error(client.delete(reverse("api:datasets")), 405, "method_not_allowed")


def test_a_crash_under_api_answers_a_json_500(dataset, monkeypatch):
    def crash(self, request, accession):
        raise RuntimeError("boom")

    monkeypatch.setattr(DatasetDetailApi, "get", crash)
    response = Client(raise_request_exception=False).get(reverse("api:dataset", args=[dataset.accession]))
    body = assert_error(response, 500, "server_error")
    assert "boom" not in body["message"]


def test_validation_errors_of_serializers_name_fields_by_path(client, ontologies):
    body = {"data_use": {**DS_CANCER, "modifiers": [{"term": "DUO:0000025", "months": -2}]}, "purpose": "cancer"}
    answer = assert_error(client.post(reverse("api:duo_match"), body, content_type="application/json"), 400, "invalid")
    assert set(answer["extra"]["fields"]) == {"data_use.modifiers[0].months", "purpose"}
    assert all(isinstance(message, str) for message in answer["extra"]["fields"].values())


def _pdf(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("ethics.pdf", content, content_type="application/pdf")


# --- the OpenAPI document ----------------------------------------------------------------------

# Error components other than the one Error; every module now uses portal.api.ErrorSerializer.
LEGACY_ERRORS: set[str] = set()
# Statuses a view never answers although the rules would infer them (its `schema_omit_statuses`):
# any path answers 200 with an empty list there, never 404.
NEVER_ANSWERED = {"GET /api/v1/permissions/{user_id}": {"404"}}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if path.startswith("/api/"):
                yield f"{method.upper()} {path}", operation


def error_component(response: dict) -> str:
    return response["content"]["application/json"]["schema"]["$ref"].removeprefix("#/components/schemas/")


def test_every_operation_documents_the_errors_its_view_can_answer(schema):
    for name, operation in operations(schema):
        responses = operation["responses"]
        located = {p["in"] for p in operation.get("parameters", [])}
        expected = set()
        if "path" in located:
            expected.add("404")
        if "requestBody" in operation:
            expected |= {"400", "413"}
        if "query" in located:
            expected.add("400")
        if {} not in operation.get("security", [{}]):
            expected.add("401")
        expected -= NEVER_ANSWERED.get(name, set())
        assert expected <= set(responses), (name, sorted(responses))
        assert not NEVER_ANSWERED.get(name, set()) & set(responses), (name, sorted(responses))


def test_every_error_answer_is_the_one_error_shape(schema):
    components = schema["components"]["schemas"]
    shape = components["Error"]["properties"].keys()
    for name, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status >= "400":
                component = error_component(response)
                assert component in {"Error"} | LEGACY_ERRORS, (name, status, component)
                assert components[component]["properties"].keys() == shape


def test_the_rate_limited_matcher_documents_429_and_public_reads_no_401(schema):
    match = schema["paths"]["/api/v1/duo/match"]["post"]["responses"]
    assert error_component(match["429"]) == "Error"
    assert "401" not in schema["paths"]["/api/v1/datasets/{accession}"]["get"]["responses"]


def test_what_an_operation_declares_itself_is_kept(schema):
    responses = schema["paths"]["/api/v1/datasets/{accession}/data-use"]["put"]["responses"]
    assert {"403", "409"} <= set(responses)
    assert "`unchanged`" in responses["409"]["description"]


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
