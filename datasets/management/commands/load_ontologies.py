from django.core.management.base import BaseCommand

from datasets.duo import DUO_VERSION
from datasets.ontologies import MONDO_RELEASE, load_duo, load_mondo
from datasets.term_cache import term_cache


class Command(BaseCommand):
    help = "Load the bundled DUO and MONDO releases into the catalogue. Safe to run again."

    def handle(self, *args, **options):
        duo_report = load_duo()
        self.stdout.write(f"DUO {DUO_VERSION}: {duo_report}")
        mondo_report = load_mondo()
        self.stdout.write(f"MONDO {MONDO_RELEASE}: {mondo_report}")
        term_cache.clear()
