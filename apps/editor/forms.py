from django import forms

from apps.tools.models import Category, Profession


class ToolCreateForm(forms.Form):
    """The "New tool" form of a project's tool list (the service strips and checks the title)."""

    title = forms.CharField(max_length=255)
    summary = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


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
