from django import forms

from apps.tools.models import Category, Profession


class ToolCreateForm(forms.Form):
    """The "New tool" form of a project's tool list (the service strips and checks the title)."""

    title = forms.CharField(max_length=255)
    summary = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReviewDecisionForm(forms.Form):
    """Publish (the message is an optional change summary) or request changes (the message,
    required, is what the author reads)."""

    PUBLISH = "publish"
    REQUEST_CHANGES = "request_changes"

    decision = forms.ChoiceField(
        choices=[(PUBLISH, "Publish"), (REQUEST_CHANGES, "Request changes")]
    )
    message = forms.CharField(max_length=5000, required=False, strip=True)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("decision") == self.REQUEST_CHANGES and not data.get("message"):
            self.add_error("message", "Say what should change: the author reads this message.")
        return data


# --- The tool settings page (apps/editor/settings_views.py): one form per service ---------------


class SlugForm(forms.Form):
    """Only its length is checked here; the slug rules are the service's (update_slug)."""

    slug = forms.CharField(max_length=128, strip=True)


class TaxonomyForm(forms.Form):
    professions = forms.ModelMultipleChoiceField(
        queryset=Profession.objects.order_by("label", "pk"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    categories = forms.ModelMultipleChoiceField(
        queryset=Category.objects.order_by("label", "pk"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class MaintainerAddForm(forms.Form):
    email = forms.EmailField(max_length=254)
    reason = forms.CharField(max_length=2000, required=False)


class MaintainerRemoveForm(forms.Form):
    user_id = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=2000, required=False)


class PublishForm(forms.Form):
    """Publish and depublish take no input: the button is the form."""
