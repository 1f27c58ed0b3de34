"""Who may use each URL with each HTTP method: one table row per (URL name, method), saying what
every persona gets, and a guard that every URL pattern of the project, with every method its view
accepts, is in the table, so no endpoint and no new way of writing to one can be added without
saying who may use it.

For a method that writes, the personas who may not act must be refused (302 to the sign-in page,
401, 403, 404, or 405); those who may get a non-refusal, usually a 400 for the empty body, which
shows that the permission check let them through to validation.

The admin's own patterns are checked by test_admin_is_for_staff_only below, model by model."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import NODES, PEOPLE, PERSONAS

SIGNED_IN = tuple(p for p in PEOPLE if p != "anonymous")
# The methods that need a row when a view accepts them (HEAD and OPTIONS follow GET and the view
# class, and write nothing).
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def applicant_identity(applicant):
    from accounts.models import FederatedIdentity

    return FederatedIdentity.objects.create(user=applicant, issuer="https://login.example.org/", subject="a@x")


@dataclass(frozen=True)
class Row:
    """What each persona gets from one method on one URL. A kwargs or body value "@fixture.attr"
    is read from that fixture when the test runs. POST sends a form unless `json`; PUT, PATCH
    and DELETE always send JSON."""

    expected: dict[str, int]
    kwargs: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] = field(default_factory=dict)
    json: bool = False


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
# A form posted empty: whoever gets past the permission check is told what is missing (400), or,
# where the view binds its form with `request.POST or None`, shown the blank form again (200).
INVALID = 400
EMPTY_FORM = 200

PERMISSIONS: dict[tuple[str, str], Row] = {
    ("home", "GET"): Row(everyone(200)),
    ("healthz", "GET"): Row(everyone(200)),
    ("readyz", "GET"): Row(everyone(200)),
    ("admin_login", "GET"): Row(everyone(302)),
    ("jwks", "GET"): Row(everyone(200)),
    ("about_data", "GET"): Row(everyone(200)),
    # Accounts. Forms for visitors send the signed-in to their profile (302).
    ("accounts:register", "GET"): Row(visitors_only(200)),
    ("accounts:register", "POST"): Row(visitors_only(EMPTY_FORM)),
    ("accounts:registered", "GET"): Row(everyone(200)),
    ("accounts:verify_email", "GET"): Row(everyone(400), BAD_TOKEN),
    ("accounts:verify_email", "POST"): Row(everyone(400), BAD_TOKEN),
    ("accounts:resend_verification", "GET"): Row(everyone(200)),
    ("accounts:resend_verification", "POST"): Row(everyone(EMPTY_FORM)),
    ("accounts:login", "GET"): Row(visitors_only(200)),
    ("accounts:login", "POST"): Row(visitors_only(INVALID)),
    # Django's form views treat PUT as POST (with no form data: PUT bodies are not parsed).
    ("accounts:login", "PUT"): Row(visitors_only(INVALID)),
    ("accounts:logout", "POST"): Row(everyone(302)),
    ("accounts:profile", "GET"): Row(signed_in_only(200)),
    ("accounts:profile", "POST"): Row(signed_in_only(EMPTY_FORM)),
    # A valid form: the page with the new key is rendered from the POST itself.
    ("accounts:token_create", "POST"): Row(signed_in_only(200), body={"name": "laptop script"}),
    # Only the owner reaches the token; for everyone else it does not exist.
    ("accounts:token_revoke", "POST"): Row(
        only({"applicant": 302}, others=404, anonymous=302), {"pk": "@applicant_token.pk"}
    ),
    # Sign-in with the identity provider: not configured in this table's settings, so every route
    # of it answers 404 (tests/accounts/test_oidc_sign_in.py runs it against a real provider).
    ("accounts:oidc_login", "GET"): Row(everyone(404)),
    ("accounts:oidc_callback", "GET"): Row(everyone(404)),
    ("accounts:oidc_link", "POST"): Row(signed_in_only(404)),
    # Only the owner reaches their identity (and may unlink it: they have a password).
    ("accounts:identity_unlink", "POST"): Row(
        only({"applicant": 302}, others=404, anonymous=302), {"pk": "@applicant_identity.pk"}
    ),
    ("accounts:profile_complete", "GET"): Row(signed_in_only(200)),
    ("accounts:profile_complete", "POST"): Row(signed_in_only(EMPTY_FORM)),
    # Everyone here has a password already: the page sends them to the change form.
    ("accounts:password_set", "GET"): Row(signed_in_only(302)),
    ("accounts:password_set", "POST"): Row(signed_in_only(302)),
    ("accounts:password_change", "GET"): Row(signed_in_only(200)),
    ("accounts:password_change", "POST"): Row(signed_in_only(INVALID)),
    ("accounts:password_change", "PUT"): Row(signed_in_only(INVALID)),
    ("accounts:password_change_done", "GET"): Row(signed_in_only(200)),
    ("accounts:password_reset", "GET"): Row(everyone(200)),
    ("accounts:password_reset", "POST"): Row(everyone(INVALID)),
    ("accounts:password_reset", "PUT"): Row(everyone(INVALID)),
    ("accounts:password_reset_done", "GET"): Row(everyone(200)),
    # A bad link shows the "link no longer valid" page, whatever the method.
    ("accounts:password_reset_confirm", "GET"): Row(everyone(200), BAD_TOKEN),
    ("accounts:password_reset_confirm", "POST"): Row(everyone(200), BAD_TOKEN),
    ("accounts:password_reset_confirm", "PUT"): Row(everyone(200), BAD_TOKEN),
    ("accounts:password_reset_complete", "GET"): Row(everyone(200)),
    # Datasets and committees.
    ("datasets:catalogue", "GET"): Row(everyone(200)),
    ("datasets:disease_autocomplete", "GET"): Row(everyone(200)),
    ("datasets:check", "GET"): Row(everyone(200)),
    ("datasets:detail", "GET"): Row(everyone(200), DATASET),
    ("datasets:edit_data_use", "GET"): Row(only(MANAGERS, others=403, anonymous=302), DATASET),
    ("datasets:edit_data_use", "POST"): Row(
        only(dict.fromkeys(MANAGERS, EMPTY_FORM), others=403, anonymous=302), DATASET
    ),
    ("datasets:data_use_history", "GET"): Row(only(MANAGERS, others=403, anonymous=302), DATASET),
    ("datasets:dac_list", "GET"): Row(everyone(200)),
    ("datasets:dac_detail", "GET"): Row(everyone(200), {"slug": "@dac.slug"}),
    # A committee's policy is its own: staff may not change it.
    ("datasets:dac_policy", "GET"): Row(
        only({"dac_chair": 200, "dac_secretary": 200}, others=403, anonymous=302), {"slug": "@dac.slug"}
    ),
    ("datasets:dac_policy", "POST"): Row(
        only({"dac_chair": INVALID, "dac_secretary": INVALID}, others=403, anonymous=302), {"slug": "@dac.slug"}
    ),
    ("api:datasets", "GET"): Row(everyone(200)),
    ("api:dataset", "GET"): Row(everyone(200), DATASET),
    # An empty body: managers get as far as validation (400); everyone else is refused first.
    ("api:dataset_data_use", "PUT"): Row(
        only({"dac_chair": 400, "dac_secretary": 400, "staff": 400}, others=403, anonymous=401), DATASET
    ),
    # An empty body is refused as invalid for everyone: the endpoint is public.
    ("api:duo_match", "POST"): Row(everyone(400), json=True),
    ("api:schema", "GET"): Row(everyone(200)),
    ("api:docs", "GET"): Row(everyone(200)),
    # The basket.
    ("requests:basket", "GET"): Row(signed_in_only(200)),
    ("requests:basket_add", "POST"): Row(signed_in_only(302), body={"accession": "@dataset.accession"}),
    ("requests:basket_remove", "POST"): Row(signed_in_only(302), body={"accession": "@dataset.accession"}),
    # Committee review (pages): a review one may not see is 404; seeing but lacking the role is 403.
    ("requests:inbox", "GET"): Row(only(REVIEWERS | {"other_dac_member": 200}, others=403, anonymous=302)),
    ("requests:review", "GET"): Row(only(REVIEWERS, others=404, anonymous=302), REVIEW),
    ("requests:review_vote", "POST"): Row(
        only({"dac_member": 400, "dac_chair": 400, "dac_secretary": 403}, others=404, anonymous=302), REVIEW
    ),
    ("requests:review_note", "POST"): Row(
        only({"dac_member": 400, "dac_chair": 400, "dac_secretary": 400}, others=404, anonymous=302), REVIEW
    ),
    ("requests:review_return", "POST"): Row(
        only({"dac_member": 403, "dac_chair": 400, "dac_secretary": 403}, others=404, anonymous=302), REVIEW
    ),
    # The chair is told the quorum is not met yet (a redirect with the message).
    ("requests:review_decide", "POST"): Row(
        only({"dac_member": 403, "dac_chair": 302, "dac_secretary": 403}, others=404, anonymous=302), REVIEW
    ),
    # Opening the address of a form of the review page (a reload, a bookmark) shows the review with
    # a message to whoever sees it; it acts on nothing.
    ("requests:review_vote", "GET"): Row(only(dict.fromkeys(REVIEWERS, 302), others=404, anonymous=302), REVIEW),
    ("requests:review_note", "GET"): Row(only(dict.fromkeys(REVIEWERS, 302), others=404, anonymous=302), REVIEW),
    ("requests:review_return", "GET"): Row(only(dict.fromkeys(REVIEWERS, 302), others=404, anonymous=302), REVIEW),
    ("requests:review_decide", "GET"): Row(only(dict.fromkeys(REVIEWERS, 302), others=404, anonymous=302), REVIEW),
    ("requests:review_decide_confirm", "GET"): Row(
        only(dict.fromkeys(REVIEWERS, 302), others=404, anonymous=302), REVIEW
    ),
    # The summary of a decision before it is recorded: the chair's alone; it writes nothing.
    ("requests:review_decide_confirm", "POST"): Row(
        only({"dac_member": 403, "dac_chair": 200, "dac_secretary": 403}, others=404, anonymous=302), REVIEW
    ),
    # Declaring a conflict of interest: the page that says what it does, and the declaration (a
    # secretary has no vote to step out of).
    ("requests:review_conflict", "GET"): Row(
        only({"dac_member": 200, "dac_chair": 200, "dac_secretary": 403}, others=404, anonymous=302), REVIEW
    ),
    ("requests:review_conflict", "POST"): Row(
        only({"dac_member": 302, "dac_chair": 302, "dac_secretary": 403}, others=404, anonymous=302), REVIEW
    ),
    # Committee review (API).
    ("api:reviews", "GET"): Row(signed_in_only(200, anonymous=UNAUTHENTICATED)),
    ("api:review", "GET"): Row(only(REVIEWERS, others=404, anonymous=UNAUTHENTICATED), REVIEW),
    ("api:review_votes", "POST"): Row(
        only({"dac_member": 400, "dac_chair": 400, "dac_secretary": 403}, others=404, anonymous=UNAUTHENTICATED),
        REVIEW,
        json=True,
    ),
    ("api:review_return", "POST"): Row(
        only({"dac_member": 403, "dac_chair": 400, "dac_secretary": 403}, others=404, anonymous=UNAUTHENTICATED),
        REVIEW,
        json=True,
    ),
    # Only the chair decides; the other roles are refused before the body is read.
    ("api:review_decide", "POST"): Row(
        only({"dac_member": 403, "dac_chair": 400, "dac_secretary": 403}, others=404, anonymous=UNAUTHENTICATED),
        REVIEW,
        json=True,
    ),
    # Permits: the grantee's own pages, and revocation by the chair of the permit's committee. The
    # grantee and the committee's other roles see the permit, so they are refused with 403.
    ("requests:permits", "GET"): Row(signed_in_only(200)),
    ("requests:passport", "GET"): Row(signed_in_only(200)),
    ("requests:permit_revoke", "GET"): Row(
        only({"applicant": 403, "dac_chair": 200, "dac_member": 403, "dac_secretary": 403}, others=404, anonymous=302),
        PERMIT,
    ),
    ("requests:permit_revoke", "POST"): Row(
        only(
            {"applicant": 403, "dac_chair": INVALID, "dac_member": 403, "dac_secretary": 403},
            others=404,
            anonymous=302,
        ),
        PERMIT,
    ),
    ("api:permit_revoke", "POST"): Row(
        only(
            {"applicant": 403, "dac_chair": 400, "dac_member": 403, "dac_secretary": 403},
            others=404,
            anonymous=UNAUTHENTICATED,
        ),
        PERMIT,
        json=True,
    ),
    ("api:my_permits", "GET"): Row(signed_in_only(200, anonymous=UNAUTHENTICATED)),
    ("api:my_passport", "GET"): Row(signed_in_only(200, anonymous=UNAUTHENTICATED)),
    # The node API: people's credentials are not node keys (401); the scope changes answers, not statuses.
    ("api:permissions", "GET"): Row(nodes_only(200, 200), {"user_id": "@applicant.sub"}),
    ("api:permit_introspect", "POST"): Row(nodes_only(400, 400), json=True),
    ("api:permit_check", "POST"): Row(nodes_only(400, 400), json=True),
    ("api:permit_changes", "GET"): Row(nodes_only(200, 200)),
    # The REMS-compatible path: node keys (either header) or a person's own token, never a session;
    # a known person answers 200 to every node. tests/requests/test_rems_api.py has the tokens.
    ("rems:permissions", "GET"): Row(nodes_only(200, 200), {"user": "@applicant.sub"}),
    ("rems:jwk", "GET"): Row(everyone(200)),
    # Applications (pages).
    ("requests:list", "GET"): Row(signed_in_only(200)),
    # An empty basket sends everyone back to it.
    ("requests:new", "POST"): Row(signed_in_only(302)),
    ("requests:detail", "GET"): Row(only(REVIEWERS | {"applicant": 200}, others=404, anonymous=302), SUBMISSION),
    ("requests:edit", "GET"): Row(only({"applicant": 200}, others=404, anonymous=302), DRAFT),
    # A draft keeps whatever is typed, even nothing: "Draft saved" and back to the form.
    ("requests:edit", "POST"): Row(only({"applicant": 302}, others=404, anonymous=302), DRAFT),
    ("requests:autosave", "POST"): Row(only({"applicant": 200}, others=404, anonymous=302), DRAFT, {"title": "x"}),
    # The consent check of the purpose as typed: the applicant's, and it saves nothing.
    ("requests:consent_check", "POST"): Row(only({"applicant": 200}, others=404, anonymous=302), DRAFT),
    ("requests:agreements", "GET"): Row(only({"applicant": 200}, others=404, anonymous=302), DRAFT),
    # Without the ticked box the page comes back with the message.
    ("requests:agreements", "POST"): Row(only({"applicant": 200}, others=404, anonymous=302), DRAFT),
    # What withdrawing does, with the form that does it.
    ("requests:withdraw", "GET"): Row(only({"applicant": 200}, others=404, anonymous=302), DRAFT),
    ("requests:withdraw", "POST"): Row(only({"applicant": 302}, others=404, anonymous=302), DRAFT),
    ("requests:document", "GET"): Row(only(REVIEWERS | {"applicant": 200}, others=404, anonymous=302), DOCUMENT),
    # Applications (API).
    ("api:applications", "GET"): Row(signed_in_only(200, anonymous=UNAUTHENTICATED)),
    ("api:applications", "POST"): Row(signed_in_only(INVALID, anonymous=UNAUTHENTICATED), json=True),
    ("api:application", "GET"): Row(
        only(REVIEWERS | {"applicant": 200}, others=404, anonymous=UNAUTHENTICATED), SUBMISSION
    ),
    # An empty change of the applicant's draft changes nothing; nobody else sees the draft.
    ("api:application", "PATCH"): Row(only({"applicant": 200}, others=404, anonymous=UNAUTHENTICATED), DRAFT),
    ("api:application_documents", "POST"): Row(only({"applicant": 400}, others=404, anonymous=UNAUTHENTICATED), DRAFT),
    ("api:application_agreements", "POST"): Row(only({"applicant": 200}, others=404, anonymous=UNAUTHENTICATED), DRAFT),
    # Reviewers can see the application but may not act as the applicant: 403, not 404.
    ("api:application_submit", "POST"): Row(
        only({"applicant": 409, **dict.fromkeys(REVIEWERS, 403)}, others=404, anonymous=UNAUTHENTICATED),
        SUBMISSION,
        json=True,
    ),
    ("api:application_withdraw", "POST"): Row(
        only({"applicant": 200, **dict.fromkeys(REVIEWERS, 403)}, others=404, anonymous=UNAUTHENTICATED),
        SUBMISSION,
    ),
}


# --- The guard: every URL and every method it accepts has a row ---------------------------------


def _patterns(resolver: URLResolver, prefix: str = "") -> list[tuple[str, URLPattern]]:
    """(full name, pattern) of every URL pattern of the project outside the admin."""
    found: list[tuple[str, URLPattern]] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            if namespace != "admin:":
                found += _patterns(entry, namespace)
        elif isinstance(entry, URLPattern):
            if entry.name is None:
                raise AssertionError(f"URL pattern {entry.pattern} has no name, so it cannot be in the table")
            found.append((prefix + entry.name, entry))
    return found


# Values that fit the URL converters (int, str, slug, the dataset accession); the guard only
# needs a URL that resolves, never an object behind it.
SAMPLE_VALUES = ("1", "x", "GDS000001")


def _sample_url(name: str, pattern: URLPattern) -> str:
    kwargs = {}
    for key, converter in pattern.pattern.converters.items():
        fitting = [value for value in SAMPLE_VALUES if re.fullmatch(converter.regex, value)]
        assert fitting, f"add a value for the converter {type(converter).__name__} of {name} to SAMPLE_VALUES"
        kwargs[key] = fitting[0]
    return reverse(name, kwargs=kwargs)


def _accepted_methods(client: Client, name: str, pattern: URLPattern) -> set[str]:
    """The methods of METHODS that the view answers with something other than 405.

    A class-based view (Django's or DRF's) accepts the methods it has handlers for. A function
    view is asked with OPTIONS by a staff member: Django's require_http_methods (require_POST,
    require_safe), and requests.views.page_methods that renders the 405 page, answer 405 with an
    Allow header before the view runs. A function view that
    answers anything else declares no methods, so it is taken to accept them all (fail closed).
    """
    view_class = getattr(pattern.callback, "view_class", None)
    if view_class is not None:
        allowed = view_class(**pattern.callback.view_initkwargs)._allowed_methods()
        return set(METHODS) & {method.upper() for method in allowed}
    response = client.options(_sample_url(name, pattern))
    if response.status_code != 405 or "Allow" not in response.headers:
        return set(METHODS)
    return set(METHODS) & {method.strip() for method in response.headers["Allow"].split(",")}


@pytest.fixture
def accepted(client_for) -> dict[str, set[str]]:
    """URL name -> the methods its view accepts."""
    client = client_for("staff")
    return {name: _accepted_methods(client, name, pattern) for name, pattern in _patterns(get_resolver())}


@pytest.mark.django_db
def test_every_url_and_every_method_it_accepts_has_a_row(accepted):
    needed = {(name, method) for name, methods in accepted.items() for method in methods}
    missing = sorted(needed - PERMISSIONS.keys())
    stale = sorted((name, method) for name, method in PERMISSIONS if name not in accepted)
    assert missing == [], f"add these (URL name, method) rows to PERMISSIONS: {missing}"
    assert stale == [], f"these PERMISSIONS rows name no URL: {stale}"


@pytest.mark.django_db
def test_the_guard_sees_the_methods_views_declare(accepted):
    # If method discovery went blind (every set empty, or GET only), the guard above would pass
    # without checking anything: one view of each kind keeps it honest.
    assert accepted["home"] == {"GET"}  # require_safe
    assert accepted["requests:basket_add"] == {"POST"}  # require_POST (the portal's page_methods)
    assert accepted["requests:permit_revoke"] == {"GET", "POST"}  # page_methods
    assert accepted["accounts:logout"] == {"POST"}  # a Django class-based view
    assert accepted["api:application"] == {"GET", "PATCH"}  # a DRF view


def test_every_row_covers_every_persona_with_a_known_method():
    for (name, method), row in PERMISSIONS.items():
        assert method in METHODS, f"{name}: {method} is not one of {METHODS}"
        assert set(row.expected) == set(PERSONAS), f"{name} {method} does not say what each persona gets"


# --- Each row, persona by persona ---------------------------------------------------------------


CASES = [
    pytest.param(name, method, persona, id=f"{name}-{method}-{persona}")
    for (name, method), row in PERMISSIONS.items()
    for persona in row.expected
]


def _resolve(request, value):
    if isinstance(value, str) and value.startswith("@"):
        fixture, attr = value[1:].split(".")
        return getattr(request.getfixturevalue(fixture), attr)
    return value


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "persona"), CASES)
def test_url_answers_each_persona_as_the_table_says(request, client_for, name, method, persona):
    row = PERMISSIONS[(name, method)]
    body = {key: _resolve(request, value) for key, value in row.body.items()}
    url = reverse(name, kwargs={key: _resolve(request, value) for key, value in row.kwargs.items()})
    client = client_for(persona)
    if method == "GET":
        response = client.get(url)
    elif method == "POST" and not row.json:
        response = client.post(url, body)
    else:
        response = getattr(client, method.lower())(url, body, content_type="application/json")
    assert response.status_code == row.expected[persona]


# --- The admin ----------------------------------------------------------------------------------


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
            expected = 403  # read-only models (audit log, the access workflow) refuse even staff
    assert response.status_code == expected
