from typing import Any

from django import forms

from apps.projects.models import COLOUR_PATTERN
from apps.sandbox_projects.services import MergePlan


class SandboxForm(forms.Form):
    """The "New sandbox" form on the project page (rendered there by hand: the projects app
    may not import this one)."""

    name = forms.CharField(max_length=120)
    # Blank means the parent's colour.
    colour = forms.RegexField(COLOUR_PATTERN, required=False)


class MergeForm(forms.Form):
    """The selection out of the plan the page showed. Choices are the plan as it is now, so a
    stale page that posts something the plan no longer offers is caught here."""

    def __init__(self, *args: Any, plan: MergePlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["collections"] = forms.MultipleChoiceField(
            required=False, choices=[(name, name) for name in plan.collections_to_add]
        )
        # Locked tools stay valid choices: the service is the one that refuses them.
        self.fields["tools"] = forms.MultipleChoiceField(
            required=False,
            choices=[(str(c.source.pk), c.source.title) for c in plan.tools_to_propose],
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("collections") and not cleaned.get("tools") and not self.errors:
            raise forms.ValidationError("Nothing is selected, so there is nothing to merge.")
        return cleaned
