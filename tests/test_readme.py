"""The README's Python example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.constants import ROOT


def test_readme_python_example_runs_and_prints_what_it_promises():
    readme = (ROOT / "README.md").read_text()
    [example] = re.findall(r"```python\n(.*?)```", readme, re.S)
    result = subprocess.run(
        [sys.executable, "-c", example], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        lines[0] == "event 'resume' is not allowed in state 'active'; allowed: "
        "['complete', 'pause', 'fail', 'terminate']"
    )
    assert lines[1] == "closed"
    assert lines[2:] == ["1 activate idle -> active", "2 terminate active -> terminated"]
