from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Registers the OpenAPI description of the token scheme; a subclass registers on import.
        from accounts import checks, schema  # noqa: F401
