from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from datasets.demo import seed
from datasets.models import Dataset, DiseaseTerm
from requests.demo import seed_applications


class Command(BaseCommand):
    help = "Create demo nodes, committees, datasets, accounts and applications (refuses when DEBUG is off)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo-portal-2026", help="Password of every demo account.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when datasets already exist.")

    def handle(self, *args, password: str, if_empty: bool, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo creates accounts with a known password: it runs only with DEBUG on.")
        if not DiseaseTerm.objects.exists():
            raise CommandError("Load the ontologies first: python manage.py load_ontologies")
        if if_empty and Dataset.objects.exists():
            self.stdout.write("Datasets exist already; demo data left as it is.")
            return
        # Demo receipts and invitations go nowhere: the demo addresses are not real.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            accounts = seed(password=password)
            applications = seed_applications()
        self.stdout.write(
            f"Demo data ready: {Dataset.objects.count()} datasets, {applications} applications. "
            f"Accounts (password: {password}):"
        )
        width = max(len(a.email) for a in accounts)
        for account in accounts:
            self.stdout.write(f"  {account.email:<{width}}  {account.role}")
