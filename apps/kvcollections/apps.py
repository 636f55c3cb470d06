from django.apps import AppConfig


class KvCollectionsConfig(AppConfig):
    # "kvcollections", so no import path ever shadows the standard library's `collections`.
    name = "apps.kvcollections"
    label = "kvcollections"
    verbose_name = "Collections"
