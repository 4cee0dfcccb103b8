"""Fetch the pinned Mermaid build that `/ui` serves, with npm, and check its digest.

The minified build is 5.5 MB and generated, so it is not committed: `make run`,
`make test` and `make ui-assets` fetch it once into the package's static folder.
Without npm (or without the registry) the page shows diagrams as text and the
browser tests skip; `--required` (used by CI) turns that into an error.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "12.3.0"
SHA256 = "336df803d87a38b70a01e736e666c8f7601d2ce42f5e47c8fafe5d721074b9a3"
MEMBERS = {"package/dist/mermaid.min.js": "mermaid.min.js", "package/LICENSE": "mermaid.LICENSE"}
ROOT = Path(__file__).resolve().parent.parent
TARGET_DIR = ROOT / "opscore" / "api" / "ui" / "static" / "vendor"
TARGET = TARGET_DIR / "mermaid.min.js"


def is_current() -> bool:
    """Whether the pinned build is already in place."""
    return TARGET.is_file() and hashlib.sha256(TARGET.read_bytes()).hexdigest() == SHA256


def fetch() -> None:
    """Download the package tarball with `npm pack` and extract the build and its licence."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed")
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(  # noqa: S603 - npm found on PATH, fixed arguments
            [npm, "pack", f"mermaid@{VERSION}", "--pack-destination", scratch, "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=300,
        )
        with tarfile.open(Path(scratch) / f"mermaid-{VERSION}.tgz") as tarball:
            files = {name: tarball.extractfile(member).read() for member, name in _members(tarball)}
    digest = hashlib.sha256(files["mermaid.min.js"]).hexdigest()
    if digest != SHA256:
        raise RuntimeError(f"mermaid.min.js has sha256 {digest}, expected {SHA256}")
    TARGET_DIR.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        partial = TARGET_DIR / f".{name}.partial"
        partial.write_bytes(content)
        partial.replace(TARGET_DIR / name)


def _members(tarball: tarfile.TarFile) -> list[tuple[tarfile.TarInfo, str]]:
    found = [(tarball.getmember(path), name) for path, name in MEMBERS.items()]
    if not all(member.isfile() for member, _ in found):
        raise RuntimeError("the mermaid package does not hold the expected files")
    return found


def main() -> int:
    """Fetch unless current; report what happened in one line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--required", action="store_true", help="fail when it cannot be fetched")
    args = parser.parse_args()
    if is_current():
        return 0
    try:
        fetch()
    except (RuntimeError, OSError, KeyError, subprocess.SubprocessError, tarfile.TarError) as error:
        print(
            f"mermaid {VERSION} not fetched ({error}): /ui will show diagrams as text and the "
            "browser tests will skip",
            file=sys.stderr,
        )
        return 1 if args.required else 0
    print(f"mermaid {VERSION} fetched into {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
