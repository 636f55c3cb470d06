from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Pages for the people who run tools: the catalog, a run page per published tool, their
    run history. Template views and static JS only; the data comes from the tools and runs
    apps (like `editor`, which serves authors)."""

    name = "apps.portal"
    label = "portal"
    verbose_name = "Tool catalog and runs"
