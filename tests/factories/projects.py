import factory

from apps.accounts.models import User
from apps.projects import access
from apps.projects.models import Project, ProjectRole


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    description = "A project made by a test."


def make_project(members: dict[User, ProjectRole] | None = None, **kwargs: object) -> Project:
    """A project with the given members; grants go through access.assign_role as services do."""
    project = ProjectFactory(**kwargs)
    for user, role in (members or {}).items():
        access.assign_role(user=user, project=project, role=role)
    return project
