"""Serving with gunicorn: the production WSGI server, several workers on PostgreSQL."""
from __future__ import annotations

import multiprocessing

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from fse_fad.config import Config
from fse_fad.logs import JsonFormatter


class JsonLogger(Logger):
    """gunicorn's own lines (start, workers, at debug level every request line with its path) as
    the application's JSON lines, masked like them: a path may hold a codice fiscale."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())


def default_workers(config: Config) -> int:
    if config.workers > 0:
        return config.workers
    # SQLite allows one writer at a time: one process with threads. PostgreSQL: a process per core and one more.
    return 1 if not config.is_postgresql else multiprocessing.cpu_count() + 1


class Server(BaseApplication):
    def __init__(self, config: Config, host: str, port: int):
        self.config_values = config
        self.bind = f"{host}:{port}"
        super().__init__()

    def load_config(self):
        cfg = self.config_values
        settings = {
            "bind": self.bind,
            "workers": default_workers(cfg),
            "worker_class": "gthread",
            "threads": cfg.threads,
            "timeout": 60,
            "graceful_timeout": 30,
            "keepalive": 5,
            "accesslog": None,
            "logger_class": JsonLogger,
            "loglevel": cfg.log_level,
            # Bounded request lines and headers, like the bounded bodies in the app.
            "limit_request_line": 8190,
            "limit_request_fields": 100,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self):
        from fse_fad.app import create_app

        return create_app(self.config_values)
