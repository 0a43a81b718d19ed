"""Reading the JSON data files of ``courses/`` (reference data, catalogue, path rules, Moodle
mappings): every problem names the file and the field, so that whoever edits a file sees at once
what to fix."""
from __future__ import annotations

import json
from pathlib import Path

from marshmallow import Schema, ValidationError


class DataFileError(ValueError):
    """A data file that cannot be used. ``problems`` is a list of (field, message)."""

    def __init__(self, file: str, problems: list[tuple[str, str]]):
        self.file = file
        self.problems = problems
        super().__init__("\n".join(f"{file}: {field}: {message}" if field else f"{file}: {message}"
                                   for field, message in problems))

    @property
    def field(self) -> str:
        return self.problems[0][0]


def read_json(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataFileError(str(path), [("", "file not found")]) from None
    except UnicodeDecodeError:
        raise DataFileError(str(path), [("", "not UTF-8 text")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(str(path), [("", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")]) from None


def _flatten(messages, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            if key == "_schema":
                name = prefix
            elif isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(value, name))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(prefix, " ".join(messages))]
    if isinstance(messages, list):
        return [p for m in messages for p in _flatten(m, prefix)]
    return [(prefix, str(messages))]


def load(path: Path, schema: Schema, name: str | None = None) -> dict:
    """Read ``path`` and validate it with ``schema``; the error names ``name`` (default: the file name)."""
    name = name or path.name
    data = read_json(path)
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise DataFileError(name, _flatten(exc.messages)) from None


class Problems:
    """Collects the cross-field problems of one file, then raises them all at once."""

    def __init__(self, file: str):
        self.file = file
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append((field, message))

    def check(self, condition: bool, field: str, message: str) -> bool:
        if not condition:
            self.add(field, message)
        return condition

    def raise_any(self) -> None:
        if self.items:
            raise DataFileError(self.file, self.items)
