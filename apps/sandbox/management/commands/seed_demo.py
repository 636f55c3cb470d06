from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import User
from apps.kvcollections import services as collection_services
from apps.kvcollections.demo import seed_demo_collections
from apps.kvcollections.models import Collection
from apps.projects import demo
from apps.projects.access import assign_role
from apps.projects.models import Project, ProjectRole
from apps.sandbox_projects.services import provision_sandbox
from apps.tools.demo import seed_demo_tools

# Written by the `demo-collections` tool; the tools app may not import collections, so the
# seed command (in the top app) creates it.
RUNS_LOG = "runs-log"
DEMO_SANDBOX = "Reading lists (staging)"
DEMO_SANDBOX_OWNER = "contributor@demo.skriptoteket.test"


class Command(BaseCommand):
    help = (
        "Create or refresh the demo users, projects, collections and tools. Safe to run repeatedly."
    )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        summary = demo.seed_demo()
        collections = seed_demo_collections(project_ids=summary.project_ids)
        collections.append(_ensure_runs_log(project_id=summary.project_ids[0]))
        tools = seed_demo_tools(project_ids=summary.project_ids)
        sandbox = _ensure_demo_sandbox(project_id=summary.project_ids[0])
        for email, role in summary.users:
            self.stdout.write(f"  {role:<12} {email}  password: {demo.DEMO_PASSWORD}")
        for name in summary.projects:
            self.stdout.write(f"  project      {name}")
        for name in collections:
            self.stdout.write(f"  collection   {name}")
        for name in tools:
            self.stdout.write(f"  tool         {name}")
        self.stdout.write(f"  sandbox      {sandbox}")


def _ensure_runs_log(*, project_id: str) -> str:
    project = Project.objects.get(pk=project_id)
    if not Collection.objects.filter(project=project, name=RUNS_LOG).exists():
        collection_services.create_collection(project=project, name=RUNS_LOG)
    return f"{RUNS_LOG} ({project.name})"


def _ensure_demo_sandbox(*, project_id: str) -> str:
    """A sandbox project of the first demo project, provisioned by its owner (once)."""
    parent = Project.objects.get(pk=project_id)
    existing = Project.objects.live().filter(parent=parent, name=DEMO_SANDBOX).first()
    owner = User.objects.get(email=DEMO_SANDBOX_OWNER)
    if existing is None:
        existing = provision_sandbox(parent=parent, actor=owner, name=DEMO_SANDBOX)
    else:  # like the demo projects: the demo roles come back if someone changed them
        assign_role(user=owner, project=existing, role=ProjectRole.OWNER)
    return f"{existing.name} (sandbox of {parent.name})"
