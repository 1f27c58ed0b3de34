from django.core.management.base import BaseCommand

from portal.models import SigningKey
from portal.signing import published_keys, rotate_signing_key


class Command(BaseCommand):
    help = "Add a new current visa signing key; the previous one stays in the JWKS while its visas can live."

    def add_arguments(self, parser):
        parser.add_argument(
            "--alg", choices=SigningKey.Algorithm.values, help="the new key's algorithm (default: VISA_SIGNING_ALG)"
        )

    def handle(self, *args, alg: str | None, **options):
        key = rotate_signing_key(alg=alg)
        self.stdout.write(
            f"New current key {key.kid} ({key.alg}). Published keys: " + ", ".join(k.kid for k in published_keys())
        )
