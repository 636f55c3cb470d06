from django import forms
from django.conf import settings


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100)
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=settings.API_TOKEN_MAX_EXPIRY_DAYS,
        widget=forms.NumberInput(attrs={"placeholder": "empty = never expires"}),
    )
