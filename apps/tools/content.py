"""A tool's content: what a version, and a sandbox snapshot of unsaved editor content, is made of.

The one definition of the five fields, of the rules they obey (entrypoint, source, both schemas,
usage instructions) and of the content hash. Versions, snapshots and the runner all read it.
"""

import hashlib
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from apps.core.exceptions import ValidationFailed
from apps.tools.schemas import canonical_json, normalize_input_schema, normalize_settings_schema

DEFAULT_ENTRYPOINT = "run_tool"
ENTRYPOINT_MAX_LENGTH = 128
FIELD_NAMES = ("entrypoint", "source_code", "input_schema", "settings_schema", "usage_instructions")


class HasContent(Protocol):
    """A row that holds the five fields (ToolVersion, SandboxSnapshot)."""

    entrypoint: str
    source_code: str
    input_schema: Any
    settings_schema: Any
    usage_instructions: str


@dataclass(frozen=True)
class ToolContent:
    entrypoint: str
    source_code: str
    input_schema: list[dict[str, Any]]
    settings_schema: list[dict[str, Any]] | None
    usage_instructions: str

    @classmethod
    def validated(
        cls,
        *,
        entrypoint: object,
        source_code: object,
        input_schema: object,
        settings_schema: object,
        usage_instructions: object,
    ) -> "ToolContent":
        """Normalise and check raw values; problems are reported per field.

        :raises ValidationFailed: with `details.fields` naming the field
        """
        invalid = ValidationFailed.for_field
        name = entrypoint.strip() if isinstance(entrypoint, str) else ""
        if not 1 <= len(name) <= ENTRYPOINT_MAX_LENGTH:
            message = f"entrypoint must be 1 to {ENTRYPOINT_MAX_LENGTH} characters."
            raise invalid("entrypoint", message)
        if not name.isidentifier():
            raise invalid("entrypoint", "entrypoint must be a Python identifier.")
        if not isinstance(source_code, str) or not source_code:
            raise invalid("source_code", "source_code must be a non-empty string.")
        if usage_instructions is not None and not isinstance(usage_instructions, str):
            raise invalid("usage_instructions", "usage_instructions must be a string or null.")
        return cls(
            entrypoint=name,
            source_code=source_code,
            # Absent or null means "no form"; anything else must be an array.
            input_schema=normalize_input_schema([] if input_schema is None else input_schema),
            settings_schema=normalize_settings_schema(settings_schema),
            usage_instructions=(usage_instructions or "").strip(),
        )

    @classmethod
    def of(cls, row: HasContent) -> "ToolContent":
        """The content a stored version or snapshot holds (validated when it was stored)."""
        return cls(**{name: getattr(row, name) for name in FIELD_NAMES})

    def as_fields(self) -> dict[str, Any]:
        """The model fields of a row holding this content."""
        return asdict(self)

    def canonical_json(self) -> bytes:
        return canonical_json(self.as_fields())

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON: equal content, equal hash (versions and snapshots)."""
        return hashlib.sha256(self.canonical_json()).hexdigest()
