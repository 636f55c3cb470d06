import django_filters

from apps.kvcollections.models import Collection


class CollectionFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", max_length=255)

    class Meta:
        model = Collection
        fields = ("name",)
