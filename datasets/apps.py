from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "Datasets and committees"

    def ready(self) -> None:
        # schema registers the OpenAPI description of the node key scheme (a subclass registers on import).
        from datasets import schema, webhooks  # noqa: F401
        from portal import outbox

        # The outbox delivers what it is given; this app owns the nodes, so it sends their webhooks.
        outbox.register_sender(webhooks.KIND, webhooks.send_webhook, max_attempts=webhooks.MAX_ATTEMPTS)
