"""The committed API description is the one the code generates, and it is valid OpenAPI."""
from pathlib import Path

from fse_fad.openapi import document_text

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def test_docs_openapi_json_is_current():
    assert DOCUMENT.read_text(encoding="utf-8") == document_text(), \
        "docs/openapi.json is stale: run `fse-fad openapi --out docs/openapi.json`"


def test_every_xapi_and_api_endpoint_is_documented():
    import json

    paths = json.loads(document_text())["paths"]
    for path in ("/xapi/statements", "/xapi/activities/state", "/xapi/agents/profile", "/api/v1/auth/token"):
        assert path in paths
    assert paths["/xapi/about"]["get"].get("security") is None
    assert paths["/xapi/statements"]["post"]["security"]
