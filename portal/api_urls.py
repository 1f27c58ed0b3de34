"""The JSON API under /api/v1/ and its OpenAPI 3 description, all served by the portal."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from datasets import api as datasets_api
from datasets.urls import AccessionConverter  # noqa: F401 - registers the accession converter

app_name = "api"

urlpatterns = [
    path("datasets", datasets_api.DatasetListApi.as_view(), name="datasets"),
    path("datasets/<accession:accession>", datasets_api.DatasetDetailApi.as_view(), name="dataset"),
    path("datasets/<accession:accession>/data-use", datasets_api.DatasetDataUseApi.as_view(), name="dataset_data_use"),
    path("duo/match", datasets_api.DuoMatchApi.as_view(), name="duo_match"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
