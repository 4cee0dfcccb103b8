"""Reading the Dockerfile and .dockerignore as Docker does, for tests that cannot run Docker."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_OPTION = re.compile(r"--(\w[\w-]*)=(\S+)")


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword (upper case) and the text after it, continuations joined."""

    keyword: str
    text: str

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form instruction (ENTRYPOINT, CMD, VOLUME, ...)."""
        value = json.loads(self.text)
        if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
            raise ValueError(f"{self.keyword} is not in exec (JSON array) form: {self.text}")
        return value

    def options(self) -> tuple[dict[str, str], str]:
        """The leading `--name=value` options and the rest (COPY --from=..., HEALTHCHECK --...)."""
        options, rest = {}, self.text
        while rest.startswith("--"):
            match = _OPTION.match(rest)
            if match is None:
                raise ValueError(f"cannot read the options of {self.keyword} {self.text}")
            options[match[1]] = match[2]
            rest = rest[match.end() :].lstrip()
        return options, rest


@dataclass
class Stage:
    """The instructions from one FROM to the next."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        """Every instruction of this keyword, in order."""
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        """The instruction of this keyword that takes effect (the last one), if any."""
        found = self.all(keyword)
        return found[-1] if found else None

    def env(self, inherited: Mapping[str, str]) -> dict[str, str]:
        """The variables the ENV lines set, with `$NAME` expanded as Docker does."""
        env: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for name, value in _env_pairs(instruction.text):
                env[name] = _expand(value, {**inherited, **env})
        return env

    def command(self) -> list[str]:
        """The argv a container of this stage runs: ENTRYPOINT then CMD, both in exec form."""
        argv: list[str] = []
        for keyword in ("ENTRYPOINT", "CMD"):
            instruction = self.last(keyword)
            if instruction is not None:
                argv += instruction.exec_form()
        return argv

    def healthcheck(self) -> list[str]:
        """The argv of `HEALTHCHECK [--options] CMD [...]`."""
        instruction = self.last("HEALTHCHECK")
        if instruction is None:
            raise ValueError("the stage has no HEALTHCHECK")
        _, rest = instruction.options()
        keyword, _, argv = rest.partition(" ")
        if keyword != "CMD":
            raise ValueError(f"HEALTHCHECK is not `CMD [...]`: {instruction.text}")
        return Instruction("CMD", argv.strip()).exec_form()


def read_dockerfile(path: Path) -> list[Stage]:
    """The stages of a Dockerfile, in order."""
    stages: list[Stage] = []
    for instruction in _instructions(path.read_text()):
        if instruction.keyword == "FROM":
            base, _, name = instruction.text.partition(" AS ")
            stages.append(Stage(base.strip(), name.strip() or None))
        elif stages:
            stages[-1].instructions.append(instruction)
        else:
            raise ValueError(f"{instruction.keyword} before the first FROM")
    return stages


def _instructions(text: str) -> Iterable[Instruction]:
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and logical):
            continue  # comments (parser directives included) and blank lines inside one
        if stripped.endswith("\\"):
            logical += line.rstrip()[:-1]
            continue
        logical += line
        if logical.strip():
            keyword, _, rest = logical.strip().partition(" ")
            yield Instruction(keyword.upper(), rest.strip())
        logical = ""


def _env_pairs(text: str) -> list[tuple[str, str]]:
    words = shlex.split(text)
    if "=" not in words[0]:  # the legacy form `ENV NAME value with spaces`
        name, _, value = text.partition(" ")
        return [(name, value.strip())]
    return [tuple(word.split("=", 1)) for word in words]  # type: ignore[misc]


def _expand(value: str, env: Mapping[str, str]) -> str:
    return _VARIABLE.sub(lambda m: env.get(m[1] or m[2], ""), value)


def ignore_patterns(path: Path) -> list[str]:
    """The patterns of a .dockerignore file."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def is_ignored(relative: str, patterns: list[str]) -> bool:
    """Whether Docker leaves `relative` (a /-separated path) out of the build context.

    As Docker does: `*` and `?` stay within one path element, `**` spans any number of
    them, a pattern matching a folder leaves out everything in it, and the last matching
    pattern wins (`!` re-includes).
    """
    ignored = False
    parts = relative.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = _pattern_regex(pattern.lstrip("!").strip("/"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            ignored = not negated
    return ignored


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def copy_build_context(source: Path, destination: Path) -> None:
    """Copy what `docker build source` would send: everything .dockerignore does not exclude."""
    patterns = ignore_patterns(source / ".dockerignore")
    for folder, folders, files in os.walk(source):
        here = Path(folder).relative_to(source)
        folders[:] = [d for d in folders if not is_ignored((here / d).as_posix(), patterns)]
        for name in files:
            relative = (here / name).as_posix()
            if not is_ignored(relative, patterns):
                target = destination / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(folder) / name, target)
