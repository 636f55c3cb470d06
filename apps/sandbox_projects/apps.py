from django.apps import AppConfig


class SandboxProjectsConfig(AppConfig):
    name = "apps.sandbox_projects"
    label = "sandbox_projects"
    verbose_name = "Sandbox projects"

    def ready(self) -> None:
        from apps.kvcollections.signals import collection_created
        from apps.sandbox_projects.signals import collections_merged
        from apps.sandbox_projects.tasks import (
            sync_on_collection_created,
            sync_on_collections_merged,
        )

        collection_created.connect(
            sync_on_collection_created, dispatch_uid="sandbox-collection-sync"
        )
        collections_merged.connect(
            sync_on_collections_merged, dispatch_uid="sandbox-merged-collection-sync"
        )
