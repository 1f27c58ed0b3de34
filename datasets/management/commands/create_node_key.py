from django.core.management.base import BaseCommand, CommandError, CommandParser

from datasets import services
from datasets.models import DataNode
from portal.exceptions import InvalidInput


class Command(BaseCommand):
    help = "Create an API key for a data node and print the key, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("node_slug", help="The data node's slug.")
        parser.add_argument("--broker", action="store_true", help="Flag the node as the broker: it sees every permit.")
        parser.add_argument("--name", default="created by an operator", help="What the key is for.")
        parser.add_argument("--days", type=int, default=None, help="Valid this many days (default: until revoked).")

    def handle(self, *args, node_slug: str, broker: bool, name: str, days: int | None, **options) -> None:
        node = DataNode.objects.filter(slug=node_slug.strip()).first()
        if node is None:
            raise CommandError(f"No data node has the slug {node_slug!r}.")
        try:
            key, secret = services.node_key_create(node=node, name=name, days=days, broker=broker)
        except InvalidInput as error:
            raise CommandError(error.message) from None
        expiry = f"expires {key.expires_at:%Y-%m-%d %H:%M} UTC" if key.expires_at else "valid until revoked"
        scope = "every dataset (broker)" if node.is_broker else "the datasets it hosts"
        self.stdout.write(f"Created key “{key.name}” ({key.display_prefix}) for {node.slug}, {expiry}; sees {scope}.")
        self.stdout.write("It is shown only now; the portal stores only its hash. Key:")
        # Scripts read the last line: keep the key alone on it.
        self.stdout.write(secret)
