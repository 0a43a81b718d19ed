"""A real ``fse-fad serve`` process for end-to-end tests."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fse_fad(*args: str, env: dict, cwd: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "fse_fad.cli", *args], env=env, cwd=cwd,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"fse-fad {' '.join(args)} failed: {result.stderr}")
    return result.stdout


class ServerProcess:
    def __init__(self, database_url: str, workdir: Path, workers: int = 2, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.env = {**self.environment(database_url, self.url, env), "FSE_FAD_WORKERS": str(workers)}
        self.log = open(workdir / f"server-{self.port}.log", "w")
        self.process = subprocess.Popen([sys.executable, "-m", "fse_fad.cli", "serve", "--port", str(self.port)],
                                        env=self.env, cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self._wait_ready()

    @staticmethod
    def environment(database_url: str, public_url: str, extra: dict | None = None) -> dict:
        """The environment of the server and of the ``fse-fad`` commands run beside it."""
        return {**os.environ, "FSE_FAD_DATABASE_URL": database_url, "FSE_FAD_SECRET_KEY": "end-to-end-secret-" + "k" * 32,
                "FSE_FAD_PUBLIC_URL": public_url, "FSE_FAD_LANG": "en", **(extra or {})}

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {(self.workdir / self.log.name).read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/ready", timeout=2) as response:
                    if json.load(response)["status"] == "ready":
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("server did not become ready")

    def create_client(self, name: str, *args: str) -> tuple[str, str]:
        created = json.loads(fse_fad("clients", "create", name, *args, "--json", env=self.env, cwd=self.workdir))
        return created["key"], created["secret"]

    def kill(self) -> None:
        """SIGKILL the whole process group: master and workers die mid-request."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()

    def stop(self) -> None:
        if self.log.closed:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
