import factory

from apps.accounts.models import User
from apps.projects import access
from apps.projects.models import Project, ProjectRole
from tests.factories.accounts import UserFactory


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


def make_role_world(owner: User, **project_kwargs: object) -> tuple[dict[str, User], Project]:
    """One persona per project role plus an outsider, and their project:
    {"owner", "admin", "editor", "viewer", "outsider"} -> user."""
    people = {
        "owner": owner,
        "admin": UserFactory(email="ada@example.com"),
        "editor": UserFactory(email="eddie@example.com"),
        "viewer": UserFactory(email="vera@example.com"),
        "outsider": UserFactory(email="otto@example.com"),
    }
    roles = {name: ProjectRole(name) for name in ("owner", "admin", "editor", "viewer")}
    project = make_project({people[name]: role for name, role in roles.items()}, **project_kwargs)
    return people, project
