from django.conf import settings
from rest_framework import serializers

from apps.accounts.models import ApiToken
from apps.core.api.fields import StrictCharField, StrictIntegerField


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    status = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields: tuple[str, ...] = (
            "id",
            "name",
            "prefix",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "status",
        )
        read_only_fields: tuple[str, ...] = fields

    def get_status(self, token: ApiToken) -> str:
        if token.revoked_at is not None:
            return "revoked"
        now = self.context["now"]
        return "expired" if token.expires_at is not None and token.expires_at <= now else "active"


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        read_only=True, help_text="The secret. Shown only in this response."
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = (*ApiTokenSerializer.Meta.fields, "token")
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer[None]):
    name = StrictCharField(max_length=100, trim_whitespace=True)
    expires_in_days = StrictIntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=settings.API_TOKEN_MAX_EXPIRY_DAYS,
    )
