from django import forms

from apps.projects.models import COLOUR_PATTERN, ProjectRole


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    colour = forms.RegexField(
        COLOUR_PATTERN,
        required=False,
        initial="#4f46e5",
        widget=forms.TextInput(attrs={"type": "color"}),
    )


class MemberAddForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=ProjectRole.choices, initial=ProjectRole.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=ProjectRole.choices)
