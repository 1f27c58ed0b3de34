"""The JSON API under /api/v1/ and its OpenAPI 3 description, all served by the portal; and the
REMS-compatible paths under /api/ (rems_urlpatterns), which REMS clients build themselves."""

from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from datasets import api as datasets_api
from datasets.urls import AccessionConverter  # noqa: F401 - registers the accession converter
from requests import api as requests_api
from requests import node_api, permit_api, rems_api, review_api

app_name = "api"


class AnyTextConverter:
    """A person's id as a path segment or several: any characters, newlines too (Django's `path`
    converter is `.+`, whose `.` stops at a newline, so such an id would match no route and answer
    a 404 the permissions paths never give)."""

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AnyTextConverter, "anytext")

urlpatterns = [
    path("datasets", datasets_api.DatasetListApi.as_view(), name="datasets"),
    path("datasets/<accession:accession>", datasets_api.DatasetDetailApi.as_view(), name="dataset"),
    path("datasets/<accession:accession>/data-use", datasets_api.DatasetDataUseApi.as_view(), name="dataset_data_use"),
    path("applications", requests_api.ApplicationListApi.as_view(), name="applications"),
    path("applications/<int:pk>", requests_api.ApplicationDetailApi.as_view(), name="application"),
    path(
        "applications/<int:pk>/documents", requests_api.ApplicationDocumentApi.as_view(), name="application_documents"
    ),
    path(
        "applications/<int:pk>/agreements",
        requests_api.ApplicationAgreementsApi.as_view(),
        name="application_agreements",
    ),
    path("applications/<int:pk>/submit", requests_api.ApplicationSubmitApi.as_view(), name="application_submit"),
    path("applications/<int:pk>/withdraw", requests_api.ApplicationWithdrawApi.as_view(), name="application_withdraw"),
    path("reviews", review_api.ReviewListApi.as_view(), name="reviews"),
    path("reviews/<int:pk>", review_api.ReviewDetailApi.as_view(), name="review"),
    path("reviews/<int:pk>/votes", review_api.ReviewVoteApi.as_view(), name="review_votes"),
    path("reviews/<int:pk>/return", review_api.ReviewReturnApi.as_view(), name="review_return"),
    path("reviews/<int:pk>/decide", review_api.ReviewDecideApi.as_view(), name="review_decide"),
    # <path:>: a federated id may hold "/" (docs/node-contract.md, "Who is named").
    path("permissions/<anytext:user_id>", node_api.PermissionsApi.as_view(), name="permissions"),
    path("permits/introspect", node_api.IntrospectApi.as_view(), name="permit_introspect"),
    path("permits/check", node_api.CheckApi.as_view(), name="permit_check"),
    path("permits/changes", node_api.ChangesApi.as_view(), name="permit_changes"),
    path("permits/<int:pk>/revoke", permit_api.PermitRevokeApi.as_view(), name="permit_revoke"),
    path("me/permits", permit_api.MyPermitsApi.as_view(), name="my_permits"),
    path("me/passport", permit_api.MyPassportApi.as_view(), name="my_passport"),
    path("duo/match", datasets_api.DuoMatchApi.as_view(), name="duo_match"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]

# Included at /api/ by portal.urls. `path`, not `str`: a federated id may hold any character,
# and a `/` sent as %2F reaches the URL resolver decoded.
rems_urlpatterns = [
    path("permissions/<anytext:user>", rems_api.RemsPermissionsApi.as_view(), name="permissions"),
    path("jwk", rems_api.JwkApi.as_view(), name="jwk"),
]
