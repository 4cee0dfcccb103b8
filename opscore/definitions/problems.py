"""Problems found in a definition, each pinned to a file, a line and a path in the document."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import OpsCoreError

Path = tuple[str | int, ...]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")  # names (opscore.names) read as `.name`


def format_path(path: Path) -> str:
    """Render a document path as `transitions[3].dest`; the root is `(root)`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "(root)"


@dataclass(frozen=True, order=True)
class Problem:
    """One defect of a definition; warnings do not stop a definition from loading."""

    file: str
    line: int
    path: str
    message: str
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        """Whether this problem stops the definition from loading."""
        return self.severity == "error"

    def __str__(self) -> str:
        prefix = "" if self.is_error else f"{self.severity}: "
        return f"{self.file}:{self.line}: {self.path}: {prefix}{self.message}"


class DefinitionError(OpsCoreError):
    """One or more definitions are invalid; `problems` lists every defect found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"invalid machine definition:\n{lines}")


def errors_only(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that stop a definition from loading."""
    return [p for p in problems if p.is_error]
