"""The OpenAPI documents as served: valid, every response body typed, the data API in both."""

from typing import Any

import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

MAIN = "/api/schema/?format=json"
COLLECTIONS_V1 = "/api/schema/collections-v1/?format=json"


def _document(url: str) -> dict[str, Any]:
    response = APIClient().get(url)
    assert response.status_code == 200
    return response.json()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _untyped_bodies(document: dict[str, Any]) -> list[str]:
    """Responses whose body is missing (other than 204, or a redirect naming its Location) or
    an object without properties."""
    found = []
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            content = response.get("content")
            if content is None:
                redirect = status.startswith("3") and "Location" in response.get("headers", {})
                if status != "204" and not redirect:
                    found.append(f"{method.upper()} {path} {status}: no body described")
                continue
            for media_type, body in content.items():
                if _untyped(body.get("schema", {})):
                    found.append(f"{method.upper()} {path} {status} {media_type}: untyped")
    return found


def _untyped(schema: dict[str, Any]) -> bool:
    if "$ref" in schema or schema.get("format") == "binary":
        return False
    return schema.get("type") in (None, "object") and not schema.get("properties")


@pytest.mark.django_db
@pytest.mark.parametrize("url", [MAIN, COLLECTIONS_V1])
def test_each_document_is_valid_openapi_with_every_response_typed(url: str) -> None:
    document = _document(url)
    validate_schema(document)
    assert _untyped_bodies(document) == []


@pytest.mark.django_db
def test_main_document_holds_api_v1_and_the_data_api_v2() -> None:
    document = _document(MAIN)
    paths = set(document["paths"])
    assert "/api/v1/projects" in paths
    assert {"/collections/{project_id}/{name}", "/collections/{project_id}/{name}/{key}"} <= paths
    assert "Projects, members and API tokens." not in document["info"]["description"]
    stream = document["paths"]["/collections/{project_id}/{name}"]["get"]
    header = next(p for p in stream["parameters"] if p["name"] == "x-api-version")
    assert (header["in"], header["required"], header["schema"]["enum"]) == ("header", True, ["2"])
    assert stream["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CollectionStream"
    }
    # The data API's errors are flat {error, code}; /api/v1 keeps the envelope.
    error = stream["responses"]["404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/CollectionsError"}
    projects = document["paths"]["/api/v1/projects"]["get"]["responses"]["404"]
    assert projects["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorEnvelope")


@pytest.mark.django_db
def test_v1_document_holds_the_data_api_v1_alone() -> None:
    document = _document(COLLECTIONS_V1)
    assert set(document["paths"]) == {"/collections/{name}", "/collections/{name}/{key}"}
    get_item = document["paths"]["/collections/{name}/{key}"]["get"]
    assert set(get_item["responses"]) >= {"200", "204", "401", "404", "409"}
    header = next(p for p in get_item["parameters"] if p["name"] == "x-api-version")
    assert header.get("required", False) is False and header["schema"]["enum"] == ["1"]
    assert "Deprecation" in get_item["responses"]["200"]["headers"]
