"""`python -m payreq_local` in a subprocess, as the README runs it, for the e2e suite.

The stack picks free ports itself (`--port 0 --s3-port 0`) and prints its URLs as `NAME=value`
lines; its output is drained by a thread (kept for failure messages) so the pipe never blocks it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from collections.abc import Callable

READY_MARKER = "payreq local ready in"
# The local stack's TestLoginToken parameter (payreq_local.environment.LOCAL_PARAMETERS).
TEST_LOGIN_TOKEN = "payreq-local"
SESSION_COOKIE = "__Host-payreq_session"
READY_TIMEOUT_SECONDS = 120


@dataclass
class LocalStack:
    process: subprocess.Popen[str]
    data_dir: Path
    lines: list[str] = field(default_factory=list)
    ready_seconds: float = 0.0
    _reader: threading.Thread | None = None

    @classmethod
    def start(cls, data_dir: Path, *arguments: str) -> LocalStack:
        started = time.monotonic()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "payreq_local",
                "--data-dir",
                str(data_dir),
                "--port",
                "0",
                "--s3-port",
                "0",
                *arguments,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            # A process group of its own: whatever it started can be found and stopped with it.
            start_new_session=True,
        )
        stack = cls(process, data_dir)
        stack._reader = threading.Thread(target=stack._drain, daemon=True)
        stack._reader.start()
        deadline = started + READY_TIMEOUT_SECONDS
        while not any(READY_MARKER in line for line in stack.lines):
            if process.poll() is not None or time.monotonic() > deadline:
                stack.kill()
                raise AssertionError("the local stack never became ready:\n" + stack.output)
            time.sleep(0.05)
        stack.ready_seconds = time.monotonic() - started
        return stack

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def value(self, name: str) -> str:
        return next(line.split("=", 1)[1] for line in self.lines if line.startswith(f"{name}="))

    @property
    def api_url(self) -> str:
        return self.value("PAYREQ_API_URL")

    def session_cookie(self, email: str, permissions: list[str]) -> str:
        """Test-token login over HTTP; the Cookie header a browser would then send back. (The cookie is
        Secure, a `__Host-` cookie: httpx keeps it from plain http, a browser on localhost sends it.)"""
        response = httpx.post(
            f"{self.api_url}/auth/test-login",
            json={"token": TEST_LOGIN_TOKEN, "email": email, "permissions": permissions},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return f"{SESSION_COOKIE}={SimpleCookie(response.headers['set-cookie'])[SESSION_COOKIE].value}"

    @property
    def websocket_url(self) -> str:
        return self.value("PAYREQ_WEBSOCKET_URL")

    @property
    def s3_url(self) -> str:
        return self.value("AWS_ENDPOINT_URL_S3")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, timeout=30)

    def invocations(self, **query: Any) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.api_url}/_local/invocations", params=query, timeout=10)
        response.raise_for_status()
        return response.json()["items"]  # type: ignore[no-any-return]

    def latest_seq(self) -> int:
        entries = self.invocations()
        return entries[-1]["seq"] if entries else 0

    def wait_for_invocation(
        self, predicate: Callable[[dict[str, Any]], bool], *, timeout: float = 20.0, **query: Any
    ) -> dict[str, Any]:
        """The first logged invocation matching `predicate`, polling until `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.invocations(**query):
                if predicate(entry):
                    return entry
            time.sleep(0.05)
        raise AssertionError(f"no matching invocation within {timeout}s:\n{self.invocations(**query)}")

    def wait_for_line(self, text: str, *, timeout: float = 10.0) -> str:
        """The first output line containing `text`; the reader thread may lag the process a little."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((line for line in list(self.lines) if text in line), None)
            if found is not None:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no output line with {text!r} within {timeout}s:\n{self.output}")

    def processes(self) -> dict[str, Any]:
        return httpx.get(f"{self.api_url}/_local/processes", timeout=10).json()  # type: ignore[no-any-return]

    def interrupt(self, timeout: float = 30.0) -> int:
        """Ctrl-C, and wait for the stack to exit; its exit status."""
        self.process.send_signal(signal.SIGINT)
        status = self.process.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=5)
        return status

    def kill(self) -> None:
        """Kill the stack and whatever it started that is still running, its PostgreSQL included
        (which runs detached from the group, and which a killed stack can no longer stop)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        stop_postgres(self.data_dir)

    def stop(self) -> None:
        """Ctrl-C, as a person would; then make sure nothing it started outlives it."""
        try:
            self.interrupt()
        except subprocess.TimeoutExpired:
            pass
        finally:
            self.kill()


def stop_postgres(data_dir: Path, timeout: float = 20.0) -> None:
    """Stop the PostgreSQL serving `data_dir`, if one still does (fast shutdown, then kill)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    for signum in (signal.SIGINT, signal.SIGKILL):
        if not process_alive(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        deadline = time.monotonic() + timeout
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def process_alive(pid: int) -> bool:
    """Alive and not a zombie (an exited child nobody has reaped yet is gone for our purpose)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    return True
