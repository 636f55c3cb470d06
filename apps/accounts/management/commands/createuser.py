from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts import services
from apps.accounts.models import Role
from apps.core.exceptions import DomainError


class Command(BaseCommand):
    help = "Create a user who signs in with EMAIL and has a global role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--password", help="Without it the account cannot sign in with a password."
        )
        parser.add_argument("--role", choices=Role.values, default=Role.USER)
        parser.add_argument("--full-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = services.create_user(
                actor=None,  # the operator at the command line
                email=options["email"],
                password=options["password"],
                role=options["role"],
                full_name=options["full_name"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Created user {user.email} (id {user.pk}, role {user.role}).")
