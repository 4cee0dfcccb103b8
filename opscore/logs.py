"""Logging set-up for the application and the CLI: loguru, one JSON object per line.

Library modules only call `loguru.logger`; Ops-Core's own records stay disabled until
`configure_logging` runs, so importing the package configures nothing.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import select
import sys
import threading
import time
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from loguru import logger

LOG_FORMATS = ("json", "text")
INFO_LEVEL = 20
TEXT_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <7} | {message} | {extra}"

request_id: ContextVar[str | None] = ContextVar("opscore_request_id", default=None)
"""The id of the HTTP request being served, bound to every log line it causes."""

# Writes up to this size to a pipe are atomic (POSIX allows it to be as small as 512).
PIPE_BUF = getattr(select, "PIPE_BUF", 512)

# Fields of the current context (the trace id, while traces are on) for every JSON line.
_context_fields: Callable[[], dict[str, Any]] | None = None

_QUIET_LIBRARIES = ("transitions", "alembic.runtime.plugins")
# Their INFO lines ("Context impl SQLiteImpl.", "Running upgrade ...") are routine: DEBUG here.
_CHATTY_LIBRARIES = ("alembic",)


class JsonLines:
    """A loguru sink writing `time` (UTC), `level`, `message` and the bound context as one JSON
    line; `write` takes such a line from the transition fast path (see `info_fields`)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, message: Any) -> None:
        record = message.record
        line = {
            "time": _timestamp(record["time"].astimezone(UTC)),
            "level": record["level"].name,
            "message": record["message"],
            **record["extra"],
        }
        if record["exception"] is not None:
            kind, value, tb = record["exception"]
            line["exception"] = "".join(traceback.format_exception(kind, value, tb)).rstrip()
        self.write_line(line)

    def write_line(
        self, line: dict[str, Any]
    ) -> None:  # not `write`: loguru takes that for a stream
        """Write one line, whole, even when threads write at once."""
        if _context_fields is not None:
            for name, value in _context_fields().items():
                line.setdefault(name, value)
        self.write_data(encode_line(line))

    def write_data(self, data: bytes) -> None:
        """Write one encoded line (UTF-8, its newline included), whole."""
        # With no stream given, look up stdout at each write (test runners swap it).
        stream = self.stream or sys.stdout
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            with self._lock:
                stream.write(data.decode())
                stream.flush()
            return
        # One system call per line, past Python's buffers (after anything left in them).
        stream.flush()
        if len(data) <= PIPE_BUF:
            # A write this small to a pipe is atomic, and Linux serializes writes to a
            # file: no lock, whose holder would release the GIL in the write and make the
            # other request threads queue behind it. A rare short write takes the lock.
            written = os.write(fd, data)
            if written == len(data):
                return
            data = data[written:]
        with self._lock:
            while data:
                data = data[os.write(fd, data) :]


_ORJSON_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
# The fallback, made once (json.dumps(default=...) makes one per call).
_ENCODER = json.JSONEncoder(default=str)


