"""What every CMS adapter is: see :mod:`nianbao.crawler.cms`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ListPage:
    """A further list page: where, how (``formdata`` makes it a POST), and the adapter's
    state to hand back when its answer is parsed."""

    url: str
    formdata: dict[str, str] | None = None
    state: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class Adapter(Protocol):
    name: str

    def next_lists(self, text: str, url: str, state: Any | None) -> Iterator[ListPage]:
        """List pages after this one (``state``: what this adapter attached to the request
        that fetched it, None for a page reached otherwise)."""
        ...
