from typing import Any

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "apps.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox preview"

    def ready(self) -> None:
        from apps.tools.signals import draft_head_changed

        draft_head_changed.connect(_carry_over_settings, dispatch_uid="sandbox-settings-carry-over")


def _carry_over_settings(sender: Any, **kwargs: Any) -> None:
    from apps.sandbox.services import carry_over_sandbox_settings

    carry_over_sandbox_settings(
        tool=kwargs["tool"], old_head=kwargs["old_head"], new_head=kwargs["new_head"]
    )
