from django.apps import AppConfig


class AccessRequestsConfig(AppConfig):
    name = "requests"
    label = "requests"
    verbose_name = "Access requests"
