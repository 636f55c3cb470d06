import django_filters

from apps.projects.models import Project


class ProjectFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", max_length=120)
    parent = django_filters.UUIDFilter(field_name="parent_id")
    is_sandbox = django_filters.BooleanFilter(
        field_name="parent", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = Project
        fields = ("name", "parent", "is_sandbox")
