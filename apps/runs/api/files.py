"""Reading run requests that may carry files (multipart) or be plain JSON; serving artifacts."""

from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request

from apps.core.api.parsers import JSONParser
from apps.runs import session_files
from apps.runs.exceptions import ArtifactNotFound
from apps.runs.models import ToolRun
from apps.runs.runner.artifacts import artifact_file

RUN_PARSERS = [MultiPartParser, FormParser, JSONParser]
ARTIFACT_RESPONSES: dict[int | tuple[int, str], Any] = {
    (200, "application/octet-stream"): OpenApiTypes.BINARY,
    302: OpenApiResponse(
        description="With RUN_FILES_DOWNLOADS=redirect: to a signed URL of the file that "
        "expires after RUN_FILES_S3_URL_EXPIRE_SECONDS.",
        response=None,
    ),
}
# The redirect's header (drf-spectacular documents response headers as parameters).
ARTIFACT_HEADERS = [
    OpenApiParameter(
        "Location",
        OpenApiTypes.URI,
        OpenApiParameter.HEADER,
        response=[302],
        description="The signed URL of the file.",
    )
]


def uploaded_files(request: Request) -> list[Any]:
    return list(request.FILES.getlist("files")) if request.FILES else []


def artifact_response(run: ToolRun, artifact_id: str) -> FileResponse | HttpResponseRedirect:
    """The artifact's bytes, streamed from the run files storage by this web host; or, with
    RUN_FILES_DOWNLOADS=redirect, a redirect to a signed URL of the object that expires after
    RUN_FILES_S3_URL_EXPIRE_SECONDS (the access check is this request's either way).

    :raises ArtifactNotFound:
    """
    storage = session_files.storage()
    found = artifact_file(
        storage=storage,
        root="artifacts",
        run_id=str(run.pk),
        manifest=run.artifacts_manifest.get("artifacts", []),
        artifact_id=artifact_id,
    )
    if found is None:
        raise ArtifactNotFound()
    key, name = found
    if settings.RUN_FILES_DOWNLOADS == "redirect":
        disposition = content_disposition_header(as_attachment=True, filename=name)
        # S3Storage.url takes the response headers the signed URL makes the bucket send.
        url = storage.url(  # type: ignore[call-arg]
            key,
            parameters={
                "ResponseContentDisposition": disposition,
                "ResponseContentType": "application/octet-stream",
            },
        )
        return HttpResponseRedirect(url)
    try:
        opened, size = session_files.open_stream(key)
    except FileNotFoundError:  # the retention sweep removed it since the check
        raise ArtifactNotFound() from None
    response = FileResponse(
        opened, as_attachment=True, filename=name, content_type="application/octet-stream"
    )
    response["Content-Length"] = str(size)
    return response
