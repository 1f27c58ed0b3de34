"""Serve a demo data node beside the portal: synthetic files for the datasets a node hosts, released
only to a caller whose visa or passport grants the dataset (visa_verifier.demo_node)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from datasets import services
from datasets.demo_files import write_demo_files
from datasets.models import DataNode
from portal.exceptions import InvalidInput
from visa_verifier.demo_node import build_node, make_node_server


class Command(BaseCommand):
    help = (
        "Run a demo data node that serves synthetic files of the datasets a node hosts to callers "
        "presenting a visa or passport for them. Offline (public keys only) unless --online."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("node_slug", nargs="?", default="fi-node", help="The node to act as (default fi-node).")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--root", help="Folder for the files (default .data/demo-node/<slug>).")
        parser.add_argument(
            "--trust",
            action="append",
            default=[],
            metavar="ISSUER[=JWKS_URL]",
            help="Issuers to trust (default: this portal, PORTAL_BASE_URL).",
        )
        parser.add_argument(
            "--online",
            action="store_true",
            help="Also ask the portal's introspection endpoint; uses NODE_API_KEY or issues a key valid 1 day.",
        )
        parser.add_argument(
            "--webhook",
            action="store_true",
            help="Point the node's webhook at this demo node (new secret) so pushed revocations apply offline too.",
        )
        parser.add_argument("--skew", type=int, help="Allowed clock difference in seconds (default 60).")

    def handle(self, *args, node_slug, host, port, root, trust, online, webhook, skew, **options):
        node = DataNode.objects.filter(slug=node_slug).first()
        if node is None:
            raise CommandError(f"No data node has the slug {node_slug!r} (see the admin or seed_demo).")
        folder = Path(root) if root else Path(settings.BASE_DIR) / ".data" / "demo-node" / node.slug
        accessions = write_demo_files(node, folder)
        node_key = ""
        if online:
            node_key = os.environ.get("NODE_API_KEY", "").strip()
            if not node_key:
                try:
                    _row, node_key = services.node_key_create(node=node, name="demo node (run_demo_node)", days=1)
                except InvalidInput as error:
                    raise CommandError(error.message) from None
                self.stdout.write(f"Issued a node key for {node.slug} valid for one day (revoke it in the admin).")
        try:
            app = build_node(
                root=folder,
                trust=trust or [settings.PORTAL_BASE_URL],
                skew=skew,
                node_key=node_key,
                portal_url=settings.PORTAL_BASE_URL,
                name=node.name,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("visa_verifier").setLevel(logging.INFO)
        server = make_node_server(app, host, port)
        if webhook:
            url = f"http://{host}:{server.server_port}/webhooks/portal"
            app.webhook_secret = services.node_webhook_set(node=node, url=url)
            self.stdout.write(f"Permit events of {node.slug} are pushed to {url} (signed with a new secret).")
        self.stdout.write(
            f"{node.name} ({app.mode}) on http://{host}:{server.server_port}/ serving {len(accessions)} datasets "
            f"from {folder}; trusting {', '.join(t.issuer for t in app.verifier.config.issuers)}."
        )
        example = accessions[0] if accessions else "<accession>"
        self.stdout.write(
            f"Try: curl -H 'Authorization: Bearer <passport>' http://{host}:{server.server_port}/datasets/{example}/files"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
