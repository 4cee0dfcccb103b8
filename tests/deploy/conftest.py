"""The image's runtime stage laid out on this machine, as the Dockerfile builds it.

The Dockerfile is read, not restated: the build context is what .dockerignore lets
through, the wheel is built and installed into a fresh virtual environment with the
extras the build stage names, and the runtime stage's COPY, VOLUME and WORKDIR are laid
out under a temporary root, its ENV with image paths mapped under that root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.constants import ROOT

from .dockerfile import Stage, copy_build_context, read_dockerfile

PIP_TIMEOUT = 600
# pip's words for an unreachable package index; anything else failing is a real failure.
NETWORK_TROUBLE = re.compile(
    r"NewConnectionError|Failed to establish a new connection|"
    r"Temporary failure in name resolution|Network is unreachable|ProxyError"
)


@dataclass(frozen=True)
class Container:
    """The image's runtime stage laid out on this machine, ready to run commands in."""

    root: Path
    workdir: Path
    env: dict[str, str]
    stage: Stage

    def run(self, argv: list[str], **env: str) -> subprocess.CompletedProcess:
        """Run `argv` as `docker exec` would, with `env` on top of the image's."""
        return subprocess.run(
            argv,
            env={**self.env, **env},
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def _pip(args: list[str], what: str) -> None:
    """Run pip; skip when the package index is unreachable (never in CI), else fail loudly."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
        check=False,
    )
    if result.returncode == 0:
        return
    output = result.stdout + result.stderr
    if NETWORK_TROUBLE.search(output) and os.environ.get("CI") != "true":
        pytest.skip(f"{what} needs the package index, which is unreachable from here")
    raise AssertionError(f"{what} failed:\n{output[-4000:]}")


def _stages() -> tuple[Stage, Stage]:
    """The stage that builds the virtual environment, and the runtime (last) stage."""
    stages = read_dockerfile(ROOT / "Dockerfile")
    runtime = stages[-1]
    [from_build] = [c for c in runtime.all("COPY") if "from" in c.options()[0]]
    [build] = [s for s in stages if s.name == from_build.options()[0]["from"]]
    return build, runtime


def _extras(build: Stage) -> str:
    """The extras the build stage installs the wheel with: `"${wheel}[postgres,otel]"`."""
    found = {m for run in build.all("RUN") for m in re.findall(r"\}\[([a-z][\w,-]*)\]", run.text)}
    assert len(found) == 1, f"expected one `[extras]` in the build stage's RUN, found {found}"
    return found.pop()


def _image_paths(runtime: Stage) -> list[str]:
    """The absolute paths the runtime stage creates: COPY targets, volumes, the workdir."""
    paths = [c.options()[1].split()[-1] for c in runtime.all("COPY")]
    paths += [p for v in runtime.all("VOLUME") for p in v.exec_form()]
    paths += [w.text for w in runtime.all("WORKDIR")]
    return sorted({p.rstrip("/") for p in paths}, key=len, reverse=True)


def _under(root: Path, image_path: str) -> Path:
    return root / image_path.lstrip("/")


def _map_paths(value: str, root: Path, image_paths: list[str]) -> str:
    """`value` with every image path in it moved under `root` (`sqlite:////data/x.db` too)."""
    pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, image_paths)) + r")(?=/|:|$)")
    return pattern.sub(lambda m: str(_under(root, m[1])), value)


@pytest.fixture(scope="session")
def container(tmp_path_factory) -> Container:
    """The image's filesystem and environment, built as the Dockerfile builds them."""
    tmp = tmp_path_factory.mktemp("image")
    build, runtime = _stages()
    context, wheels, root = tmp / "context", tmp / "wheels", tmp / "root"
    copy_build_context(ROOT, context)
    _pip(["wheel", "--no-deps", "--wheel-dir", str(wheels), str(context)], "building the wheel")
    [wheel] = wheels.glob("opscore-*.whl")
    for copy in runtime.all("COPY"):
        options, paths = copy.options()
        source, target = paths.split()
        if "from" in options:  # the build stage's virtual environment
            venv = _under(root, source)
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
            python = str(venv / "bin" / "python")
            _pip(["--python", python, "install", f"{wheel}[{_extras(build)}]"], "installing")
            if source.rstrip("/") != target.rstrip("/"):
                shutil.copytree(venv, _under(root, target), symlinks=True)
        else:
            shutil.copytree(context / source, _under(root, target))
    for volume in runtime.all("VOLUME"):
        for path in volume.exec_form():
            _under(root, path).mkdir(parents=True)
    workdir = _under(root, runtime.last("WORKDIR").text)
    workdir.mkdir(parents=True, exist_ok=True)
    (root / "tmp").mkdir()
    image_paths = _image_paths(runtime)
    env = {
        name: _map_paths(value, root, image_paths)
        for name, value in runtime.env({"PATH": os.environ["PATH"]}).items()
    }
    env["TMPDIR"] = str(root / "tmp")  # the container's own /tmp
    return Container(root, workdir, env, runtime)
