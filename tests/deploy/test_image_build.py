"""The image for real: the Dockerfile built by a daemonless builder (podman, else buildah,
on the vfs storage driver, chroot isolation), run, and answering `/health` and an
authenticated call.

Where the base image's registry is unreachable (CI's machines reach only the package
mirrors), podman builds on a stand-in base made from Debian's packages (base_image.py).
Where no builder is installed, or it cannot run here, the test skips and says why.
`.ci/run` installs podman, runc and debootstrap in CI.
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

from .base_image import make_stand_in, why_no_stand_in
from .dockerfile import read_dockerfile

KEY = "built-image-test-key"
STORAGE = ("--storage-driver", "vfs")
BUILD_TIMEOUT = 1800  # a vfs build copies every layer; pip installs the dependencies
STEP_TIMEOUT = 120
# Ways to start the container, tried in turn: podman's defaults, then for a machine whose
# cgroups are hybrid (v1 and v2 at once, which crun refuses) and whose kernel refuses
# podman's default rlimits (seen on CI's VMs), runc on cgroupfs with limits it may set.
RUNTIMES = (
    ((), ()),
    (
        ("--runtime", "runc", "--cgroup-manager", "cgroupfs"),
        ("--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"),
    ),
)


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


def _base(builder: list[str], base: str, folder) -> None:
    """Pull `base`; where its registry is out of reach, use (or make) podman's stand-in."""
    pulled = _run([*builder, "pull", base], timeout=600)
    if pulled.returncode == 0:
        return
    if not builder[0].endswith("podman"):
        pytest.skip(f"cannot pull the base image {base}: {_why(pulled)}")
    if _run([*builder, "image", "exists", base]).returncode == 0:
        return  # the stand-in an earlier run made
    reason = why_no_stand_in(base)
    if reason is not None:
        pytest.skip(f"cannot pull the base image {base} ({_why(pulled)}) nor stand in: {reason}")
    made = make_stand_in(builder, base, folder)
    assert made.returncode == 0, f"the stand-in for {base} failed: {made.stderr[-4000:]}"


@pytest.fixture(scope="module")
def image(builder, tmp_path_factory) -> Iterator[str]:
    """The image the Dockerfile builds, removed afterwards."""
    for base in sorted({stage.base for stage in read_dockerfile(ROOT / "Dockerfile")}):
        _base(builder, base, tmp_path_factory.mktemp("base"))
    tag = f"localhost/opscore-test:{uuid.uuid4().hex[:12]}"
    verb = "build" if builder[0].endswith("podman") else "bud"
    built = _run(
        [
            *builder,
            verb,
            "--isolation",
            "chroot",
            "--format",
            "docker",  # keeps HEALTHCHECK, which the OCI format drops
            "--tag",
            tag,
            "--file",
            str(ROOT / "Dockerfile"),
            str(ROOT),
        ],
        timeout=BUILD_TIMEOUT,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    yield tag
    _run([*builder, "rmi", "--force", tag])
    # The build stage's image is left untagged (vfs keeps a whole copy of each, ~400 MB).
    _run([*builder, "image", "prune", "--force"])


@pytest.fixture(scope="module")
def container(builder, image) -> Iterator[str]:
    """The image running with a key, its port 8000 on a free loopback port; the base URL."""
    if not builder[0].endswith("podman"):
        pytest.skip("running the image needs podman (buildah only builds)")
    port = free_port()
    for runtime, limits in RUNTIMES:
        name = f"opscore-test-{uuid.uuid4().hex[:12]}"
        podman = [*builder, *runtime]
        started = _run(
            [
                *podman,
                "run",
                "--detach",
                "--name",
                name,
                *limits,
                "--publish",
                f"127.0.0.1:{port}:8000",
                "--env",
                f"OPSCORE_API_KEYS={KEY}",
                image,
            ]
        )
        if started.returncode == 0:
            break
        _run([*podman, "rm", "--force", name])
    else:
        pytest.skip(f"podman cannot run containers here: {_why(started)}")
    container_id = started.stdout.strip()
    url = f"http://127.0.0.1:{port}"
    try:
        poll_until(lambda: _healthy(url), timeout=90, what=f"{url}/health", every=0.2)
        yield url
    finally:
        logs = _run([*podman, "logs", container_id]).stdout
        _run([*podman, "rm", "--force", container_id])
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
    refused.value.close()  # the error holds the response open
    assert refused.value.code == 401
