"""Hostile text and JSON answer a 400 naming the field, never a 500 (portal/input_guard.py).

A NUL (PostgreSQL refuses it in text) or a lone surrogate (psycopg2 cannot encode it) in any text
input: the API answers `invalid` with `extra.fields` naming the field by its path, a page whose
Django form owns the field shows the form's error next to it, and any other page the 400 page with
the field named. JSON nested deeper than MAX_JSON_DEPTH answers `too_deep` before it is decoded."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import minimal_pdf

pytestmark = pytest.mark.django_db

BAD = {"nul": "a\x00b", "surrogate": "a\ud800b"}
GRU = {"permission": "DUO:0000042"}
HMB_PURPOSE = {"primary": "hmb"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "extra"}
    assert body["code"] == code
    return body


def assert_names(response, field: str) -> None:
    body = assert_error(response, 400, "invalid")
    assert field in body["extra"]["fields"], body
    assert "must not contain" in body["extra"]["fields"][field]


def assert_bad_request_page(response, *names: str) -> None:
    assert response.status_code == 400, response.content[:500]
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    for name in names:
        assert name in page


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"x": value}
    return value


def deep_text(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def client_of(client_for) -> Callable[[str], Client]:
    def make(persona: str) -> Client:
        client = client_for(persona)
        client.raise_request_exception = False  # a crash must show as the 500 it answers
        return client

    return make


def send(client: Client, method: str, url: str, body: Any) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(url, data, content_type="application/json")


# --- JSON bodies of the API ---------------------------------------------------------------------


@dataclass(frozen=True)
class JsonInput:
    """One text field of a JSON body: who sends it, where, with `bad` in it, and the path named."""

    persona: str
    method: str
    fixture: str  # the object the URL and the body are built from
    url: Callable[[Any], str]
    body: Callable[[str, Any], Any]
    field: str


def _acc(obj) -> str:
    return obj.accession


def _review_dataset(review) -> str:
    return review.items.get().dataset.accession


JSON_INPUTS = {
    "duo_match data_use.free_text": JsonInput(
        "anonymous",
        "post",
        "dataset",
        lambda o: reverse("api:duo_match"),
        lambda bad, o: {"data_use": {**GRU, "free_text": bad}, "purpose": HMB_PURPOSE},
        "data_use.free_text",
    ),
    "duo_match purpose.diseases[0]": JsonInput(
        "anonymous",
        "post",
        "dataset",
        lambda o: reverse("api:duo_match"),
        lambda bad, o: {"data_use": GRU, "purpose": {"primary": "disease", "diseases": [bad]}},
        "purpose.diseases[0]",
    ),
    "duo_match a key of purpose": JsonInput(
        "anonymous",
        "post",
        "dataset",
        lambda o: reverse("api:duo_match"),
        lambda bad, o: {"data_use": GRU, "purpose": {**HMB_PURPOSE, bad: True}},
        "purpose",
    ),
    "permits/check user": JsonInput(
        "node",
        "post",
        "dataset",
        lambda o: reverse("api:permit_check"),
        lambda bad, o: {"user": bad, "dataset": o.accession},
        "user",
    ),
    "permits/check dataset": JsonInput(
        "node",
        "post",
        "applicant",
        lambda o: reverse("api:permit_check"),
        lambda bad, o: {"user": str(o.sub), "dataset": bad},
        "dataset",
    ),
    "permits/introspect token": JsonInput(
        "node", "post", "dataset", lambda o: reverse("api:permit_introspect"), lambda bad, o: {"token": bad}, "token"
    ),
    "applications create title": JsonInput(
        "applicant",
        "post",
        "dataset",
        lambda o: reverse("api:applications"),
        lambda bad, o: {"title": bad, "datasets": [o.accession]},
        "title",
    ),
    "applications create datasets[0]": JsonInput(
        "applicant",
        "post",
        "dataset",
        lambda o: reverse("api:applications"),
        lambda bad, o: {"datasets": [bad]},
        "datasets[0]",
    ),
    "applications update abstract": JsonInput(
        "applicant",
        "patch",
        "applicant_draft",
        lambda o: reverse("api:application", args=[o.pk]),
        lambda bad, o: {"abstract": bad},
        "abstract",
    ),
    "applications update purpose.free_text": JsonInput(
        "applicant",
        "patch",
        "applicant_draft",
        lambda o: reverse("api:application", args=[o.pk]),
        lambda bad, o: {"purpose": {"primary": "hmb", "free_text": bad}},
        "purpose.free_text",
    ),
    "applications update collaborators[1]": JsonInput(
        "applicant",
        "patch",
        "applicant_draft",
        lambda o: reverse("api:application", args=[o.pk]),
        lambda bad, o: {"collaborators": ["ok@example.org", bad]},
        "collaborators[1]",
    ),
    "applications submit justifications": JsonInput(
        "applicant",
        "post",
        "applicant_draft",
        lambda o: reverse("api:application_submit", args=[o.pk]),
        lambda bad, o: {"justifications": {"GDS000001": bad}},
        "justifications.GDS000001",
    ),
    "reviews vote comment": JsonInput(
        "dac_member",
        "post",
        "applicant_review",
        lambda o: reverse("api:review_votes", args=[o.pk]),
        lambda bad, o: {"vote": "approve", "comment": bad},
        "comment",
    ),
    "reviews return message": JsonInput(
        "dac_chair",
        "post",
        "applicant_review",
        lambda o: reverse("api:review_return", args=[o.pk]),
        lambda bad, o: {"message": bad},
        "message",
    ),
    "reviews decide reason": JsonInput(
        "dac_chair",
        "post",
        "applicant_review",
        lambda o: reverse("api:review_decide", args=[o.pk]),
        lambda bad, o: {"decisions": [{"dataset": _review_dataset(o), "outcome": "reject", "reason": bad}]},
        "decisions[0].reason",
    ),
    "reviews decide conditions": JsonInput(
        "dac_chair",
        "post",
        "applicant_review",
        lambda o: reverse("api:review_decide", args=[o.pk]),
        lambda bad, o: {
            "decisions": [
                {"dataset": _review_dataset(o), "outcome": "approve", "months": 6, "conditions": [{"text": bad}]}
            ]
        },
        "decisions[0].conditions[0].text",
    ),
    "permits revoke reason": JsonInput(
        "dac_chair",
        "post",
        "applicant_permit",
        lambda o: reverse("api:permit_revoke", args=[o.pk]),
        lambda bad, o: {"reason": bad},
        "reason",
    ),
    "datasets data-use note": JsonInput(
        "dac_chair",
        "put",
        "dataset",
        lambda o: reverse("api:dataset_data_use", args=[o.accession]),
        lambda bad, o: {"data_use": GRU, "note": bad},
        "note",
    ),
    "datasets data-use free_text": JsonInput(
        "dac_chair",
        "put",
        "dataset",
        lambda o: reverse("api:dataset_data_use", args=[o.accession]),
        lambda bad, o: {"data_use": {**GRU, "free_text": bad}},
        "data_use.free_text",
    ),
}


@pytest.mark.parametrize("kind", BAD)
@pytest.mark.parametrize("case", JSON_INPUTS.values(), ids=JSON_INPUTS.keys())
def test_bad_text_in_a_json_body_answers_400_naming_the_field(request, client_of, case, kind):
    obj = request.getfixturevalue(case.fixture)
    response = send(client_of(case.persona), case.method, case.url(obj), case.body(BAD[kind], obj))
    assert_names(response, case.field)


def test_bad_text_changes_nothing(client_of, applicant_draft):
    applicant_draft.refresh_from_db()
    before = applicant_draft.title
    url = reverse("api:application", args=[applicant_draft.pk])
    send(client_of("applicant"), "patch", url, {"title": "new", "abstract": "a\x00"})
    applicant_draft.refresh_from_db()
    assert applicant_draft.title == before


def test_a_json_body_made_of_one_bad_string_is_named_body(client_of, node):
    assert_names(send(client_of("node"), "post", reverse("api:permit_check"), '"\\u0000"'), "body")
    assert_names(send(client_of("node"), "post", reverse("api:permit_check"), '["ok", "\\ud800"]'), "body[1]")


def test_a_valid_surrogate_pair_is_text(client_of, ontologies):
    body = {"data_use": {**GRU, "free_text": "\U0001f9ec"}, "purpose": {**HMB_PURPOSE, "free_text": "\U0001f9ec"}}
    assert send(client_of("anonymous"), "post", reverse("api:duo_match"), body).status_code == 200


def test_other_control_characters_are_text(client_of, applicant_draft):
    url = reverse("api:application", args=[applicant_draft.pk])
    response = send(client_of("applicant"), "patch", url, {"abstract": "tab\tbell\x07escape\x1b"})
    assert response.status_code == 200, response.content
    applicant_draft.refresh_from_db()
    assert applicant_draft.abstract == "tab\tbell\x07escape\x1b"


# --- Query strings and path parameters of the API -----------------------------------------------


def test_a_nul_in_a_query_parameter_of_the_api_answers_400_naming_it(client_of, dac_chair, node):
    assert_names(client_of("dac_chair").get(reverse("api:reviews"), {"dac": "a\x00"}), "dac")
    assert_names(client_of("node").get(reverse("api:permit_changes"), {"cursor": "\x00"}), "cursor")
    assert_names(client_of("anonymous").get(reverse("api:datasets"), {"q": "\x00"}), "q")


def test_a_lone_surrogate_in_a_query_decoded_with_the_requests_charset_answers_400(client_of, ontologies):
    # Django decodes the query string with the charset of the request's Content-Type; utf-7 makes
    # "+2AA-" a lone surrogate.
    response = client_of("anonymous").get(
        reverse("api:datasets"), {"q": "+2AA-"}, headers={"Content-Type": "text/plain; charset=utf-7"}
    )
    assert_names(response, "q")


@pytest.mark.parametrize(
    ("path", "parameter"), [("/api/v1/permissions/a%00", "user_id"), ("/api/permissions/a%00", "user")]
)
def test_a_nul_in_a_path_parameter_answers_400_naming_it(client_of, node, path, parameter):
    assert_names(client_of("node").get(path), parameter)


def test_a_bad_query_parameter_name_is_named_query(client_of, ontologies):
    assert_names(client_of("anonymous").get(reverse("api:datasets") + "?q%00=1"), "query")


# --- Pages ---------------------------------------------------------------------------------------


def test_the_disease_autocomplete_refuses_a_nul_in_json_when_asked_for_json(client_of, ontologies):
    url = reverse("datasets:disease_autocomplete")
    assert_names(client_of("anonymous").get(url, {"q": "ca\x00"}, headers={"Accept": "application/json"}), "q")
    assert_bad_request_page(client_of("anonymous").get(url, {"q": "ca\x00"}), "q")


def test_the_disease_autocomplete_refuses_a_lone_surrogate(client_of, ontologies):
    response = client_of("anonymous").get(
        reverse("datasets:disease_autocomplete"),
        {"q": "ca+2AA-"},
        headers={"Content-Type": "text/plain; charset=utf-7", "Accept": "application/json"},
    )
    assert_names(response, "q")


def test_the_draft_autosave_refuses_a_nul_in_a_justification(client_of, applicant_draft):
    accession = applicant_draft.requested.get().dataset.accession
    response = client_of("applicant").post(
        reverse("requests:autosave", args=[applicant_draft.pk]),
        {"title": "fine", f"justification_{accession}": "because\x00"},
        headers={"Accept": "application/json"},
    )
    assert_names(response, f"justification_{accession}")
    applicant_draft.refresh_from_db()
    assert applicant_draft.title != "fine"


def test_the_application_page_refuses_a_nul_with_the_400_page_naming_the_field(client_of, applicant_draft):
    response = client_of("applicant").post(reverse("requests:edit", args=[applicant_draft.pk]), {"title": "x\x00"})
    assert_bad_request_page(response, "title", "NUL")


def test_the_application_page_refuses_a_nul_in_a_multipart_form(client_of, applicant_draft):
    documents = applicant_draft.documents.count()
    upload = SimpleUploadedFile("ethics.pdf", minimal_pdf(), content_type="application/pdf")
    response = client_of("applicant").post(
        reverse("requests:edit", args=[applicant_draft.pk]), {"abstract": "x\x00", "ethics_file": upload}
    )
    assert_bad_request_page(response, "abstract")
    assert applicant_draft.documents.count() == documents


def test_the_document_api_refuses_a_nul_in_a_form_field(client_of, applicant_draft):
    upload = SimpleUploadedFile("ethics.pdf", minimal_pdf(), content_type="application/pdf")
    response = client_of("applicant").post(
        reverse("api:application_documents", args=[applicant_draft.pk]),
        {"kind": "ethics_approval", "expires_on": "2099-01-01\x00", "file": upload},
    )
    assert_names(response, "expires_on")


def test_the_basket_refuses_a_nul_in_an_accession(client_of, applicant):
    assert_bad_request_page(
        client_of("applicant").post(reverse("requests:basket_add"), {"accession": "\x00"}), "accession"
    )


def test_the_decision_page_refuses_a_nul_in_a_reason(client_of, applicant_review, dac_chair):
    accession = _review_dataset(applicant_review)
    response = client_of("dac_chair").post(
        reverse("requests:review_decide", args=[applicant_review.pk]),
        {f"outcome_{accession}": "reject", f"reason_{accession}": "no\x00"},
    )
    assert_bad_request_page(response, f"reason_{accession}")


def test_a_form_page_keeps_its_own_error_next_to_the_field(client_of, ontologies):
    response = client_of("anonymous").get(reverse("datasets:catalogue"), {"q": "cancer\x00"})
    assert response.status_code == 400
    assert "q" in response.context["form"].errors


def test_the_data_use_editor_keeps_its_own_error_next_to_the_field(client_of, dataset, dac_chair):
    response = client_of("dac_chair").post(
        reverse("datasets:edit_data_use", args=[dataset.accession]),
        {"permission": "DUO:0000042", "change_note": "why\x00", "free_text": "fine"},
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"change_note"}


def test_a_form_page_still_refuses_a_lone_surrogate_that_its_form_would_search_for(client_of, ontologies):
    # Forms check for NUL but not for lone surrogates, which a query decoded as utf-7 can carry.
    response = client_of("anonymous").get(
        reverse("datasets:catalogue"), {"q": "a+2AA-"}, headers={"Content-Type": "text/plain; charset=utf-7"}
    )
    assert_bad_request_page(response, "q", "surrogate")


def test_a_session_cookie_holding_a_nul_is_no_session(ontologies):
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"
    assert client.get(reverse("datasets:catalogue")).status_code == 200
    assert client.get(reverse("requests:list")).status_code == 302  # to the sign-in page


# --- Depth ---------------------------------------------------------------------------------------

JSON_BODIES = {name: case for name, case in JSON_INPUTS.items() if not name.startswith("duo_match a key")}


@pytest.mark.parametrize("case", JSON_BODIES.values(), ids=JSON_BODIES.keys())
def test_json_nested_a_thousand_levels_answers_400_too_deep(request, client_of, case):
    obj = request.getfixturevalue(case.fixture)
    response = send(client_of(case.persona), case.method, case.url(obj), deep_text(1000))
    body = assert_error(response, 400, "too_deep")
    assert body["extra"] == {"max_depth": 32}


def test_json_nested_too_deep_inside_a_field_answers_too_deep(client_of, ontologies):
    body = {"data_use": GRU, "purpose": {**HMB_PURPOSE, "free_text": nested(40)}}
    assert_error(send(client_of("anonymous"), "post", reverse("api:duo_match"), body), 400, "too_deep")


def test_unclosed_brackets_answer_too_deep_not_a_crash(client_of, ontologies):
    response = send(client_of("anonymous"), "post", reverse("api:duo_match"), "[" * 100_000)
    assert_error(response, 400, "too_deep")


def test_json_at_the_depth_limit_is_read_stored_and_shown(client_of, applicant_draft):
    # The body is one level, `purpose` another: 30 more make 32.
    purpose = {"primary": "hmb", "notes": nested(30)}
    url = reverse("api:application", args=[applicant_draft.pk])
    response = send(client_of("applicant"), "patch", url, {"purpose": purpose})
    assert response.status_code == 200, response.content[:300]
    assert client_of("applicant").get(url).json()["purpose"] == purpose
    assert client_of("applicant").get(reverse("requests:detail", args=[applicant_draft.pk])).status_code == 200


def test_brackets_inside_strings_are_text(client_of, ontologies):
    body = {"data_use": {**GRU, "free_text": '[{"\\' * 500}, "purpose": HMB_PURPOSE}
    assert send(client_of("anonymous"), "post", reverse("api:duo_match"), body).status_code == 200


def test_the_depth_scan_counts_only_structure():
    from portal.input_guard import json_too_deep

    assert not json_too_deep(deep_text(32))
    assert json_too_deep(deep_text(33))
    assert json_too_deep('{"a": ' * 33 + "1" + "}" * 33)
    assert not json_too_deep('["' + "[" * 100 + '"]')
    assert not json_too_deep(r'["\"[[[[", "\\", "\\\"[[["]')
    assert not json_too_deep("[]" * 10_000)


def test_the_json_walk_names_paths_in_document_order():
    from portal.input_guard import NUL, SURROGATE, json_problems

    value = {"a": ["ok", "\x00"], "b": {"c\ud800": 1, "d": "\ud800"}}
    assert json_problems(value) == {"a[1]": NUL, "b": f"a key {SURROGATE}", "b.d": SURROGATE}
    assert json_problems("\x00") == {"body": NUL}
    assert json_problems(nested(31, "\x00")) == {"x" + "[0].x" * 15: NUL}


# --- What keeps it so ---------------------------------------------------------------------------


def _api_views(patterns=None):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from _api_views(entry.url_patterns)
        elif isinstance(entry, URLPattern) and hasattr(entry.callback, "cls"):
            yield entry.callback.cls


def test_every_api_view_reads_its_body_with_a_guarded_parser():
    from rest_framework.views import APIView

    from portal.input_guard import GuardedFormParser, GuardedJSONParser, GuardedMultiPartParser

    guarded = (GuardedJSONParser, GuardedFormParser, GuardedMultiPartParser)
    views = [view for view in _api_views() if issubclass(view, APIView)]
    assert len(views) > 20
    unguarded = {
        view.__name__: view.parser_classes
        for view in views
        if not all(issubclass(parser, guarded) for parser in view.parser_classes)
    }
    assert unguarded == {}


def test_the_guard_runs_before_the_session_is_read(settings):
    middleware = settings.MIDDLEWARE
    guard = middleware.index("portal.input_guard.InputGuardMiddleware")
    assert guard < middleware.index("django.contrib.sessions.middleware.SessionMiddleware")
