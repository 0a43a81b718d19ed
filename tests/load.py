"""A small load generator for the reliability tests: threads with keep-alive HTTP connections."""
from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Outcome:
    acknowledged: list[list[str]] = field(default_factory=list)  # ids of each acknowledged batch
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, elapsed: float, ids: list[str] | None = None) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies.append(elapsed)
            if ids is not None:
                self.acknowledged.append(ids)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)] if ordered else 0.0

    def p99(self) -> float:
        return self.percentile(0.99)


class Connection:
    def __init__(self, base_url: str, key: str, secret: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.headers = {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode(),
                        "X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(self, method: str, path: str, body=None) -> tuple[int, bytes]:
        """Send ``body`` as JSON; the status and the body of the answer."""
        payload = json.dumps(body).encode() if body is not None else None
        status, _headers, content = self.exchange(method, path, payload)
        return status, content

    def upload(self, path: str, field: str, filename: str, content: bytes) -> tuple[int, dict[str, str], bytes]:
        """POST one file as multipart/form-data, as a browser form would."""
        boundary = "fse-fad-upload-boundary"
        payload = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                   f"Content-Type: application/octet-stream\r\n\r\n").encode() + content \
            + f"\r\n--{boundary}--\r\n".encode()
        return self.exchange("POST", path, payload, {"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def exchange(self, method: str, path: str, payload: bytes | None = None,
                 headers: dict | None = None) -> tuple[int, dict[str, str], bytes]:
        """Send raw bytes with extra headers; the status, headers and body of the answer."""
        try:
            self.conn.request(method, path, body=payload, headers={**self.headers, **(headers or {})})
            response = self.conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            raise


def run_clients(count: int, work, duration: float | None = None, stop: threading.Event | None = None) -> None:
    """Run ``work(index, stop_event)`` in ``count`` threads until each returns or time is up."""
    stop = stop or threading.Event()
    threads = [threading.Thread(target=work, args=(i, stop), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    if duration is not None:
        time.sleep(duration)
        stop.set()
    for thread in threads:
        thread.join(timeout=120)
