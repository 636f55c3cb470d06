from tests.factories.accounts import ApiTokenFactory, UserFactory
from tests.factories.kvcollections import CollectionFactory
from tests.factories.projects import ProjectFactory, make_project

__all__ = ["ApiTokenFactory", "CollectionFactory", "ProjectFactory", "UserFactory", "make_project"]
