"""What the client's methods return: the API's JSON objects, and pages of them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .transport import Response

REPLAYED_HEADER = "Idempotent-Replayed"


class Resource(dict[str, Any]):
    """A JSON object the API answered: a plain dict, plus two facts from its headers.

    `etag` is the `ETag` (send it back as `if_match`), `replayed` is True when the
    answer is the server's kept answer to an earlier request with the same
    `Idempotency-Key`.
    """

    etag: str | None = None
    replayed: bool = False

    @classmethod
    def from_response(cls, response: Response) -> Resource:
        """The response's JSON object with its ETag and replay flag."""
        resource = cls(response.json() or {})
        resource.etag = response.headers.get("ETag")
        resource.replayed = response.headers.get(REPLAYED_HEADER, "").lower() == "true"
        return resource


@dataclass(frozen=True)
class Page:
    """One page of a list: its items (JSON objects) and where it sits among the pages."""

    items: list[dict[str, Any]]
    page: int
    page_size: int
    total: int
    total_pages: int
    next_page: int | None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def from_response(cls, response: Response, page: int, page_size: int) -> Page:
        """The page from a list answer and its `X-Pagination` header."""
        items = response.json() or []
        try:
            meta = json.loads(response.headers.get("X-Pagination") or "{}")
        except ValueError:
            meta = {}
        return cls(
            items=list(items),
            page=int(meta.get("page", page)),
            page_size=page_size,
            total=int(meta.get("total", len(items))),
            total_pages=int(meta.get("total_pages", 1 if items else 0)),
            next_page=meta.get("next_page"),
        )
