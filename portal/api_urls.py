"""The JSON API under /api/v1/ and its OpenAPI 3 description, all served by the portal."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from datasets import api as datasets_api
from datasets.urls import AccessionConverter  # noqa: F401 - registers the accession converter
from requests import api as requests_api

app_name = "api"

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
    path("duo/match", datasets_api.DuoMatchApi.as_view(), name="duo_match"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
