"""Structured JSON logs, one object per line, with the request id; personal data and secrets
never reach them: codici fiscali, e-mail addresses and credentials are masked."""
from __future__ import annotations

import json
import logging
import re
import sys
import time

# A codice fiscale, omocodia variants included (digits replaced by L-V letters).
CODICE_FISCALE_RE = re.compile(r"(?i)\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPR-T][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b")
EMAIL_RE = re.compile(r"[\w.+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+")
JWT_RE = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+")
AUTH_RE = re.compile(r"(?i)\b(basic|bearer)\s+[\w.+/=-]+")
SECRET_FIELD_RE = re.compile(r'(?i)("?(?:secret|password|token|access_token)"?\s*[:=]\s*)"?[^",\s}]+"?')
# What each pattern above needs somewhere in the text: most log lines have none of it and are
# scanned once instead of five times.
SUSPECT_RE = re.compile(r"@|%40|eyJ|(?i:basic|bearer|secret|password|token)|(?i:[A-Z]{6}[0-9LMNPQRSTUV]{2})")


def redact(text: str) -> str:
    if not SUSPECT_RE.search(text):
        return text
    text = JWT_RE.sub("[token]", text)
    text = AUTH_RE.sub(r"\1 [credentials]", text)
    text = SECRET_FIELD_RE.sub(r'\1"[secret]"', text)
    text = CODICE_FISCALE_RE.sub("[codice fiscale]", text)
    return EMAIL_RE.sub("[email]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in ("request_id", "method", "path", "status", "duration_ms", "client"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "info", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("fse_fad")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
