from typing import Any

from django.core.management.base import BaseCommand

from apps.projects import demo


class Command(BaseCommand):
    help = "Create or refresh the demo users and projects. Safe to run any number of times."

    def handle(self, *args: Any, **options: Any) -> None:
        summary = demo.seed_demo()
        for email, role in summary.users:
            self.stdout.write(f"  {role:<12} {email}  password: {demo.DEMO_PASSWORD}")
        for name in summary.projects:
            self.stdout.write(f"  project      {name}")
