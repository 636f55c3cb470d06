import django_filters

from apps.runs.models import RunContext, RunStatus, ToolRun


class RunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    context = django_filters.ChoiceFilter(choices=RunContext.choices)
    tool = django_filters.UUIDFilter(field_name="tool_id")
    requested_after = django_filters.IsoDateTimeFilter(field_name="requested_at", lookup_expr="gte")

    class Meta:
        model = ToolRun
        fields = ("status", "context", "tool", "requested_after")
