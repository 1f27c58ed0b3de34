"""Every text field of the people's and the nodes' JSON APIs, and every query parameter anyone may
send, filled with hostile values by hypothesis: control characters, lone surrogates, 100 kB
strings, values nested past the depth limit, values of the wrong type, and raw bodies that are no
JSON at all. Callers: anonymous, researchers and committee members with their personal tokens, the
hosting node and a broker with their keys. Never a 5xx; every answer of the API has a status its
operation documents in the OpenAPI document and a body that status's schema describes (checked
with jsonschema), and every error is the one JSON error shape; a NUL or a lone surrogate anywhere
answers 400 `invalid`, and a body nested too deep 400 `too_deep` (portal/input_guard.py).

Bounded and derandomized: the same examples on every run, well under a minute in all."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

pytestmark = pytest.mark.django_db

MAX_DEPTH = 32  # portal.input_guard.MAX_JSON_DEPTH, restated: the tests are its oracle

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # a fixed sequence of examples: CI fails on the same input every time
    database=None,  # no .hypothesis/ directory in a tree shared with others
    # The fixtures (personas, a draft, a review) are made once per test; the examples share them.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- The oracle ---------------------------------------------------------------------------------


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def bad_text(value: Any) -> bool:
    """A NUL or a lone surrogate in any string or key."""
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(bad_text(k) or bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(map(bad_text, value))
    return False


@functools.cache
def openapi() -> dict:
    # Not a fixture: hypothesis would print the whole document with every failing example.
    return SchemaGenerator().get_schema(request=None, public=True)


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's schema dialect as JSON Schema: `nullable: true` becomes a null alternative."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if not node.get("nullable"):
        return schema
    if "type" in schema:
        return {
            **schema,
            "type": [schema["type"], "null"],
            **({"enum": [*schema["enum"], None]} if "enum" in schema else {}),
        }
    return {"anyOf": [schema, {"type": "null"}]}


@functools.cache
def answer_validator(method: str, path: str, status: int) -> Draft202012Validator | None:
    document = openapi()
    content = document["paths"][path][method.lower()]["responses"][str(status)].get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return None
    root = {**_json_schema(schema), "components": _json_schema(document["components"])}
    return Draft202012Validator(root)


def check(response, operation: tuple[str, str], sent: Any = None) -> dict | None:
    """The rules every answer keeps (no server error, a documented status, a body its schema
    describes, the one error shape); returns the error body, if any."""
    method, path = operation
    status = response.status_code
    assert status < 500, (operation, status, response.content[:300])
    documented = openapi()["paths"][path][method.lower()]["responses"]
    assert str(status) in documented, (operation, status, response.content[:300])
    validator = answer_validator(method, path, status)
    if validator is not None:
        assert response["Content-Type"] == "application/json", (operation, status)
        problems = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(response.json())]
        assert problems == [], (operation, status, problems)
    if status < 400:
        return None
    assert response["Content-Type"] == "application/json", (operation, status)
    body = response.json()
    assert set(body) == {"code", "message", "extra"}, body
    if sent is not None and depth(sent) > MAX_DEPTH:
        assert (status, body["code"]) == (400, "too_deep"), body
    elif sent is not None and bad_text(sent):
        assert (status, body["code"]) == (400, "invalid"), body
    return body


# --- Hostile values -----------------------------------------------------------------------------


def nested(levels: int) -> Any:
    value: Any = "leaf"
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


def _around(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.text(max_size=4), core, st.text(max_size=4)).map("".join)


# NUL among the other control characters half the time: hypothesis draws it rarely by itself.
control = st.one_of(st.just("\x00"), st.characters(codec=None, categories=["Cc"]))
controls = _around(st.text(control, min_size=1, max_size=8))
surrogates = _around(st.text(st.characters(codec=None, categories=["Cs"]), min_size=1, max_size=3))
huge = st.sampled_from(["x" * 100_000, "\u00e9\U0001f9ec" * 33_000, "y" * 99_999 + "\x00", "[" * 100_000])
any_text = st.text(st.characters(codec=None, exclude_categories=["Cs"]), max_size=30)
wrong_types = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),  # NaN and the infinities are not JSON: a strict parser refuses them
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=3),
)
deep = st.integers(min_value=MAX_DEPTH - 4, max_value=400).map(nested)
# A kind drawn first, so that each is tried about as often (one_of leans to its simplest branches).
hostile = st.sampled_from([controls, surrogates, huge, deep, any_text, wrong_types]).flatmap(lambda kind: kind)


def put(body: dict, path: tuple, value: Any) -> dict:
    """A copy of `body` with `value` at `path` (keys and list indexes)."""
    body = json.loads(json.dumps(body))
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


# --- The JSON bodies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BodyField:
    operation: tuple[str, str]  # as in the OpenAPI document
    persona: str
    url: Callable[[dict], str]  # from the test's objects
    body: Callable[[dict], dict]  # a valid body
    path: tuple

    def __str__(self) -> str:
        return f"{self.operation[0]} {self.operation[1]} {'.'.join(map(str, self.path))}"


GRU = {"permission": "DUO:0000042"}
DS = {
    "permission": "DUO:0000007",
    "diseases": ["MONDO:0007254"],
    "modifiers": [{"term": "DUO:0000024", "date": "2030-01-01"}],
}
PURPOSE = {"primary": "disease", "diseases": ["MONDO:0007254"], "country": "FI", "project": "p", "free_text": ""}


def _fields(operation, persona, url, body, *paths) -> list[BodyField]:
    return [BodyField(operation, persona, url, body, path) for path in paths]


APP = "/api/v1/applications/{id}"
APPLICATION_FIELDS = [
    *_fields(
        ("POST", "/api/v1/applications"),
        "applicant",
        lambda o: "/api/v1/applications",
        lambda o: {"datasets": [o["accession"]], "title": "t"},
        ("title",),
        ("lay_summary",),
        ("abstract",),
        ("datasets", 0),
        ("purpose",),
        ("collaborators",),
        ("requested_months",),
    ),
    *_fields(
        ("PATCH", APP),
        "applicant",
        lambda o: f"/api/v1/applications/{o['draft']}",
        lambda o: {"title": "t", "purpose": dict(PURPOSE), "collaborators": ["c@example.org"]},
        ("title",),
        ("abstract",),
        ("purpose", "primary"),
        ("purpose", "diseases", 0),
        ("purpose", "free_text"),
        ("purpose", "country"),
        ("collaborators", 0),
        ("datasets",),
    ),
    *_fields(
        ("POST", APP + "/submit"),
        "applicant",
        lambda o: f"/api/v1/applications/{o['draft']}/submit",
        lambda o: {"justifications": {o["accession"]: "why"}},
        ("justifications",),
        ("justifications", "GDS000001"),
    ),
]

REVIEW = "/api/v1/reviews/{id}"
REVIEW_FIELDS = [
    *_fields(
        ("POST", REVIEW + "/votes"),
        "dac_member",
        lambda o: f"/api/v1/reviews/{o['review']}/votes",
        lambda o: {"vote": "approve", "comment": "ok"},
        ("vote",),
        ("comment",),
        ("conflict_of_interest",),
    ),
    *_fields(
        ("POST", REVIEW + "/return"),
        "dac_chair",
        lambda o: f"/api/v1/reviews/{o['review']}/return",
        lambda o: {"message": "please"},
        ("message",),
    ),
    *_fields(
        ("POST", REVIEW + "/decide"),
        "dac_chair",
        lambda o: f"/api/v1/reviews/{o['review']}/decide",
        lambda o: {"decisions": [{"dataset": o["accession"], "outcome": "reject", "reason": "no", "conditions": []}]},
        ("decisions", 0, "dataset"),
        ("decisions", 0, "outcome"),
        ("decisions", 0, "reason"),
        ("decisions", 0, "months"),
        ("decisions", 0, "conditions"),
    ),
]

CHAIR_FIELDS = [
    *_fields(
        ("POST", "/api/v1/permits/{id}/revoke"),
        "dac_chair",
        lambda o: f"/api/v1/permits/{o['permit']}/revoke",
        lambda o: {"reason": "misuse"},
        ("reason",),
    ),
    *_fields(
        ("PUT", "/api/v1/datasets/{accession}/data-use"),
        "dac_chair",
        lambda o: f"/api/v1/datasets/{o['accession']}/data-use",
        lambda o: {"data_use": dict(DS), "note": "n"},
        ("note",),
        ("data_use", "permission"),
        ("data_use", "diseases", 0),
        ("data_use", "modifiers", 0, "date"),
        ("data_use", "free_text"),
        ("data_use", "duo_version"),
    ),
]

NODE_FIELDS = [
    *_fields(
        ("POST", "/api/v1/permits/check"),
        "node",
        lambda o: "/api/v1/permits/check",
        lambda o: {"user": o["sub"], "dataset": o["accession"]},
        ("user",),
        ("dataset",),
    ),
    *_fields(
        ("POST", "/api/v1/permits/introspect"),
        "node",
        lambda o: "/api/v1/permits/introspect",
        lambda o: {"token": "eyJ.x.y"},
        ("token",),
    ),
]

MATCH_FIELDS = _fields(
    ("POST", "/api/v1/duo/match"),
    "anonymous",
    lambda o: "/api/v1/duo/match",
    lambda o: {"data_use": dict(DS), "purpose": dict(PURPOSE)},
    ("data_use", "permission"),
    ("data_use", "diseases", 0),
    ("data_use", "modifiers", 0, "term"),
    ("data_use", "modifiers", 0, "date"),
    ("data_use", "free_text"),
    ("purpose", "primary"),
    ("purpose", "diseases", 0),
    ("purpose", "country"),
    ("purpose", "institution"),
    ("purpose", "user"),
    ("purpose", "project"),
    ("purpose", "free_text"),
    ("purpose", "commercial"),
    ("purpose", "for_profit_organisation"),
)


@pytest.fixture
def clients(client_for, applicant, dac_chair, dac_member, node) -> dict[str, Client]:
    """The people with their personal tokens (`Authorization: Token gapp_...`), the node hosting
    the dataset and a broker with their keys (`Authorization: Api-Key gapn_...`)."""
    from accounts.services import personal_token_create
    from datasets.services import node_key_create
    from tests.factories import NodeFactory

    _, broker_key = node_key_create(node=NodeFactory(slug="broker"), name="fuzz", days=None, broker=True)
    made = {
        "anonymous": Client(),
        "node": client_for("node"),
        "broker": Client(HTTP_AUTHORIZATION=f"Api-Key {broker_key}"),
    }
    for name, user in {"applicant": applicant, "dac_chair": dac_chair, "dac_member": dac_member}.items():
        _, key = personal_token_create(user=user, name="fuzz")
        made[name] = Client(HTTP_AUTHORIZATION=f"Token {key}")
    for client in made.values():
        client.raise_request_exception = False  # a crash must show as the 500 it answers
    return made


def send_json(client: Client, method: str, url: str, body: Any) -> Any:
    return getattr(client, method.lower())(url, json.dumps(body), content_type="application/json")


def _kind(value: Any) -> str:
    if depth(value) > MAX_DEPTH:
        return "too deep"
    if bad_text(value):
        return "NUL or lone surrogate"
    return type(value).__name__


def fuzz_body(clients, objects, field: BodyField, value: Any) -> None:
    event(_kind(value))
    body = put(field.body(objects), field.path, value)
    response = send_json(clients[field.persona], field.operation[0], field.url(objects), body)
    check(response, field.operation, body)


@FUZZ
@given(field=st.sampled_from(APPLICATION_FIELDS), value=hostile)
def test_the_application_api_answers_any_value_of_any_field(clients, applicant, dataset, field, value):
    from requests import services

    draft = services.application_create(applicant=applicant, datasets=[dataset])
    objects = {"draft": draft.pk, "accession": dataset.accession}
    fuzz_body(clients, objects, field, value)


@FUZZ
@given(field=st.sampled_from(REVIEW_FIELDS), value=hostile)
def test_the_review_api_answers_any_value_of_any_field(clients, applicant_review, field, value):
    objects = {"review": applicant_review.pk, "accession": applicant_review.items.get().dataset.accession}
    fuzz_body(clients, objects, field, value)


@FUZZ
@given(field=st.sampled_from(CHAIR_FIELDS), value=hostile)
def test_the_chairs_api_answers_any_value_of_any_field(clients, applicant_permit, dataset, field, value):
    objects = {"permit": applicant_permit.pk, "accession": dataset.accession}
    fuzz_body(clients, objects, field, value)


@FUZZ
@given(field=st.sampled_from(NODE_FIELDS + MATCH_FIELDS), value=hostile, broker=st.booleans())
def test_the_node_api_and_the_matcher_answer_any_value_of_any_field(clients, applicant, dataset, field, value, broker):
    objects = {"sub": str(applicant.sub), "accession": dataset.accession}
    if broker and field.persona == "node":
        field = dataclasses.replace(field, persona="broker")
    fuzz_body(clients, objects, field, value)


# --- Raw bodies ---------------------------------------------------------------------------------

raw_bodies = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(
        [
            b"",
            b"NaN",
            b'{"token": Infinity}',
            b"9" * 5000,  # past Python's 4300 digits for int()
            b'{"a": 1e999999}',
            b"\xef\xbb\xbf{}",
            b'{"token": "\xed\xa0\x80"}',  # a surrogate in UTF-8: not UTF-8
            b"[" * 100_000,
            b'{"a":' * 5000,
            b'"' + b"\\" * 10_001 + b'"',
            b"{}" * 50_000,
        ]
    ),
)
RAW_TARGETS = [
    ("node", ("POST", "/api/v1/permits/check"), lambda o: "/api/v1/permits/check"),
    ("node", ("POST", "/api/v1/permits/introspect"), lambda o: "/api/v1/permits/introspect"),
    ("anonymous", ("POST", "/api/v1/duo/match"), lambda o: "/api/v1/duo/match"),
    ("applicant", ("POST", "/api/v1/applications"), lambda o: "/api/v1/applications"),
    ("applicant", ("PATCH", APP), lambda o: f"/api/v1/applications/{o['draft']}"),
    ("applicant", ("POST", APP + "/submit"), lambda o: f"/api/v1/applications/{o['draft']}/submit"),
]
CHARSETS = ["", "; charset=utf-8", "; charset=utf-16", "; charset=utf-7", "; charset=unicode_escape", "; charset=bz2"]


@FUZZ
@given(target=st.sampled_from(RAW_TARGETS), raw=raw_bodies, charset=st.sampled_from(CHARSETS))
def test_a_body_that_is_not_json_never_crashes(clients, applicant_draft, target, raw, charset):
    persona, operation, url = target
    client = clients[persona]
    # generic() sends the bytes as they are; post() would re-encode them to the charset named.
    response = client.generic(
        operation[0], url({"draft": applicant_draft.pk}), raw, content_type=f"application/json{charset}"
    )
    check(response, operation)


# --- Query strings and path parameters ----------------------------------------------------------

query_values = st.one_of(any_text, controls, huge, st.binary(max_size=12), surrogates)


def query_string(name: str, value: str | bytes) -> tuple[str, dict]:
    """`name=value` percent-encoded, and the headers that make the server decode it back: a lone
    surrogate travels as utf-7, which Django uses when the request's Content-Type names it."""
    if isinstance(value, bytes):
        return f"{name}={quote_from_bytes(value)}", {}
    if bad_text(value.replace("\x00", "")):
        return f"{name}={quote_from_bytes(value.encode('utf-7'))}", {"Content-Type": "text/plain; charset=utf-7"}
    return f"{name}={quote(value)}", {}


