"""The Flask application factory."""
from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from sqlalchemy import text
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from fse_fad.auth import ActiveClients
from fse_fad.config import Config
from fse_fad.db import make_engine, make_session_factory, pending_migrations
from fse_fad.errors import ApiError, BadRequest
from fse_fad.expiring import ExpiringMap
from fse_fad.logs import configure as configure_logs
from fse_fad.web import Runtime
from lrs.alternate import AlternateRequestSyntax

log = logging.getLogger("fse_fad")
access_log = logging.getLogger("fse_fad.access")


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    configure_logs(config.log_level)
    app = Flask(__name__)
    app.json = SafeJSONProvider(app)
    # The APIs keep no cookie sessions (credentials come with every request); the dashboard sets up
    # its own, for its pages only.
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    engine = make_engine(config.database_url)
    app.extensions["fse_fad"] = Runtime(config=config, engine=engine, session_factory=make_session_factory(engine),
                                        active_clients=ActiveClients(ttl_seconds=config.auth_cache_seconds),
                                        activity_definitions=ExpiringMap(config.activity_cache_seconds, 20_000))
    # Learner progress is kept in the transaction that stores each statement batch.
    from courses.projection import projector_for

    app.extensions["fse_fad"].statement_listeners.append(projector_for(config.moodle_mapping))

    from courses.api import blueprint as courses_blueprint
    from courses.reports_api import blueprint as reports_blueprint
    from ecm.api import blueprint as ecm_blueprint
    from dashboard.blueprint import blueprint as dashboard_blueprint
    from lrs.api import blueprint as lrs_blueprint
    from fse_fad.blueprint import blueprint as core_blueprint
    from scorm_packages.api import blueprint as scorm_blueprint

    app.register_blueprint(core_blueprint)
    app.register_blueprint(lrs_blueprint)
    app.register_blueprint(courses_blueprint)
    app.register_blueprint(reports_blueprint)
    app.register_blueprint(scorm_blueprint)
    app.register_blueprint(ecm_blueprint)
    app.register_blueprint(dashboard_blueprint)
    _register_error_handlers(app)
    app.wsgi_app = AlternateRequestSyntax(app.wsgi_app, prefix="/xapi/", max_bytes=config.max_request_bytes)

    @app.before_request
    def _request_id():
        supplied = request.headers.get("X-Request-ID", "")
        g.request_id = supplied if supplied.isalnum() and len(supplied) <= 64 else uuid.uuid4().hex
        g.started = time.perf_counter()
        _refuse_nul_characters()

    @app.after_request
    def _access_log(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        principal = g.get("principal")
        # The path only: query strings carry agents (e-mail addresses) and are not logged.
        access_log.info("request", extra={
            "request_id": g.get("request_id"), "method": request.method, "path": request.path,
            "status": response.status_code, "client": principal.key if principal else None,
            "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2)})
        return response

    @app.teardown_request
    def _close_session(_exc):
        session = g.pop("db", None)
        if session is not None:
            session.close()

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    @app.get("/ready")
    def ready():
        runtime: Runtime = app.extensions["fse_fad"]
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            pending = pending_migrations(runtime.engine)
        except Exception as exc:  # readiness reports, it does not crash
            log.warning("readiness check failed: %s", exc.__class__.__name__)
            return jsonify(status="unavailable", reason="database unreachable"), 503
        if pending:
            return jsonify(status="unavailable", reason="pending migrations", pending=pending), 503
        return jsonify(status="ready")

    return app


def _refuse_nul_characters() -> None:
    """No path or query parameter holds a NUL character: PostgreSQL refuses them in text, so one that
    reached a query would be a 500 instead of the client's error."""
    if "\x00" in request.path:
        raise BadRequest("the path holds a NUL character", field="path", rule="no NUL characters")
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise BadRequest("a query parameter holds a NUL character", field=name.replace("\x00", ""),
                             rule="no NUL characters")


class SafeJSONProvider(DefaultJSONProvider):
    """Bodies nested deeper than the parser's recursion allows are invalid JSON (a 400), not a crash."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        response = jsonify(exc.as_dict())
        response.status_code = exc.status
        for name, value in exc.headers.items():
            response.headers[name] = value
        return response

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc):
        limit = app.config["MAX_CONTENT_LENGTH"]
        body = {"status": 413, "message": f"request body larger than {limit} bytes",
                "errors": [{"field": "body", "rule": f"at most {limit} bytes"}]}
        return jsonify(body), 413

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        body = {"status": exc.code, "message": exc.description or exc.name}
        if exc.code in (400, 415):
            # Raised by the framework while reading the request: the body is what was wrong.
            body["errors"] = [{"field": "body", "rule": exc.description or exc.name}]
        response = jsonify(body)
        response.status_code = exc.code or 500
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error in request %s", g.get("request_id"))
        return jsonify({"status": 500, "message": "internal error", "request_id": g.get("request_id")}), 500