def encode_line(line: dict[str, Any]) -> bytes:
    """One JSON line as UTF-8, ending in a newline; anything unknown is written as `str()`.

    orjson takes a tenth of the standard encoder's time, and the transition line is on
    every event's path; what orjson refuses (a lone surrogate, an integer past 64 bits)
    falls back to the standard encoder, which escapes it.
    """
    try:
        return orjson.dumps(line, default=str, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return (_ENCODER.encode(line) + "\n").encode()


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Clock:
    """UTC timestamps like `_timestamp`: the text of each second made once, and the last
    millisecond's kept whole (it is on every event's path, and a busy process writes many
    lines within one millisecond)."""

    _MILLIS = tuple(f".{millis:03d}Z" for millis in range(1000))

    def __init__(self) -> None:
        # Each swapped whole: threads share them.
        self._second: tuple[int, str] = (-1, "")
        self._last: tuple[int, str] = (-1, "")

    def now(self) -> str:
        moment = int(time.time() * 1000)
        last = self._last
        if last[0] == moment:
            return last[1]
        second, millis = divmod(moment, 1000)
        cached = self._second
        if cached[0] != second:
            text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            cached = self._second = (second, text)
        text = cached[1] + self._MILLIS[millis]
        self._last = (moment, text)
        return text


line_time = _Clock().now  # the `time` of a line written now


# The JSON sink and the lowest level it writes, once configure_logging has run (json only).
_fast: tuple[JsonLines, int] | None = None


def info_fields(message: str, fields: dict[str, Any]) -> None:
    """Log an INFO line with `fields` as its context.

    With the JSON format this writes the very line loguru would, without loguru's
    per-call record building (a third of an event's cost, measured in docs/benchmarks.md).
    """
    write_info({"time": line_time(), "level": "INFO", "message": message, **fields})


def write_info(line: dict[str, Any]) -> None:
    """Log `line`, an INFO line built whole: `time` (`line_time()`), `level` ("INFO") and
    `message` first, then its fields. The transition line is built this way, in one
    dictionary instead of two (every event's path)."""
    fast = _fast
    if fast is None:
        fields = {k: v for k, v in line.items() if k not in ("time", "level", "message")}
        logger.bind(**fields).info(line["message"])  # no arguments: loguru keeps the text
        return
    sink, level = fast
    if level > INFO_LEVEL:
        return
    rid = request_id.get()
    if rid is not None:
        line.setdefault("request_id", rid)
    sink.write_line(line)


class TransitionLine:
    """The INFO line of one transition (`{kind} {id} {event}: {source} -> {dest}`), what
    the transition fixes encoded once.

    Its fields are `{kind}_id`, `event`, `source`, `dest`, `seq` and, for an instance that
    belongs to an agent, `agent_id`. `write` joins the line from bytes, byte for byte the
    one `write_info` writes for `fields()`, with no dictionary to build and encode (every
    event writes one: docs/benchmarks.md); while context fields are on (traces) it writes
    `write_info`'s line.
    """

    __slots__ = ("_fixed", "_id_field", "_tail", "dest", "event", "kind", "source")

    def __init__(self, kind: str, event: str, source: str, dest: str) -> None:
        self.kind, self.event, self.source, self.dest = kind, event, source, dest
        self._tail = f" {event}: {source} -> {dest}"
        self._id_field = b"," + orjson.dumps(f"{kind}_id") + b":"
        fixed = orjson.dumps({"event": event, "source": source, "dest": dest})
        self._fixed = b"," + fixed[1:-1] + b',"seq":'

    def fields(self, instance_id: str, seq: int, agent_id: str | None) -> dict[str, Any]:
        """The line as `write_info` takes it."""
        line = {
            "time": line_time(),
            "level": "INFO",
            "message": f"{self.kind} {instance_id}{self._tail}",
            f"{self.kind}_id": instance_id,
            "event": self.event,
            "source": self.source,
            "dest": self.dest,
            "seq": seq,
        }
        if agent_id is not None and self.kind != "agent":
            line["agent_id"] = agent_id
        return line

    def write(self, instance_id: str, seq: int, agent_id: str | None) -> None:
        """Log the line of this transition of `instance_id`, now."""
        fast = _fast
        if fast is None or _context_fields is not None:
            write_info(self.fields(instance_id, seq, agent_id))
            return
        sink, level = fast
        if level > INFO_LEVEL:
            return
        try:
            parts = [
                b'{"time":"',
                line_time().encode(),
                b'","level":"INFO","message":',
                orjson.dumps(f"{self.kind} {instance_id}{self._tail}"),
                self._id_field,
                orjson.dumps(instance_id),
                self._fixed,
                b"%d" % seq,
            ]
            if agent_id is not None and self.kind != "agent":
                parts += (b',"agent_id":', orjson.dumps(agent_id))
            rid = request_id.get()
            if rid is not None:
                parts += (b',"request_id":', orjson.dumps(rid))
        except orjson.JSONEncodeError:  # a text orjson refuses: the escaping encoder's line
            write_info(self.fields(instance_id, seq, agent_id))
            return
        parts.append(b"}\n")
        sink.write_data(b"".join(parts))


class InterceptHandler(logging.Handler):
    """Route stdlib logging records (Flask, Werkzeug, gunicorn, libraries) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        if record.levelno == logging.INFO and _is_chatty(record.name):
            level = "DEBUG"
        frame, depth = inspect.currentframe(), 0
        while frame is not None and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame = frame.f_back
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).bind(logger=record.name).log(
            level, record.getMessage()
        )


def set_context_fields(source: Callable[[], dict[str, Any]] | None) -> None:
    """Add what `source` answers (such as `trace_id`) to every JSON line; None: nothing."""
    global _context_fields
    _context_fields = source


def _is_chatty(name: str) -> bool:
    return any(name == lib or name.startswith(f"{lib}.") for lib in _CHATTY_LIBRARIES)


def _stdout(message: str) -> None:
    sys.stdout.write(message)
    sys.stdout.flush()


def _add_request_id(record: dict) -> None:
    rid = request_id.get()
    if rid is not None:
        record["extra"].setdefault("request_id", rid)


def configure_logging(level: str = "INFO", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Configure loguru once for the process: level, `json` or `text`, stdlib routed in."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {LOG_FORMATS}, not {fmt!r}")
    global _fast
    logger.remove()
    logger.configure(patcher=_add_request_id)
    _fast = None
    if fmt == "json":
        sink = JsonLines(stream)
        logger.add(
            sink,
            level=level.upper(),
            format="{message}",
            backtrace=False,
            diagnose=False,
            catch=True,
        )
    else:
        logger.add(
            stream or _stdout,
            level=level.upper(),
            format=TEXT_FORMAT,
            backtrace=False,
            diagnose=False,
            colorize=False,
            catch=True,
        )
    if fmt == "json":
        _fast = (sink, logger.level(level.upper()).no)
    logger.enable("opscore")
    logging.basicConfig(handlers=[InterceptHandler()], level=logging.NOTSET, force=True)
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
