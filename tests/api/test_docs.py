"""The API's docs work offline and say what the API answers: the pages name no other host and
run no inline script, their files are ours (right types, cached by content), every search
parameter says what it is with an example, the protocol headers are declared as such, every
error status is in the one error shape, and the main schemas' examples are valid."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from directory.api.openapi import Error
from directory.api.openapi_examples import EXAMPLES
from directory.listings.read_schemas import ServiceRead
from directory.referrals.schemas import ReferralCreate, ReferralRead
from directory.search.query import SearchQuery, SearchResponse

PAGES = ("/docs", "/redoc")
TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
ERROR = {"$ref": "#/components/schemas/Error"}
MODELS: dict[str, type[BaseModel]] = {
    "SearchResponse": SearchResponse,
    "ServiceRead": ServiceRead,
    "ReferralCreate": ReferralCreate,
    "ReferralRead": ReferralRead,
    "Error": Error,
}
IF_MATCH = {
    ("patch", "/v1/services/{service_id}"),
    ("post", "/v1/services/{service_id}/verify"),
    ("post", "/v1/services/{service_id}/archive"),
    ("post", "/v1/referrals/{referral_id}/events"),
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from directory.api.app import create_app
    from directory.config import Settings

    found: dict[str, Any] = create_app(
        Settings(database_url="postgresql://x@localhost/x")
    ).openapi()
    return found


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


@pytest.mark.parametrize("path", PAGES)
def test_the_pages_name_no_other_host_and_run_no_inline_script(
    client: TestClient, path: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not re.findall(r"(?:https?:)?//[\w.-]+", page.text), "a URL of another host"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all('src="/docs/static/' in attrs and not body for attrs, body in scripts)
    assert "style=" not in page.text and "<style" not in page.text


def test_their_files_are_served_with_their_types_and_cached_by_content(
    client: TestClient,
) -> None:
    names = set()
    for path in PAGES:
        names |= set(re.findall(r'(?:src|href)="(/docs/static/[^"]+)"', client.get(path).text))
    assert {re.sub(r"\?.*", "", n).rsplit("/", 1)[1] for n in names} == {
        "favicon.png",
        "swagger-ui.css",
        "swagger-contrast.css",
        "swagger-ui-bundle.js",
        "swagger-init.js",
        "redoc.standalone.js",
    }
    for name in names:
        answer = client.get(name)
        assert answer.status_code == 200, name
        suffix = re.sub(r"\?.*", "", name)[name.rindex(".") :]
        assert answer.headers["content-type"].startswith(TYPES[suffix]), name
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert re.search(r"\?v=[0-9a-f]{10}$", name)
        if "bundle" in name or "standalone" in name:  # 1.5 and 1.1 MB
            assert answer.headers["content-encoding"] == "gzip"
    assert client.get("/docs/static/../docs.py").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404  # no OAuth2 flow to finish


def test_the_description_says_how_to_sign_in(document: dict[str, Any]) -> None:
    description = document["info"]["description"]
    for needed in ("directory users create", "/console/keys", "directory keys create", "Error"):
        assert needed in description


def test_authorize_offers_a_token_and_a_partner_key(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert (schemes["partnerKey"]["in"], schemes["partnerKey"]["name"]) == ("header", "X-Api-Key")
    query = schemes["partnerKeyQuery"]
    assert (query["type"], query["in"], query["name"]) == ("apiKey", "query", "key")
    search = document["paths"]["/v1/search"]["get"]
    assert search["security"] == [{"bearer": []}, {"partnerKey": []}, {"partnerKeyQuery": []}]
    assert document["paths"]["/v1/referrals"]["post"]["security"] == [{"bearer": []}]


@pytest.mark.parametrize("path", ["/v1/search", "/v1/crisis-lines"])
def test_every_search_parameter_has_a_description_and_an_example(
    document: dict[str, Any], path: str
) -> None:
    parameters = document["paths"][path]["get"]["parameters"]
    if path == "/v1/search":
        assert {p["name"] for p in parameters} == set(SearchQuery.model_fields)
    for parameter in parameters:
        assert len(parameter.get("description", "")) > 10, parameter["name"]
        assert "example" in parameter, parameter["name"]


def test_the_search_body_says_each_field_with_an_example(document: dict[str, Any]) -> None:
    fields = document["components"]["schemas"]["SearchQuery"]["properties"]
    for name, field in fields.items():
        assert field.get("description") and field.get("examples"), name
    SearchQuery.model_validate({name: field["examples"][0] for name, field in fields.items()})


def test_the_examples_together_are_a_search(
    client: TestClient, mentor: dict[str, str], document: dict[str, Any]
) -> None:
    """What Swagger UI fills in before "Execute" is a valid search (a 200, not a 422)."""
    query: list[tuple[str, str]] = []
    for parameter in document["paths"]["/v1/search"]["get"]["parameters"]:
        example = parameter["example"]
        if parameter["name"] == "near":
            query.append(("near", ",".join(map(str, example))))
        elif isinstance(example, list):
            query += [(parameter["name"], str(value)) for value in example]
        else:
            query.append((parameter["name"], str(example).lower()))
    answer = client.get("/v1/search", params=query, headers=mentor)
    assert answer.status_code == 200, answer.text


def test_if_match_and_idempotency_key_are_declared_for_what_they_are(
    document: dict[str, Any],
) -> None:
    for method, path, operation in _operations(document):
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        preconditions = {"412", "428"} & set(operation["responses"])
        if (method, path) in IF_MATCH:
            if_match = headers["If-Match"]
            assert if_match["required"] and "version" in if_match["description"]
            assert if_match["example"] == '"3"'
            assert preconditions == {"412", "428"}, path
        else:
            assert "If-Match" not in headers and not preconditions, (method, path)
    key = document["paths"]["/v1/referrals"]["post"]["parameters"][0]
    assert key["name"] == "Idempotency-Key" and not key["required"]
    assert "retry" in key["description"] and len(key["example"]) >= 8
    replay = document["paths"]["/v1/referrals"]["post"]["responses"]["200"]
    assert "Idempotent-Replayed" in replay["headers"]


def test_every_error_status_is_in_the_one_error_shape(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400 or (path, status) == ("/healthz", "503"):  # says what failed
                continue
            assert response["content"] == {"application/json": {"schema": ERROR}}, (
                method,
                path,
                status,
            )
            assert response["description"], (method, path, status)


@pytest.mark.parametrize("name", list(MODELS))
def test_the_main_schemas_have_valid_examples(document: dict[str, Any], name: str) -> None:
    (example,) = document["components"]["schemas"][name]["examples"]
    assert example == EXAMPLES[name]
    MODELS[name].model_validate(example)
