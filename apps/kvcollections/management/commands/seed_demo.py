from typing import Any

from django.core.management.base import BaseCommand

from apps.kvcollections.demo import seed_demo_collections
from apps.projects import demo


class Command(BaseCommand):
    help = "Create or refresh the demo users, projects and collections. Safe to run repeatedly."

    def handle(self, *args: Any, **options: Any) -> None:
        summary = demo.seed_demo()
        collections = seed_demo_collections(project_ids=summary.project_ids)
        for email, role in summary.users:
            self.stdout.write(f"  {role:<12} {email}  password: {demo.DEMO_PASSWORD}")
        for name in summary.projects:
            self.stdout.write(f"  project      {name}")
        for name in collections:
            self.stdout.write(f"  collection   {name}")
