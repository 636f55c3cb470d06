from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts import services
from apps.accounts.models import User
from apps.core.exceptions import DomainError


class Command(BaseCommand):
    help = "Mint a personal access token for EMAIL and print only the token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="command line")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"].strip(), is_active=True).first()
        if user is None:
            raise CommandError(f"No active user with email {options['email']!r}.")
        try:
            _, secret = services.create_api_token(
                user=user, name=options["name"], expires_in_days=options["expires_days"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(secret)