def sent_text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


ANONYMOUS_API_PARAMETERS = ["q", "permission", "disease", "dac", "node", "country", "page", "page_size"]
PAGES = {
    "/datasets/": ["q", "permission", "disease", "dac", "node", "country", "page"],
    "/datasets/check/": ["primary", "dataset", "diseases", "country", "project", "institution", "free_text"],
    "/datasets/diseases/autocomplete/": ["q"],
}


@FUZZ
@given(name=st.sampled_from(ANONYMOUS_API_PARAMETERS), value=query_values)
def test_the_catalogue_api_answers_any_query_parameter(clients, dataset, name, value):
    query, headers = query_string(name, value)
    response = clients["anonymous"].get(f"/api/v1/datasets?{query}", headers=headers)
    check(response, ("GET", "/api/v1/datasets"), {name: sent_text(value)})


@FUZZ
@given(page=st.sampled_from(sorted(PAGES)), data=st.data(), value=query_values, json_wanted=st.booleans())
def test_the_public_pages_answer_any_query_parameter(clients, dataset, page, data, value, json_wanted):
    name = data.draw(st.sampled_from(PAGES[page]))
    query, headers = query_string(name, value)
    if page == "/datasets/check/":
        query += f"&primary=disease&dataset={dataset.accession}"
    if json_wanted:
        headers["Accept"] = "application/json"
    response = clients["anonymous"].get(f"{page}?{query}", headers=headers)
    assert response.status_code < 500, (page, name, response.content[:300])
    if response.status_code == 400 and bad_text(sent_text(value)) and response["Content-Type"] == "application/json":
        assert response.json()["code"] == "invalid"


