"""Logging set-up for the application and the CLI: loguru, one JSON object per line.

Library modules only call `loguru.logger`; Ops-Core's own records stay disabled until
`configure_logging` runs, so importing the package configures nothing.
"""

from __future__ import annotations

import inspect
import json
import logging
import sys
import traceback
from contextvars import ContextVar
from typing import Any, TextIO

from loguru import logger

LOG_FORMATS = ("json", "text")
TEXT_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <7} | {message} | {extra}"

request_id: ContextVar[str | None] = ContextVar("opscore_request_id", default=None)
"""The id of the HTTP request being served, bound to every log line it causes."""

_QUIET_LIBRARIES = ("transitions", "alembic.runtime.plugins")


class JsonLines:
    """A loguru sink writing `time`, `level`, `message` and the bound context as one JSON line."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def __call__(self, message: Any) -> None:
        record = message.record
        line = {
            "time": record["time"].isoformat(timespec="milliseconds"),
            "level": record["level"].name,
            "message": record["message"],
            **record["extra"],
        }
        if record["exception"] is not None:
            kind, value, tb = record["exception"]
            line["exception"] = "".join(traceback.format_exception(kind, value, tb)).rstrip()
        # With no stream given, look up stdout at each write (test runners swap it).
        stream = self.stream or sys.stdout
        stream.write(json.dumps(line, default=str) + "\n")
        stream.flush()


class InterceptHandler(logging.Handler):
    """Route stdlib logging records (Flask, Werkzeug, gunicorn, libraries) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame, depth = inspect.currentframe(), 0
        while frame is not None and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame = frame.f_back
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).bind(logger=record.name).log(
            level, record.getMessage()
        )


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
    logger.remove()
    logger.configure(patcher=_add_request_id)
    if fmt == "json":
        logger.add(
            JsonLines(stream),
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
    logger.enable("opscore")
    logging.basicConfig(handlers=[InterceptHandler()], level=logging.NOTSET, force=True)
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
