"""Reading run requests that may carry files (multipart) or be plain JSON."""

from typing import Any

from django.http import FileResponse
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request

from apps.core.api.parsers import JSONParser
from apps.runs import session_files
from apps.runs.exceptions import ArtifactNotFound
from apps.runs.models import ToolRun
from apps.runs.runner.artifacts import artifact_file

RUN_PARSERS = [MultiPartParser, FormParser, JSONParser]


def uploaded_files(request: Request) -> list[Any]:
    return list(request.FILES.getlist("files")) if request.FILES else []


def artifact_response(run: ToolRun, artifact_id: str) -> FileResponse:
    """:raises ArtifactNotFound:"""
    found = artifact_file(
        artifacts_root=session_files.artifacts_root(),
        run_id=str(run.pk),
        manifest=run.artifacts_manifest.get("artifacts", []),
        artifact_id=artifact_id,
    )
    if found is None:
        raise ArtifactNotFound()
    path, name = found
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=name, content_type="application/octet-stream"
    )
