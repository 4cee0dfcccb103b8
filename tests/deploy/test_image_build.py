"""The image for real: the Dockerfile built by a daemonless builder (podman, else buildah,
on the vfs storage driver), run, and answering `/health` and an authenticated call.

Where no builder is installed, or it cannot run here (no user namespaces, no route to
the base image's registry), the test skips and says why. `.ci/run` installs podman in CI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from tests.support.constants import ROOT
from tests.support.polling import poll_until
from tests.support.servers import UNANSWERED, free_port

from .dockerfile import read_dockerfile

KEY = "built-image-test-key"
STORAGE = ("--storage-driver", "vfs")
BUILD_TIMEOUT = 1800  # a vfs build copies every layer; pip installs the dependencies
STEP_TIMEOUT = 120


def _run(argv: list[str], timeout: float = STEP_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def _why(result: subprocess.CompletedProcess) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {result.returncode}"


@pytest.fixture(scope="module")
def builder() -> list[str]:
    """`podman --storage-driver vfs` (or buildah's), once it is shown to work here."""
    for name in ("podman", "buildah"):
        program = shutil.which(name)
        if program is None:
            continue
        probe = _run([program, *STORAGE, "info"])
        if probe.returncode != 0:
            pytest.skip(f"{name} cannot run here: {_why(probe)}")
        return [program, *STORAGE]
    pytest.skip("no daemonless image builder: install podman (or buildah) to build the image")


@pytest.fixture(scope="module")
def image(builder) -> Iterator[str]:
    """The image the Dockerfile builds, removed afterwards."""
    for base in sorted({stage.base for stage in read_dockerfile(ROOT / "Dockerfile")}):
        pulled = _run([*builder, "pull", base], timeout=600)
        if pulled.returncode != 0:
            pytest.skip(f"cannot pull the base image {base}: {_why(pulled)}")
    tag = f"localhost/opscore-test:{uuid.uuid4().hex[:12]}"
    verb = "build" if builder[0].endswith("podman") else "bud"
    built = _run(
        [*builder, verb, "--tag", tag, "--file", str(ROOT / "Dockerfile"), str(ROOT)],
        timeout=BUILD_TIMEOUT,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    yield tag
    _run([*builder, "rmi", "--force", tag])


@pytest.fixture(scope="module")
def container(builder, image) -> Iterator[str]:
    """The image running with a key, its port 8000 on a free loopback port; the base URL."""
    if not builder[0].endswith("podman"):
        pytest.skip("running the image needs podman (buildah only builds)")
    port = free_port()
    started = _run(
        [
            *builder,
            "run",
            "--detach",
            "--publish",
            f"127.0.0.1:{port}:8000",
            "--env",
            f"OPSCORE_API_KEYS={KEY}",
            image,
        ]
    )
    if started.returncode != 0:
        pytest.skip(f"podman cannot run containers here: {_why(started)}")
    container_id = started.stdout.strip()
    url = f"http://127.0.0.1:{port}"
    try:
        poll_until(lambda: _healthy(url), timeout=90, what=f"{url}/health", every=0.2)
        yield url
    finally:
        logs = _run([*builder, "logs", container_id]).stdout
        _run([*builder, "rm", "--force", container_id])
        print(logs[-4000:])  # shown when a test failed


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except UNANSWERED:
        return False


def test_the_built_image_serves_health_on_its_sqlite_volume(container):
    with urllib.request.urlopen(f"{container}/health", timeout=5) as response:
        health = json.loads(response.read())
    assert (health["status"], health["store"]) == ("ok", "sqlite")
    assert health["machines"] == len(list((ROOT / "machines").rglob("*.yaml")))


def test_the_built_image_answers_an_authenticated_call_and_refuses_one_without_a_key(container):
    request = urllib.request.Request(f"{container}/v1/machines", headers={"X-API-Key": KEY})
    with urllib.request.urlopen(request, timeout=5) as response:
        names = {machine["name"] for machine in json.loads(response.read())}
    assert {"agent", "session"} <= names
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{container}/v1/machines", timeout=5)
    assert refused.value.code == 401
