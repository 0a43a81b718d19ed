"""The xAPI alternate request syntax: a POST with ``?method=`` whose form fields carry the
headers, the parameters and the content of the real request (for clients that cannot send
custom headers or other methods, such as cross-origin requests from old browsers)."""
from __future__ import annotations

import io
import json
from urllib.parse import parse_qs, urlencode

HEADER_FIELDS = {
    "authorization": "HTTP_AUTHORIZATION",
    "x-experience-api-version": "HTTP_X_EXPERIENCE_API_VERSION",
    "content-type": "CONTENT_TYPE",
    "if-match": "HTTP_IF_MATCH",
    "if-none-match": "HTTP_IF_NONE_MATCH",
    "accept-language": "HTTP_ACCEPT_LANGUAGE",
}
METHODS = {"GET", "HEAD", "PUT", "POST", "DELETE"}


class AlternateRequestSyntax:
    def __init__(self, app, prefix: str, max_bytes: int):
        self.app = app
        self.prefix = prefix
        self.max_bytes = max_bytes

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO", "").startswith(self.prefix):
            query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            if "method" in query:
                problem = self._rewrite(environ, query)
                if problem:
                    return self._bad_request(start_response, *problem)
        return self.app(environ, start_response)

    def _rewrite(self, environ, query) -> tuple[str, str] | None:
        if set(query) != {"method"}:
            extra = sorted(set(query) - {"method"})[0]
            return extra, "with the alternate syntax every parameter is a form field"
        method = query["method"][0].upper()
        if method not in METHODS:
            return "method", "one of GET, HEAD, PUT, POST, DELETE"
        if (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            return "Content-Type", "application/x-www-form-urlencoded"
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return "Content-Length", "an integer"
        if length > self.max_bytes:
            return "body", f"at most {self.max_bytes} bytes"
        raw = environ["wsgi.input"].read(length)
        try:
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            return "body", "UTF-8 form encoding"
        content = b""
        params = {}
        for name, values in form.items():
            value = values[0]
            lowered = name.lower()
            if lowered == "content":
                content = value.encode("utf-8")
            elif lowered in HEADER_FIELDS:
                environ[HEADER_FIELDS[lowered]] = value
            elif lowered == "content-length":
                continue
            else:
                params[name] = value
        if method in ("PUT", "POST") and "CONTENT_TYPE" in environ and environ["CONTENT_TYPE"].startswith(
                "application/x-www-form-urlencoded"):
            environ["CONTENT_TYPE"] = "application/json"
        environ["REQUEST_METHOD"] = method
        environ["QUERY_STRING"] = urlencode(params)
        environ["CONTENT_LENGTH"] = str(len(content))
        environ["wsgi.input"] = io.BytesIO(content)
        return None

    @staticmethod
    def _bad_request(start_response, field: str, rule: str):
        field = field or "(unnamed)"
        body = json.dumps({"status": 400, "message": f"{field}: {rule}",
                           "errors": [{"field": field, "rule": rule}]}).encode()
        start_response("400 Bad Request", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                           ("X-Experience-API-Version", "1.0.3"),
                                           ("Access-Control-Allow-Origin", "*")])
        return [body]
