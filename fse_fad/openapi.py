"""The HTTP API described as OpenAPI 3, generated from the endpoints' marshmallow schemas.

An endpoint documents itself with ``@documented(...)``; ``fse-fad openapi`` writes the
document (``docs/openapi.json``), and a test keeps the committed file equal to what the code
generates.
"""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from fse_fad.schemas import ErrorSchema

PATH_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def documented(summary: str, *, tags: list[str], query=None, body=None, body_type: str = "application/json",
               responses: dict | None = None, auth: bool = True, description: str | None = None):
    """Attach OpenAPI documentation to a view function."""

    def attach(view):
        view.__openapi__ = {"summary": summary, "tags": tags, "query": query, "body": body,
                            "body_type": body_type, "responses": responses or {}, "auth": auth,
                            "description": description or (view.__doc__ or "").strip() or None}
        return view

    return attach


def _content(schema, media: str = "application/json") -> dict:
    if schema is None:
        return {}
    if isinstance(schema, dict):
        return {"content": {media: {"schema": schema}}}
    return {"content": {media: {"schema": schema}}}


def build(app: Flask, version: str) -> dict:
    spec = APISpec(title="fse-fad", version=version, openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "xAPI 1.0.3 LRS (/xapi), courses, progress and ECM API (/api/v1)."})
    spec.components.security_scheme("basic", {"type": "http", "scheme": "basic"})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Error", schema=ErrorSchema)
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        doc = getattr(app.view_functions[rule.endpoint], "__openapi__", None)
        if doc is None:
            continue
        path = PATH_PARAM.sub(r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation: dict = {"summary": doc["summary"], "tags": doc["tags"], "operationId": f"{rule.endpoint}.{method.lower()}"}
            if doc["description"]:
                operation["description"] = doc["description"]
            parameters = [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                          for name in PATH_PARAM.findall(rule.rule)]
            if doc["query"] is not None:
                parameters.append({"in": "query", "schema": doc["query"]})
            if parameters:
                operation["parameters"] = parameters
            if doc["body"] is not None and method in ("POST", "PUT", "PATCH"):
                operation["requestBody"] = {"required": True, **_content(doc["body"], doc["body_type"])}
            responses = {}
            for status, (description, schema) in doc["responses"].items():
                responses[str(status)] = {"description": description, **_content(schema)}
            responses.setdefault("400", {"description": "invalid request: the body names the field and the rule",
                                         **_content("Error")})
            if doc["auth"]:
                responses.setdefault("401", {"description": "missing or invalid credentials", **_content("Error")})
                responses.setdefault("403", {"description": "the credentials lack the scope or role", **_content("Error")})
                operation["security"] = [{"basic": []}, {"bearer": []}]
            operation["responses"] = responses
            paths.setdefault(path, {})[method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def document_text() -> str:
    """The OpenAPI document as committed in docs/openapi.json."""
    import json
    from importlib.metadata import version

    from fse_fad.app import create_app
    from fse_fad.config import Config

    app = create_app(Config(database_url="sqlite://", secret_key="openapi-generation-only"))
    try:
        return json.dumps(build(app, version("fse-fad")), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    finally:
        app.extensions["fse_fad"].engine.dispose()


def write_document(out: str) -> None:
    text = document_text()
    if out == "-":
        print(text, end="")
    else:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
