from django.urls import path, register_converter

from datasets import views


class AccessionConverter:
    regex = "[Gg][Dd][Ss][0-9]{6}"

    def to_python(self, value: str) -> str:
        return value.upper()

    def to_url(self, value: str) -> str:
        return value


register_converter(AccessionConverter, "accession")

app_name = "datasets"

urlpatterns = [
    path("datasets/", views.catalogue, name="catalogue"),
    path("datasets/check/", views.check_purpose, name="check"),
    path("datasets/diseases/autocomplete/", views.disease_autocomplete, name="disease_autocomplete"),
    path("datasets/<accession:accession>/", views.dataset_detail, name="detail"),
    path("datasets/<accession:accession>/data-use/", views.edit_data_use, name="edit_data_use"),
    path("datasets/<accession:accession>/data-use/history/", views.data_use_history, name="data_use_history"),
    path("committees/", views.dac_list, name="dac_list"),
    path("committees/<slug:slug>/", views.dac_detail, name="dac_detail"),
    path("committees/<slug:slug>/policy/", views.dac_policy, name="dac_policy"),
]