NODE_QUERIES = [
    (("GET", "/api/v1/permits/changes"), "/api/v1/permits/changes", "cursor"),
    (("GET", "/api/v1/permits/changes"), "/api/v1/permits/changes", "limit"),
    (("GET", "/api/v1/permissions/{user_id}"), "/api/v1/permissions/someone", "expired"),
    (("GET", "/api/permissions/{user}"), "/api/permissions/someone", "expired"),
]


@FUZZ
@given(target=st.sampled_from(NODE_QUERIES), value=query_values, caller=st.sampled_from(["node", "broker"]))
def test_the_node_api_answers_any_query_parameter(clients, target, value, caller):
    operation, url, name = target
    query, headers = query_string(name, value)
    response = clients[caller].get(f"{url}?{query}", headers=headers)
    check(response, operation, {name: sent_text(value)})


# A `/` cannot be part of the v1 path's `user_id` (a federated id with one uses the REMS path).
user_ids = st.one_of(any_text, controls, st.sampled_from(["x" * 100_000, "\x00", "%", "..", "a@b.org"])).filter(
    lambda s: s and "/" not in s
)


@FUZZ
@given(user=user_ids, rems=st.booleans(), caller=st.sampled_from(["node", "broker", "applicant"]))
def test_the_node_api_answers_any_user_in_the_path(clients, user, rems, caller):
    operation = ("GET", "/api/permissions/{user}") if rems else ("GET", "/api/v1/permissions/{user_id}")
    prefix = "/api/permissions/" if rems else "/api/v1/permissions/"
    if caller == "applicant" and not rems:
        caller = "node"  # the v1 path is for keys only; a researcher's token asks the REMS path
    response = clients[caller].get(prefix + quote(user, safe=""))
    check(response, operation, {"user": user})


def test_a_page_past_the_last_is_a_documented_404(clients, dataset):
    # Found by the catalogue's fuzz: DRF's paginator answers 404, which the document did not say.
    response = clients["anonymous"].get("/api/v1/datasets?page=999")
    assert check(response, ("GET", "/api/v1/datasets"))["code"] == "not_found"
