from django.urls import URLPattern

app_name = "portal"

# The page families (catalog, run pages, run history) add their routes here.
urlpatterns: list[URLPattern] = []
