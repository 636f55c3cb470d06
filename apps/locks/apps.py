from django.apps import AppConfig


class LocksConfig(AppConfig):
    name = "apps.locks"
    label = "locks"
    verbose_name = "Draft locks"
