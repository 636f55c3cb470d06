import factory

from apps.kvcollections.models import Collection
from tests.factories.projects import ProjectFactory


class CollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Collection

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"collection-{n}")
