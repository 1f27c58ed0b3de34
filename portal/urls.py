from django.contrib import admin
from django.urls import include, path

from datasets import views as datasets_views
from portal import api_urls, views

admin.site.site_header = "Genome Access Portal administration"
admin.site.site_title = "Portal admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(".well-known/jwks.json", views.jwks, name="jwks"),
    path("readyz", views.readyz, name="readyz"),
    path("about/data/", datasets_views.about_data, name="about_data"),
    path("accounts/", include("accounts.urls")),
    path("", include("datasets.urls")),
    path("requests/", include("requests.urls")),
    path("api/v1/", include("portal.api_urls")),
    path("api/", include((api_urls.rems_urlpatterns, "rems"))),
    path("admin/login/", views.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
]
