"""A stand-in for the Dockerfile's base image, for a machine that cannot reach its registry
but can reach the OS package mirror (CI's): Debian bookworm, the base's own distribution,
made by `debootstrap`, with Debian's Python 3.11, pip and venv, `python` where the official
image has it, no PEP 668 marker (the official image has none), and this machine's CA
certificates, so that pip in the build reaches the package index the way this machine does.

The image built on it is the Dockerfile's, step for step; only the base differs, in its
Python's patch release (Debian's 3.11 instead of python.org's). Only the tests make it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SUITE = "bookworm"
PACKAGES = "python3,python3-venv,python3-pip,ca-certificates"
BOOTSTRAP_TIMEOUT = 1200
HOST_CERTIFICATES = Path("/etc/ssl/certs/ca-certificates.crt")


def why_no_stand_in(base: str) -> str | None:
    """Why no stand-in can be made for `base` here (None: it can)."""
    if SUITE not in base:
        return f"the stand-in is Debian {SUITE}; {base} is not"
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed"
    if os.geteuid() != 0:
        return "debootstrap needs root"
    return None


def make_stand_in(builder: list[str], base: str, folder: Path) -> subprocess.CompletedProcess:
    """Bootstrap the root file system under `folder` and import it as `base`."""
    root = folder / "root"
    made = _run(
        ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", SUITE, str(root)],
        BOOTSTRAP_TIMEOUT,
    )
    if made.returncode != 0:
        return made
    (root / "usr/local/bin/python").symlink_to("/usr/bin/python3")
    for marker in root.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    if HOST_CERTIFICATES.is_file():
        shutil.copyfile(HOST_CERTIFICATES, root / "etc/ssl/certs/ca-certificates.crt")
    with subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE) as tar:
        imported = subprocess.run(
            [*builder, "import", "-", base],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            timeout=BOOTSTRAP_TIMEOUT,
            check=False,
        )
    shutil.rmtree(root, ignore_errors=True)
    return imported


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
