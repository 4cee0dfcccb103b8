"""The examples of docs/client.md and the README's CLI session run as written."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

from opscore.cli.remote import ExitCode
from opscore.definitions import load_text
from tests.support.constants import API_KEY, ROOT
from tests.support.sse_server import Reply, transition

CLIENT_DOC = ROOT / "docs" / "client.md"
VOLATILE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|[0-9a-f]{32})")


def python_examples(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )


def test_the_configuration_example_builds_clients_without_a_service():
    configuration = python_examples(CLIENT_DOC.read_text())[0]
    assert run_python(configuration).returncode == 0


def test_the_agent_example_runs_against_a_service_and_prints_what_the_doc_says(server_url):
    text = CLIENT_DOC.read_text()
    agent = python_examples(text)[1]
    promised = re.search(r"It prints:\n\n```text\n(.*?)```", text, re.S).group(1)
    result = run_python(agent, OPSCORE_URL=server_url, OPSCORE_API_KEY=API_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout == promised


def test_the_event_stream_example_follows_a_run_to_its_end(sse_server):
    follow = python_examples(CLIENT_DOC.read_text())[2]
    run = {"kind": "run", "instance_id": "r9", "run_id": "r9", "machine": "three_noops"}
    server = sse_server(
        [
            Reply(
                [
                    transition(1, **run, event="succeed", source="one", dest="two"),
                    transition(2, **run, event="succeed", source="two", dest="succeeded"),
                    b'event: end\ndata: {"run_id": "r9", "state": "succeeded"}\n\n',
                ]
            )
        ]
    )
    result = run_python(follow, OPSCORE_URL=server.url, OPSCORE_API_KEY=API_KEY, RUN_ID="r9")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "2026-11-24T12:00:01.000000Z succeed: one -> two",
        "2026-11-24T12:00:01.000000Z succeed: two -> succeeded",
    ]
    assert server.requests[0].path == "/v1/events/stream?run_id=r9"


def test_the_exit_code_table_is_the_clis():
    table = re.search(r"### Exit codes\n\n(.*?)\n\n", CLIENT_DOC.read_text(), re.S).group(1)
    documented = [int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)]
    assert documented == [int(code) for code in ExitCode]


def console_session(text: str, heading: str) -> list[tuple[str, str]]:
    """(command, expected output) for each `$ ` line of the first console block after heading."""
    section = text[text.index(heading) :]
    block = re.search(r"```console\n(.*?)```", section, re.S).group(1)
    steps: list[tuple[str, str]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], ""))
        else:
            command, output = steps[-1]
            steps[-1] = (command, output + line + "\n")
    return steps


def matches(expected: str, actual: str) -> bool:
    """Whether `actual` is `expected` up to timestamps and ids (which vary run to run)."""
    parts = VOLATILE.split(expected)
    pattern = "".join(
        re.escape(part) if index % 2 == 0 else VOLATILE.pattern for index, part in enumerate(parts)
    )
    return re.fullmatch(pattern, actual) is not None


def test_the_readmes_cli_session_runs_as_written_after_the_quickstart(cli, api):
    api.agents.register("writer-1", capabilities=["summarize"])  # the quickstart's steps
    api.agents.send_event("writer-1", "activate", {"task": "weekly report"})
    steps = console_session((ROOT / "README.md").read_text(), "## Client and CLI")
    assert [command.split()[0] for command, _ in steps][:2] == ["export", ".venv/bin/opscore"]
    for command, expected in steps[1:]:  # the export: the fixture sets the key
        result = cli(*shlex.split(command)[1:])
        assert result.exit_code == 0, result.output
        assert matches(expected, result.output), f"{command}\n{result.output}"


def test_the_complete_agent_of_docs_agents_runs_and_prints_what_the_doc_says(
    server_url, service_core, callbacks
):
    text = (ROOT / "docs" / "agents.md").read_text()
    template = re.search(r"```yaml\n(kind: workflow.*?)```", text, re.S).group(1)
    loaded = load_text(template, "summarize_doc.yaml", callbacks, task_types=service_core.tasks)
    assert loaded.problems == []
    service_core.definitions.add(loaded.definition)
    promised = re.search(r"It prints:\n\n```text\n(.*?)```", text, re.S).group(1)
    result = run_python(python_examples(text)[0], OPSCORE_URL=server_url, OPSCORE_API_KEY=API_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout == promised
