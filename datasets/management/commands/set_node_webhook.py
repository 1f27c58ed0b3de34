"""`manage.py set_node_webhook NODE_SLUG URL`: point a data node's webhook at URL with a new
signing secret, printed once, alone on the last line; `--clear` removes both."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from datasets.models import DataNode
from datasets.services import node_webhook_clear, node_webhook_set
from portal.exceptions import InvalidInput


class Command(BaseCommand):
    help = (
        "Set a data node's webhook URL and a new signing secret, printed alone on the last line "
        "(shown only now); --clear removes the URL and the secret."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("node_slug", help="The data node's slug.")
        parser.add_argument("url", nargs="?", help="The http:// or https:// URL that receives the events.")
        parser.add_argument("--clear", action="store_true", help="Remove the webhook URL and secret.")

    def handle(self, *args, node_slug: str, url: str | None, clear: bool, **options) -> None:
        node = DataNode.objects.filter(slug=node_slug.strip()).first()
        if node is None:
            raise CommandError(f"No data node has the slug {node_slug!r}.")
        if clear == bool(url):
            raise CommandError("Give either a URL or --clear.")
        if clear:
            node_webhook_clear(node=node)
            self.stdout.write(f"Removed the webhook of {node.slug}: its permit events are no longer pushed.")
            return
        try:
            secret = node_webhook_set(node=node, url=url)
        except InvalidInput as error:
            raise CommandError(error.message) from None
        if url.strip().lower().startswith("http://"):
            self.stderr.write("Warning: over http:// the events (researcher ids, datasets) travel unencrypted.")
        self.stdout.write(f"Permit events of {node.slug} are now pushed to {url.strip()}, signed with a new secret.")
        self.stdout.write("Any earlier secret stopped working. It is shown only now; give it to the node's operators:")
        # Scripts read the last line: keep the secret alone on it.
        self.stdout.write(secret)
