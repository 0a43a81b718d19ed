"""Structured JSON logs, one object per line, with the request id; personal data and secrets
never reach them: codici fiscali, e-mail addresses and credentials are masked."""
from __future__ import annotations

import logging
import re
import sys
import time

from fse_fad import jsontext

# A codice fiscale, omocodia variants included (digits replaced by L-V letters).
CODICE_FISCALE_RE = re.compile(r"(?i)\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPR-T][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b")
EMAIL_RE = re.compile(r"[\w.+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+")
JWT_RE = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+")
AUTH_RE = re.compile(r"(?i)\b(basic|bearer)\s+[\w.+/=-]+")
SECRET_FIELD_RE = re.compile(r'(?i)("?(?:secret|password|token|access_token)"?\s*[:=]\s*)"?[^",\s}]+"?')
# Words the credential patterns need (case-insensitive): text without any of them, nor "@", "%40",
# "eyJ" or a codice fiscale, is left as it is, and most log lines are such text.
CREDENTIAL_WORDS_RE = re.compile(r"(?i)basic|bearer|secret|password|token")


def needs_masking(text: str) -> bool:
    """Whether one of the masking patterns could match ``text`` (never False when one does). Quick
    on the usual log line: substring tests, and one regular expression for the codice fiscale."""
    if "@" in text or "%40" in text or "eyJ" in text or CODICE_FISCALE_RE.search(text):
        return True
    if not text.isascii():
        # Case-insensitive matching also folds a few non-ASCII letters (the long s, the dotless i).
        return CREDENTIAL_WORDS_RE.search(text) is not None
    lowered = text.lower()
    return ("basic" in lowered or "bearer" in lowered or "secret" in lowered or "password" in lowered
            or "token" in lowered)


def redact(text: str) -> str:
    if not needs_masking(text):
        return text
    text = JWT_RE.sub("[token]", text)
    text = AUTH_RE.sub(r"\1 [credentials]", text)
    text = SECRET_FIELD_RE.sub(r'\1"[secret]"', text)
    text = CODICE_FISCALE_RE.sub("[codice fiscale]", text)
    return EMAIL_RE.sub("[email]", text)


# The fields a log call may add (``extra=``), in the order they are written.
FIELDS = ("request_id", "method", "path", "status", "duration_ms", "client")


class JsonFormatter(logging.Formatter):
    """One JSON object per record. Its text (message, fields, exception) is scanned for anything
    to mask once, as a whole; only a line where something turns up is masked field by field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._second: tuple[int, str] = (-1, "")

    def _time(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        cached = self._second
        if cached[0] != second:
            cached = self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{cached[1]}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self._time(record), "level": record.levelname.lower(), "logger": record.name,
                 "message": record.getMessage()}
        texts = [entry["message"]]
        fields = record.__dict__
        for key in FIELDS:
            value = fields.get(key)
            if value is not None:
                entry[key] = value
                if isinstance(value, str):
                    texts.append(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
            texts.append(entry["exception"])
        # No masking pattern matches across a NUL, nor needs one: the parts joined by NULs need
        # masking where one of them does.
        if needs_masking("\0".join(texts)):
            for key, value in entry.items():
                if key not in ("time", "level", "logger") and isinstance(value, str):
                    entry[key] = redact(value)
        return jsontext.dumps(entry)


def configure(level: str = "info", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("fse_fad")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
