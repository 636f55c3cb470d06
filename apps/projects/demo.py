"""Demo data for `make run`: users of every global role and two projects with members."""

import uuid
from dataclasses import dataclass, field

from django.db import transaction

from apps.accounts import services as account_services
from apps.accounts.models import Role, User
from apps.projects import access
from apps.projects.models import Project, ProjectRole

DEMO_PASSWORD = "skriptoteket-demo"  # noqa: S105 - printed for local demos only
_NAMESPACE = uuid.UUID("6f2f4c56-0d5e-4b3c-9a51-1a0c53f1c0de")

DEMO_USERS = [
    ("superuser@demo.skriptoteket.test", Role.SUPERUSER, "Sam Superuser"),
    ("admin@demo.skriptoteket.test", Role.ADMIN, "Ada Admin"),
    ("contributor@demo.skriptoteket.test", Role.CONTRIBUTOR, "Cleo Contributor"),
    ("user@demo.skriptoteket.test", Role.USER, "Uma User"),
]

DEMO_PROJECTS = [
    (
        "Reading lists",
        "Tools that build reading lists for classes.",
        "#0f766e",
        {
            "contributor@demo.skriptoteket.test": ProjectRole.OWNER,
            "admin@demo.skriptoteket.test": ProjectRole.ADMIN,
            "user@demo.skriptoteket.test": ProjectRole.VIEWER,
        },
    ),
    (
        "Grading helpers",
        "Scripts that turn exported grade sheets into reports.",
        "#b45309",
        {
            "admin@demo.skriptoteket.test": ProjectRole.OWNER,
            "contributor@demo.skriptoteket.test": ProjectRole.EDITOR,
        },
    ),
]


@dataclass
class DemoSummary:
    users: list[tuple[str, str]] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    project_ids: list[str] = field(default_factory=list)


@transaction.atomic
def seed_demo() -> DemoSummary:
    """Create missing demo rows and reset roles to the demo values; never duplicates anything."""
    summary = DemoSummary()
    users = {}
    for email, role, name in DEMO_USERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = account_services.create_user(
                actor=None, email=email, password=DEMO_PASSWORD, role=role, full_name=name
            )
        elif user.role != role:
            account_services.set_user_role(actor=None, user=user, role=role)
        users[email] = user
        summary.users.append((email, role))
    for name, description, colour, members in DEMO_PROJECTS:
        project, _ = Project.objects.get_or_create(
            id=uuid.uuid5(_NAMESPACE, name),
            defaults={
                "name": name,
                "description": description,
                "colour": colour,
                "created_by": users[next(iter(members))],
            },
        )
        for email, project_role in members.items():
            access.assign_role(user=users[email], project=project, role=project_role)
        summary.projects.append(f"{name} ({project.pk})")
        summary.project_ids.append(str(project.pk))
    return summary
