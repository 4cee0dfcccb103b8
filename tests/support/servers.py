"""Running the real server in a subprocess: a free port, its health, its process group."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from .constants import ROOT
from .polling import poll_until

# What a request to a server that dies or restarts may raise: a refused or reset connection,
# a timeout (all OSError, urllib's URLError and HTTPError included), or an answer cut off
# between its headers and its body (`http.client.IncompleteRead`, an HTTPException). A
# request that raised one of these was not acknowledged.
UNANSWERED = (OSError, http.client.HTTPException)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(base_url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll `/health` until it answers 200; RuntimeError if the process dies first."""

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=1) as response:
                return response.status == 200
        except UNANSWERED:
            return False

    poll_until(healthy, timeout, f"{base_url}/health to answer", every=0.05)


@contextmanager
def running_server(command: list[str], env: Mapping[str, str], port: int) -> Iterator[str]:
    """Run `command` (which serves on `port`) in its own process group; yield its URL.

    Its output goes to a file, never a pipe nobody reads: a full pipe would stop a busy
    server at its next log line."""
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(base_url, process)
            yield base_url
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
