from django import forms
from django.conf import settings

from apps.kvcollections import queries
from apps.kvcollections.exceptions import InvalidQuery
from apps.kvcollections.models import NAME_PATTERN
from apps.kvcollections.queries import ItemFilter

NAME_RULES = (
    "Lower-case letters and digits in parts joined by a single - _ or . "
    "(for example student-notes or grades.2026); at most 255 characters."
)


class CollectionForm(forms.Form):
    # Not stripped: a name with spaces is refused, never silently changed.
    name = forms.RegexField(
        NAME_PATTERN,
        max_length=255,
        strip=False,
        help_text=NAME_RULES,
        error_messages={"invalid": f"Not a URL-safe name. {NAME_RULES}"},
    )


class ItemSearchForm(forms.Form):
    """The item browser's query string: a key pattern and the opaque cursor of a page."""

    key = forms.CharField(
        label="Key pattern",
        required=False,
        strip=False,  # spaces are part of keys
        max_length=settings.COLLECTIONS_MAX_PATTERN_LENGTH,
    )
    cursor = forms.CharField(required=False)

    def clean_cursor(self) -> int:
        """The id after which the page starts (0: the first page)."""
        raw: str = self.cleaned_data["cursor"]
        if not raw:
            return 0
        try:
            return queries.decode_cursor(raw)
        except InvalidQuery:
            raise forms.ValidationError(
                "This page link is not valid. Start again from the first page."
            ) from None

    def item_filter(self) -> ItemFilter:
        return ItemFilter(key_pattern=self.cleaned_data["key"] or None)
