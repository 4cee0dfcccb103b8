"""Safe YAML for definitions: no code, strict booleans, no duplicate keys, and a line per path.

JSON is read by the same parser (it is a subset of YAML) so both report identical locations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .problems import DefinitionError, Path, Problem, format_path

MAX_NODES = 100_000
MAX_DEPTH = 64

_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_PLAIN_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


try:  # libyaml's scanner and parser, when PyYAML was built with it: ten times faster
    from yaml._yaml import CParser as _FastParser
except ImportError:  # pragma: no cover - PyYAML without libyaml
    _FastParser = None


class _DepthLimitedComposer(yaml.composer.Composer):
    """A composer that refuses to nest deeper than MAX_DEPTH: it recurses once per level,
    so `[[[[...` a few thousand deep would otherwise exhaust Python's stack."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH + 1:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"document is nested deeper than {MAX_DEPTH} levels",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


if _FastParser is not None:

    class _StrictLoader(
        _DepthLimitedComposer, _FastParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver
    ):
        """libyaml's events, composed in Python (so the depth limit holds) and constructed
        safely; booleans are only true/false and dates stay strings (see below)."""

        def __init__(self, text: str) -> None:
            _FastParser.__init__(self, text)
            _DepthLimitedComposer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

else:  # pragma: no cover - PyYAML without libyaml

    class _StrictLoader(_DepthLimitedComposer, yaml.SafeLoader):
        """PyYAML's pure-Python SafeLoader with the depth limit."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL_TAG, _TIMESTAMP_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass
class Document:
    """Parsed data plus the line (1-based) where each path of it starts."""

    file: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def problem(self, path: Path, message: str, severity: str = "error") -> Problem:
        """A problem located at `path` in this document."""
        return Problem(self.file, self.line_of(path), format_path(path), message, severity)


class _Converter:
    """Turns a composed node tree into plain Python data, recording the line of each path."""

    def __init__(self, loader: _StrictLoader, document: Document) -> None:
        self.loader = loader
        self.document = document
        self.nodes = 0

    def convert(self, node: yaml.Node, path: Path) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self._fail(node, path, f"document has more than {MAX_NODES} nodes")
        if len(path) > MAX_DEPTH:
            raise self._fail(node, path, f"document is nested deeper than {MAX_DEPTH} levels")
        self.document.lines.setdefault(path, node.start_mark.line + 1)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_COLLECTION_TAGS:
            raise self._fail(node, path, f"unsupported tag {node.tag!r}")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: Path) -> Any:
        """A scalar's value; a value its tag cannot read (`!!float ""`) is a located problem."""
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as error:
            raise self._fail(node, path, error.problem or "cannot read this value") from None
        except (ArithmeticError, LookupError, TypeError, ValueError):
            # PyYAML's int and float constructors index and convert without checking.
            raise self._fail(node, path, f"cannot read {node.value!r:.40} as {node.tag}") from None

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict:
        self.loader.flatten_mapping(node)
        result: dict = {}
        first_line: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._fail(key_node, path, "mapping keys must be plain scalars")
            key = self._scalar(key_node, path)
            line = key_node.start_mark.line + 1
            if key in result:
                raise self._fail(
                    key_node,
                    (*path, key),
                    f"duplicate key {key!r} (first at line {first_line[key]})",
                )
            first_line[key] = line
            self.document.lines[(*path, key)] = line
            result[key] = self.convert(value_node, (*path, key))
        return result

    def _fail(self, node: yaml.Node, path: Path, message: str) -> DefinitionError:
        line = node.start_mark.line + 1
        return DefinitionError([Problem(self.document.file, line, format_path(path), message)])


def parse_document(text: str, file: str) -> Document:
    """Parse one YAML or JSON document; raise DefinitionError with its location otherwise."""
    document = Document(file=file, data=None)
    try:
        yaml.reader.Reader(text)  # checks every character (libyaml's parser does not)
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        message = f"unacceptable character #x{error.character:04x}: {error.reason}"
        raise DefinitionError([Problem(file, line, "(root)", message)]) from None
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise DefinitionError([Problem(file, 1, "(root)", "the document is empty")])
        document.data = _Converter(loader, document).convert(root, ())
    except yaml.MarkedYAMLError as error:
        raise DefinitionError([_syntax_problem(error, text, file)]) from None
    except yaml.YAMLError as error:
        raise DefinitionError([Problem(file, 1, "(root)", f"invalid YAML: {error}")]) from None
    finally:
        loader.dispose()
    if not isinstance(document.data, dict):
        raise DefinitionError([Problem(file, 1, "(root)", "the document must be a mapping")])
    return document


def _syntax_problem(error: yaml.MarkedYAMLError, text: str, file: str) -> Problem:
    """A YAML syntax error as a problem; libyaml's own nesting limit reads like ours, and
    its end-of-stream marks (one line past the end) point at the last line."""
    mark = error.problem_mark or error.context_mark
    line = min(mark.line + 1, text.count("\n") + 1) if mark else 1
    message = " ".join(str(part) for part in (error.context, error.problem) if part)
    if "maximum nesting depth" in message:
        message = f"document is nested deeper than {MAX_DEPTH} levels"
    return Problem(file, line, "(root)", message or "invalid YAML")


def read_definition_text(raw: bytes, file: str, *, is_json: bool | None = None) -> str:
    """Decode a definition file (JSON when `is_json`, by default when it ends in .json).

    JSON tabs become spaces since YAML forbids them as indentation, and JSON's escaped
    surrogate pairs (`"\\ud83d\\ude80"`, as `json.dumps` writes by default) become the one
    escape YAML reads, since YAML refuses a surrogate escape.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DefinitionError(
            [Problem(file, 1, "(root)", f"not UTF-8 text: {error.reason}")]
        ) from None
    if file.endswith(".json") if is_json is None else is_json:
        # JSON strings cannot hold a raw tab, so every tab is whitespace between tokens.
        text = join_surrogate_escapes(text.replace("\t", " "))
    return text


# An escaped high surrogate then an escaped low one, not preceded by an odd run of backslashes
# (in `\\ud83d` the backslash is the escaped one and `ud83d` is text).
_SURROGATE_PAIR = re.compile(
    r"(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE
)


def join_surrogate_escapes(text: str) -> str:
    """JSON text with each escaped surrogate pair written as one `\\UXXXXXXXX` escape."""

    def joined(match: re.Match[str]) -> str:
        high, low = int(match[2], 16), int(match[3], 16)
        code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        return f"{match[1]}\\U{code:08X}"

    return _SURROGATE_PAIR.sub(joined, text)
