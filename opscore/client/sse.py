"""A Server-Sent Events decoder, as the WHATWG HTML standard parses `text/event-stream`.

Bytes go in, in chunks of any size; events come out. Lines end in CRLF, LF or CR (even
when a chunk ends between CR and LF), `:` lines are comments, `data:` lines join with
newlines, and a field without a value (`data`) is an empty one. An event is dispatched at
a blank line; one cut short by the end of the stream is dropped, as the standard says.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_EVENT_CHARS = 1024 * 1024
_LINE_END = re.compile(r"\r\n|\r|\n")


class SseProtocolError(ValueError):
    """The stream cannot be an event stream (an event or line beyond the size limit)."""


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event: its type, its data and the stream's last event id then."""

    event: str = "message"
    data: str = ""
    id: str | None = None


class SseDecoder:
    """Incremental decoder: `feed` it bytes, get back the events they completed.

    `last_event_id` is what to send as `Last-Event-ID` when reconnecting; `retry` is the
    reconnection delay in milliseconds the server asked for, if any.
    """

    def __init__(self, max_event_chars: int = MAX_EVENT_CHARS) -> None:
        self.last_event_id: str | None = None
        self.retry: int | None = None
        self._max = max_event_chars
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._after_cr = False
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._size = 0

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode `chunk`; return the events it completed, in order."""
        events = []
        for line in self._lines(self._text.decode(chunk)):
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _lines(self, text: str) -> list[str]:
        if not text:
            return []
        if not self._started:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._after_cr and text.startswith("\n"):
            text = text[1:]  # the LF of a CRLF split across two chunks
        if not text:
            return []
        self._after_cr = text.endswith("\r")
        *lines, self._partial = _LINE_END.split(self._partial + text)
        if len(self._partial) > self._max:
            raise SseProtocolError(f"an event-stream line is longer than {self._max} characters")
        return lines

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment, such as a keep-alive
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._size += len(value) + 1
            if self._size > self._max:
                raise SseProtocolError(f"an event is larger than {self._max} characters")
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        return None  # unknown fields are ignored

    def _dispatch(self) -> ServerSentEvent | None:
        data, event_type = self._data, self._event
        self._data, self._event, self._size = [], "", 0
        if not data:
            return None
        return ServerSentEvent(event_type or "message", "\n".join(data), self.last_event_id)


def decode_events(
    chunks: Iterable[bytes], decoder: SseDecoder | None = None
) -> Iterator[ServerSentEvent]:
    """The events of a stream given as chunks of bytes."""
    decoder = decoder or SseDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
