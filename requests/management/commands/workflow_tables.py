"""Print the state tables of the three workflows, as docs/architecture.md shows them."""

from django.core.management.base import BaseCommand

from requests import services


class Command(BaseCommand):
    help = "Print the application, review and permit state tables in Markdown (for docs/architecture.md)."

    def handle(self, *args, **options):
        for workflow in (services.APPLICATION_WORKFLOW, services.REVIEW_WORKFLOW, services.PERMIT_WORKFLOW):
            self.stdout.write(f"### The {workflow.name}\n\n{workflow.markdown()}\n")
