from django import forms


class ToolCreateForm(forms.Form):
    """The "New tool" form of a project's tool list (the service strips and checks the title)."""

    title = forms.CharField(max_length=255)
    summary = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
