"""The one rule for the names people write: machines, states, events, steps, branches and
task types. A name starts with a letter and goes on with letters, digits, `_` and `-`
(`my-bot`, `waiting-for-input`, `shut-down`), at most NAME_MAX characters.

YAML checks, the API's path and body checks, the CLI and diagrams all use this module;
docs/machines.md states the rule once.
"""

from __future__ import annotations

import re

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"
NAME_MAX = 64
NAME_RULE = "must start with a letter and use only letters, digits, _ and -"
_NAME = re.compile(NAME_PATTERN)


def is_name(text: object) -> bool:
    """Whether `text` is a name by the rule (its length included)."""
    return isinstance(text, str) and len(text) <= NAME_MAX and _NAME.match(text) is not None


def diagram_id(name: str) -> str:
    """A Mermaid id for `name`: Mermaid reads `-` as the start of an arrow, so it is escaped
    (`shut-down` is `shut_2d_down`), and the drawing labels the state with its name."""
    return name.replace("-", "_2d_")
