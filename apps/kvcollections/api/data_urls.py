from django.urls import re_path

from apps.kvcollections.api.data import CollectionsDataView

# Every path under /collections goes to one view: v1 `/{name}/{key}` and v2 `/{project_id}/{name}`
# have the same shape, so only the version header can tell them apart.
urlpatterns = [
    re_path(
        r"^collections(?:/(?P<path>.*))?$", CollectionsDataView.as_view(), name="collections-data"
    ),
]
