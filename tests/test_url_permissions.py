"""Who may use each URL: one table row per (URL, persona), and a guard that every URL pattern
of the project is in the table, so no endpoint can be added without saying who may use it.

The admin's own patterns are checked by test_admin_is_for_staff_only below, model by model."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import NODES, PEOPLE, PERSONAS

SIGNED_IN = tuple(p for p in PEOPLE if p != "anonymous")


def _with_nodes(expected: dict[str, int], nodes: dict[str, int] | None = None) -> dict[str, int]:
    # A node's key is no person's credential: outside the node API a node is anonymous.
    return {**expected, **dict.fromkeys(NODES, expected["anonymous"]), **(nodes or {})}


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(PERSONAS, status)


def signed_in_only(status: int, anonymous: int = 302) -> dict[str, int]:
    return _with_nodes({"anonymous": anonymous, **dict.fromkeys(SIGNED_IN, status)})


def visitors_only(status: int, signed_in: int = 302) -> dict[str, int]:
    return _with_nodes({"anonymous": status, **dict.fromkeys(SIGNED_IN, signed_in)})


def only(allowed: dict[str, int], *, others: int, anonymous: int) -> dict[str, int]:
    people = {p: allowed.get(p, anonymous if p == "anonymous" else others) for p in PEOPLE}
    return _with_nodes(people, {n: allowed[n] for n in NODES if n in allowed})


def nodes_only(node: int, other_node: int) -> dict[str, int]:
    return {**dict.fromkeys(PEOPLE, UNAUTHENTICATED), "node": node, "other_node": other_node}


BAD_TOKEN = {"uidb64": "MQ", "token": "bad-token"}
DATASET = {"accession": "@dataset.accession"}
MANAGERS = {"dac_chair": 200, "dac_secretary": 200, "staff": 200}
DRAFT = {"pk": "@applicant_draft.pk"}
SUBMISSION = {"pk": "@applicant_submission.pk"}
DOCUMENT = {"pk": "@applicant_submission.pk", "document_pk": "@applicant_document.pk"}
REVIEW = {"pk": "@applicant_review.pk"}
PERMIT = {"pk": "@applicant_permit.pk"}
# The committee of `dataset` reviews the applicant's submission.
REVIEWERS = {"dac_member": 200, "dac_chair": 200, "dac_secretary": 200}
# Personal-token authentication answers 401 to a request without credentials.
UNAUTHENTICATED = 401

# url name -> (method, kwargs, {persona: expected status}[, body]). A value "@fixture.attr" is
# read from that fixture when the test runs.
PERMISSIONS: dict[str, tuple] = {
    "home": ("GET", {}, everyone(200)),
    "healthz": ("GET", {}, everyone(200)),
    "readyz": ("GET", {}, everyone(200)),
    "admin_login": ("GET", {}, everyone(302)),
    "accounts:register": ("GET", {}, visitors_only(200)),
    "accounts:registered": ("GET", {}, everyone(200)),
    "accounts:verify_email": ("GET", BAD_TOKEN, everyone(400)),
    "accounts:resend_verification": ("GET", {}, everyone(200)),
    "accounts:login": ("GET", {}, visitors_only(200)),
    "accounts:logout": ("POST", {}, everyone(302)),
    "accounts:profile": ("GET", {}, signed_in_only(200)),
    # A valid form: the page with the new key is rendered from the POST itself.
    "accounts:token_create": ("POST", {}, signed_in_only(200), {"name": "laptop script"}),
    # Only the owner reaches the token; for everyone else it does not exist.
    "accounts:token_revoke": (
        "POST",
        {"pk": "@applicant_token.pk"},
        only({"applicant": 302}, others=404, anonymous=302),
    ),
    "accounts:password_change": ("GET", {}, signed_in_only(200)),
    "accounts:password_change_done": ("GET", {}, signed_in_only(200)),
    "accounts:password_reset": ("GET", {}, everyone(200)),
    "accounts:password_reset_done": ("GET", {}, everyone(200)),
    "accounts:password_reset_confirm": ("GET", BAD_TOKEN, everyone(200)),
    "accounts:password_reset_complete": ("GET", {}, everyone(200)),
    "about_data": ("GET", {}, everyone(200)),
    "datasets:catalogue": ("GET", {}, everyone(200)),
    "datasets:disease_autocomplete": ("GET", {}, everyone(200)),
    "datasets:check": ("GET", {}, everyone(200)),
    "datasets:detail": ("GET", DATASET, everyone(200)),
    "datasets:edit_data_use": ("GET", DATASET, only(MANAGERS, others=403, anonymous=302)),
    "datasets:data_use_history": ("GET", DATASET, only(MANAGERS, others=403, anonymous=302)),
    "datasets:dac_list": ("GET", {}, everyone(200)),
    "datasets:dac_detail": ("GET", {"slug": "@dac.slug"}, everyone(200)),
    "requests:basket": ("GET", {}, signed_in_only(200)),
    "requests:basket_add": ("POST", {}, signed_in_only(302), {"accession": "@dataset.accession"}),
    "requests:basket_remove": ("POST", {}, signed_in_only(302), {"accession": "@dataset.accession"}),
    "api:datasets": ("GET", {}, everyone(200)),
    "api:dataset": ("GET", DATASET, everyone(200)),
    # An empty body: managers get as far as validation (400); everyone else is refused first.
    "api:dataset_data_use": (
        "PUT",
        DATASET,
        only({"dac_chair": 400, "dac_secretary": 400, "staff": 400}, others=403, anonymous=401),
        {},
    ),
    # An empty body is refused as invalid for everyone: the endpoint is public.
    "api:duo_match": ("POST_JSON", {}, everyone(400), {}),
    "api:schema": ("GET", {}, everyone(200)),
    # Committee review (pages): a review one may not see is 404; seeing but lacking the role is 403.
    "requests:inbox": ("GET", {}, only(REVIEWERS | {"other_dac_member": 200}, others=403, anonymous=302)),
    "requests:review": ("GET", REVIEW, only(REVIEWERS, others=404, anonymous=302)),
    "requests:review_vote": (
        "POST",
        REVIEW,
        only({"dac_member": 400, "dac_chair": 400, "dac_secretary": 403}, others=404, anonymous=302),
        {},
    ),
    "requests:review_note": (
        "POST",
        REVIEW,
        only({"dac_member": 400, "dac_chair": 400, "dac_secretary": 400}, others=404, anonymous=302),
        {},
    ),
    "requests:review_return": (
        "POST",
        REVIEW,
        only({"dac_member": 403, "dac_chair": 400, "dac_secretary": 403}, others=404, anonymous=302),
        {},
    ),
    # The chair is told the quorum is not met yet (a redirect with the message).
    "requests:review_decide": (
        "POST",
        REVIEW,
        only({"dac_member": 403, "dac_chair": 302, "dac_secretary": 403}, others=404, anonymous=302),
        {},
    ),
    "datasets:dac_policy": (
        "GET",
        {"slug": "@dac.slug"},
        only({"dac_chair": 200, "dac_secretary": 200}, others=403, anonymous=302),
    ),
    # Committee review (API).
    "api:reviews": ("GET", {}, signed_in_only(200, anonymous=UNAUTHENTICATED)),
    "api:review": ("GET", REVIEW, only(REVIEWERS, others=404, anonymous=UNAUTHENTICATED)),
    "api:review_votes": (
        "POST_JSON",
        REVIEW,
        only({"dac_member": 400, "dac_chair": 400, "dac_secretary": 403}, others=404, anonymous=UNAUTHENTICATED),
        {},
    ),
    "api:review_return": (
        "POST_JSON",
        REVIEW,
        only({"dac_member": 403, "dac_chair": 400, "dac_secretary": 403}, others=404, anonymous=UNAUTHENTICATED),
        {},
    ),
    "api:review_decide": (
        "POST_JSON",
        REVIEW,
        only({"dac_member": 400, "dac_chair": 400, "dac_secretary": 400}, others=404, anonymous=UNAUTHENTICATED),
        {},
    ),
    # Permits: the grantee's own pages, and revocation by the chair of the permit's committee.
    "requests:permits": ("GET", {}, signed_in_only(200)),
    "requests:passport": ("GET", {}, signed_in_only(200)),
    "requests:permit_revoke": (
        "GET",
        PERMIT,
        only({"dac_chair": 200, "dac_member": 403, "dac_secretary": 403}, others=404, anonymous=302),
    ),
    "api:permit_revoke": (
        "POST_JSON",
        PERMIT,
        only(
            {"applicant": 403, "dac_chair": 400, "dac_member": 403, "dac_secretary": 403},
            others=404,
            anonymous=UNAUTHENTICATED,
        ),
        {},
    ),
    "api:my_permits": ("GET", {}, signed_in_only(200, anonymous=UNAUTHENTICATED)),
    "api:my_passport": ("GET", {}, signed_in_only(200, anonymous=UNAUTHENTICATED)),
    "jwks": ("GET", {}, everyone(200)),
    # The node API: people's credentials are not node keys (401); the scope changes answers, not statuses.
    "api:permissions": ("GET", {"user_id": "@applicant.sub"}, nodes_only(200, 200)),
    "api:permit_introspect": ("POST_JSON", {}, nodes_only(400, 400), {}),
    "api:permit_check": ("POST_JSON", {}, nodes_only(400, 400), {}),
    "api:permit_changes": ("GET", {}, nodes_only(200, 200)),
    "requests:list": ("GET", {}, signed_in_only(200)),
    # An empty basket sends everyone back to it.
    "requests:new": ("POST", {}, signed_in_only(302)),
    "requests:detail": ("GET", SUBMISSION, only(REVIEWERS | {"applicant": 200}, others=404, anonymous=302)),
    "requests:edit": ("GET", DRAFT, only({"applicant": 200}, others=404, anonymous=302)),
    "requests:autosave": ("POST", DRAFT, only({"applicant": 200}, others=404, anonymous=302), {"title": "x"}),
    "requests:agreements": ("GET", DRAFT, only({"applicant": 200}, others=404, anonymous=302)),
    "requests:withdraw": ("POST", DRAFT, only({"applicant": 302}, others=404, anonymous=302)),
    "requests:document": ("GET", DOCUMENT, only(REVIEWERS | {"applicant": 200}, others=404, anonymous=302)),
    "api:applications": ("GET", {}, signed_in_only(200, anonymous=UNAUTHENTICATED)),
    "api:application": ("GET", SUBMISSION, only(REVIEWERS | {"applicant": 200}, others=404, anonymous=UNAUTHENTICATED)),
    "api:application_documents": ("POST", DRAFT, only({"applicant": 400}, others=404, anonymous=UNAUTHENTICATED), {}),
    "api:application_agreements": ("POST", DRAFT, only({"applicant": 200}, others=404, anonymous=UNAUTHENTICATED), {}),
    # Reviewers can see the application but may not act as the applicant: 403, not 404.
    "api:application_submit": (
        "POST_JSON",
        SUBMISSION,
        only({"applicant": 409, **dict.fromkeys(REVIEWERS, 403)}, others=404, anonymous=UNAUTHENTICATED),
        {},
    ),
    "api:application_withdraw": (
        "POST",
        SUBMISSION,
        only({"applicant": 200, **dict.fromkeys(REVIEWERS, 403)}, others=404, anonymous=UNAUTHENTICATED),
        {},
    ),
    "api:docs": ("GET", {}, everyone(200)),
}


def _names(resolver: URLResolver, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            names |= _names(entry, namespace)
        elif isinstance(entry, URLPattern):
            if entry.name is None and not prefix.startswith("admin:"):
                raise AssertionError(f"URL pattern {entry.pattern} has no name, so it cannot be in the table")
            names.add(prefix + (entry.name or str(entry.pattern)))
    return names


def test_every_url_pattern_has_a_row_in_the_permission_table():
    project = {name for name in _names(get_resolver()) if not name.startswith("admin:")}
    missing = sorted(project - PERMISSIONS.keys())
    stale = sorted(PERMISSIONS.keys() - project)
    assert missing == [], f"add these URL names to PERMISSIONS: {missing}"
    assert stale == [], f"these PERMISSIONS rows name no URL: {stale}"


def test_every_row_covers_every_persona():
    for name, (_, _, expected, *_) in PERMISSIONS.items():
        assert set(expected) == set(PERSONAS), f"{name} does not say what each persona gets"


CASES = [
    pytest.param(name, persona, id=f"{name}-{persona}")
    for name, (_, _, expected, *_) in PERMISSIONS.items()
    for persona in expected
]


def _resolve(request, value):
    if isinstance(value, str) and value.startswith("@"):
        fixture, attr = value[1:].split(".")
        return getattr(request.getfixturevalue(fixture), attr)
    return value


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "persona"), CASES)
def test_url_answers_each_persona_as_the_table_says(request, client_for, name, persona):
    method, kwargs, expected, *rest = PERMISSIONS[name]
    body = {k: _resolve(request, v) for k, v in (rest[0] if rest else {}).items()}
    url = reverse(name, kwargs={k: _resolve(request, v) for k, v in kwargs.items()})
    client = client_for(persona)
    if method == "POST":
        response = client.post(url, body)
    elif method == "POST_JSON":
        response = client.post(url, body, content_type="application/json")
    elif method == "PUT":
        response = client.put(url, body, content_type="application/json")
    else:
        response = client.get(url)
    assert response.status_code == expected[persona]


ADMIN_EXPECTED = {p: 200 if p == "staff" else 302 for p in PERSONAS}
ADMIN_CASES = [
    pytest.param(model, view, persona, id=f"{model._meta.label}-{view}-{persona}")
    for model in admin.site._registry
    for view in ("changelist", "add")
    for persona in ADMIN_EXPECTED
]


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "view", "persona"), ADMIN_CASES)
def test_admin_is_for_staff_only(request, client_for, model, view, persona):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}")
    response = client_for(persona).get(url)
    expected = ADMIN_EXPECTED[persona]
    if persona == "staff" and view == "add":
        probe = RequestFactory().get(url)
        probe.user = request.getfixturevalue("staff")
        if not admin.site._registry[model].has_add_permission(probe):
            expected = 403  # read-only models (audit log) refuse even staff
    assert response.status_code == expected
