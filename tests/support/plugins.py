"""A plugin package written to disk: one callback published as an entry point, one task
type in a module the operator names in OPSCORE_PLUGINS, and definitions that use both."""

from __future__ import annotations

from pathlib import Path

ENTRY_POINT_MODULE = "opscore_test_entry_plugin"
SETTING_MODULE = "opscore_test_setting_plugin"
CONDITION = "plugin_has_ticket"
TASK_TYPE = "plugin_stamp"

_ENTRY_POINT_SOURCE = f"""
def {CONDITION}(ctx):
    return bool(ctx.data.get("ticket"))
"""

_SETTING_SOURCE = f'''
from opscore.tasks.builtin import task


@task("{TASK_TYPE}")
def stamp(ctx):
    return {{"stamped": True}}
'''

AGENT_MACHINE = f"""\
kind: agent
name: ticketed
version: 1
initial: idle
states: [idle, {{name: done, final: true}}]
transitions:
  - {{trigger: finish, source: idle, dest: done, conditions: [{CONDITION}]}}
"""

WORKFLOW = f"""\
kind: workflow
name: stamped
version: 1
start: stamp
steps:
  stamp: {{task: {TASK_TYPE}, next: succeeded}}
"""


def write_plugins(root: Path) -> Path:
    """Write the plugin modules and the entry point's distribution under `root/site`."""
    site = root / "site"
    site.mkdir(parents=True)
    (site / f"{ENTRY_POINT_MODULE}.py").write_text(_ENTRY_POINT_SOURCE)
    (site / f"{SETTING_MODULE}.py").write_text(_SETTING_SOURCE)
    dist = site / "opscore_test_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: opscore-test-plugin\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        f"[opscore.conditions]\n{CONDITION} = {ENTRY_POINT_MODULE}:{CONDITION}\n"
    )
    return site


def write_definitions(root: Path, workflow: bool = True) -> Path:
    """A machines folder whose agent needs the entry-point callback (and, with `workflow`,
    whose workflow needs the setting's task type)."""
    folder = root / "machines"
    folder.mkdir(parents=True)
    (folder / "ticketed.yaml").write_text(AGENT_MACHINE)
    if workflow:
        (folder / "stamped.yaml").write_text(WORKFLOW)
    return folder
