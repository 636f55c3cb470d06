from tests.factories.accounts import ApiTokenFactory, UserFactory
from tests.factories.projects import ProjectFactory, make_project

__all__ = ["ApiTokenFactory", "ProjectFactory", "UserFactory", "make_project"]
