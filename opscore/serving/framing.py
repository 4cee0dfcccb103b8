"""When the bytes a client sent make a whole HTTP/1.1 request: headers, then the body
its `Content-Length` or chunked `Transfer-Encoding` frames.

Only as much of HTTP is read here as finding a request's end needs. Whatever else is wrong
with a request (a bad request line, a header past its limit, obsolete folding, both
`Content-Length` and `Transfer-Encoding`) is left to gunicorn's parser, which refuses it
with the right status: such a request is handed over as it is (`Verdict.HAND_OVER`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

HEADER_END = b"\r\n\r\n"
MAX_CHUNK_LINE = 1024  # a chunk-size line with extensions; longer is malformed
_CHUNK_SIZE = re.compile(rb"^[0-9A-Fa-f]{1,16}$")


class Verdict(StrEnum):
    """What the bytes so far make of a request."""

    HEADERS = "headers"  # its headers are still arriving
    BODY = "body"  # its headers are whole, its body is still arriving
    WHOLE = "whole"  # the request is whole: hand it to a thread
    HAND_OVER = "hand_over"  # gunicorn's parser must judge it (refuse it, or read the rest)
    MALFORMED = "malformed"  # its chunked body is broken: refuse it here with a 400


@dataclass(frozen=True)
class FramingLimits:
    """How large a request's header section and body may grow while it is buffered."""

    header_bytes: int = 64 * 1024
    body_bytes: int = 1024 * 1024


class RequestScanner:
    """Bytes of one connection, fed as they arrive; says when a whole request is held.

    The scan resumes where it stopped, so feeding a large body piece by piece stays linear.
    """

    def __init__(self, limits: FramingLimits, data: bytes = b"") -> None:
        self.limits = limits
        self.buffer = bytearray(data)
        self.problem = ""  # why the request is malformed, when it is
        self._body_start: int | None = None
        self._length: int | None = None  # Content-Length, when the body has one
        self._chunked = False
        self._chunk_at = 0  # where the next chunk-size line starts
        self.verdict = self._scan()

    def feed(self, data: bytes) -> Verdict:
        """Add bytes the client sent; the verdict on what is held now."""
        self.buffer += data
        self.verdict = self._scan()
        return self.verdict

    def take(self) -> bytes:
        """Every byte held (the request and whatever the client pipelined after it)."""
        data = bytes(self.buffer)
        self.buffer.clear()
        return data

    def _scan(self) -> Verdict:
        if self._body_start is None:
            verdict = self._scan_headers()
            if verdict is not None:
                return verdict
        if self._chunked:
            return self._scan_chunks()
        assert self._body_start is not None
        assert self._length is not None
        if len(self.buffer) - self._body_start >= self._length:
            return Verdict.WHOLE
        return Verdict.BODY

    def _scan_headers(self) -> Verdict | None:
        end = self.buffer.find(HEADER_END)
        if end < 0:
            if len(self.buffer) > self.limits.header_bytes or b"\n\n" in self.buffer:
                return Verdict.HAND_OVER  # too long, or bare line feeds: the parser refuses
            return Verdict.HEADERS
        self._body_start = end + len(HEADER_END)
        return self._frame(bytes(self.buffer[:end]).split(b"\r\n")[1:])

    def _frame(self, lines: list[bytes]) -> Verdict | None:
        """How the body is framed, from the header lines; a verdict if not plainly."""
        lengths, codings = [], []
        for line in lines:
            if line[:1] in (b" ", b"\t"):
                return Verdict.HAND_OVER  # obsolete line folding
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"content-length":
                lengths.append(value.strip())
            elif name == b"transfer-encoding":
                codings.extend(c.strip().lower() for c in value.split(b","))
        if codings:
            if lengths or codings[-1] != b"chunked":
                return Verdict.HAND_OVER  # both framings, or a coding the parser refuses
            self._chunked = True
            self._chunk_at = self._body_start or 0
            return None
        if len(set(lengths)) > 1 or (lengths and not lengths[0].isdigit()):
            return Verdict.HAND_OVER
        self._length = int(lengths[0]) if lengths else 0
        if self._length > self.limits.body_bytes:
            return Verdict.HAND_OVER  # the app refuses it with a 413 without reading it
        return None

    def _scan_chunks(self) -> Verdict:
        buffer = self.buffer
        while True:
            line_end = buffer.find(b"\r\n", self._chunk_at)
            if line_end < 0:
                if len(buffer) - self._chunk_at > MAX_CHUNK_LINE:
                    return self._malformed("chunk size line too long")
                return self._body_so_far()
            size_text = bytes(buffer[self._chunk_at : line_end]).split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.match(size_text):
                return self._malformed(f"invalid chunk size {size_text[:20]!r}")
            size = int(size_text, 16)
            data_start = line_end + 2
            if size == 0:
                # The last chunk, then trailer lines, then an empty line.
                if buffer[data_start : data_start + 2] == b"\r\n":
                    return Verdict.WHOLE
                if buffer.find(HEADER_END, line_end) >= 0:
                    return Verdict.WHOLE
                return Verdict.BODY
            data_end = data_start + size
            if len(buffer) < data_end + 2:
                return self._body_so_far()
            if buffer[data_end : data_end + 2] != b"\r\n":
                return self._malformed("chunk data not followed by CRLF")
            self._chunk_at = data_end + 2

    def _body_so_far(self) -> Verdict:
        assert self._body_start is not None
        if len(self.buffer) - self._body_start > self.limits.body_bytes:
            return Verdict.HAND_OVER  # the app reads past its limit and refuses it with a 413
        return Verdict.BODY

    def _malformed(self, problem: str) -> Verdict:
        self.problem = f"malformed chunked body: {problem}"
        return Verdict.MALFORMED
