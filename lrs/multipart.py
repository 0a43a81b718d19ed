"""multipart/mixed bodies: statements with their attachments, in requests and responses."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from fse_fad.errors import BadRequest

MAX_PARTS = 1000


@dataclass
class Part:
    headers: dict[str, str]
    content: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def boundary_of(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "boundary":
            value = value.strip().strip('"')
            if 0 < len(value) <= 200:
                return value
    raise BadRequest("multipart/mixed needs a boundary", field="Content-Type", rule="boundary parameter")


def parse(body: bytes, content_type: str) -> list[Part]:
    delimiter = b"\r\n--" + boundary_of(content_type).encode("latin-1")
    chunks = (b"\r\n" + body).split(delimiter)
    parts: list[Part] = []
    closed = False
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            closed = True
            break
        if len(parts) >= MAX_PARTS:
            raise BadRequest("too many parts", field="body", rule=f"at most {MAX_PARTS} parts")
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            if chunk.endswith(b"\r\n") or not chunk:
                head, content = chunk.rstrip(b"\r\n"), b""
            else:
                raise BadRequest("a multipart part has no header/body separator", field="body", rule="RFC 2046 multipart")
        headers: dict[str, str] = {}
        for line in head.split(b"\r\n"):
            if not line.strip():
                continue
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon:
                raise BadRequest("malformed multipart header", field="body", rule="Name: value headers")
            headers[name.strip().lower()] = value.strip()
        parts.append(Part(headers, content))
    if not closed or not parts:
        raise BadRequest("the multipart body is not terminated", field="body", rule="closing boundary")
    return parts


def build(first: bytes, first_type: str, attachments: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/mixed body: ``first`` then each (sha2, content type, content)."""
    boundary = uuid.uuid4().hex
    out = [f"--{boundary}\r\nContent-Type: {first_type}\r\n\r\n".encode(), first, b"\r\n"]
    for sha2, content_type, content in attachments:
        out.append((f"--{boundary}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\n"
                    f"X-Experience-API-Hash: {sha2}\r\n\r\n").encode())
        out.append(content)
        out.append(b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/mixed; boundary={boundary}"
