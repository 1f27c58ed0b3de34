from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from accounts.models import User
from portal.exceptions import Conflict, InvalidInput


class Command(BaseCommand):
    help = "Create a personal API token for a user and print the key, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The user's e-mail address.")
        parser.add_argument("--name", default="created by an operator", help="What the token is for.")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Valid this many days (default: PERSONAL_TOKEN_MAX_DAYS, the longest).",
        )

    def handle(self, *args, email: str, name: str, days: int | None, **options) -> None:
        user = User.objects.with_email(email).first()
        if user is None:
            raise CommandError(f"No account has the e-mail address {email!r}.")
        if not user.is_active:
            raise CommandError(f"The account {user.email} is deactivated: a token for it would not work.")
        try:
            token, key = services.personal_token_create(user=user, name=name, days=days)
        except (InvalidInput, Conflict) as error:
            raise CommandError(error.message) from None
        expiry = f"{token.expires_at:%Y-%m-%d %H:%M} UTC"
        self.stdout.write(f"Created token “{token.name}” ({token.display_prefix}) for {user.email}, expires {expiry}.")
        self.stdout.write("It is shown only now; the portal stores only its hash. Key:")
        # Scripts read the last line: keep the key alone on it.
        self.stdout.write(key)
