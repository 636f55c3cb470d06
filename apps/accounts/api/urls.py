from django.urls import path

from apps.accounts.api.views import ApiTokenViewSet

urlpatterns = [
    path("tokens", ApiTokenViewSet.as_view({"get": "list", "post": "create"}), name="token-list"),
    path("tokens/<str:pk>", ApiTokenViewSet.as_view({"delete": "destroy"}), name="token-detail"),
]
