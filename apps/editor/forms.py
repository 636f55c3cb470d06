from django import forms


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
