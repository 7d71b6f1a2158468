"""What every CMS adapter is: see :mod:`nianbao.crawler.cms`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ListPage:
    """A further list page: where, how (``formdata`` makes it a POST), and the adapter's
    state to hand back when its answer is parsed.

    ``item=True`` makes it an item of the list instead (an article a JSON list names,
    ``text`` its title): the spider follows it as it follows a link in the list, one
    level deeper, and does not hand the adapter its answer."""

    url: str
    formdata: dict[str, str] | None = None
    state: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    item: bool = False
    text: str = ""


class Adapter(Protocol):
    name: str

    def next_lists(self, text: str, url: str, state: Any | None) -> Iterator[ListPage]:
        """List pages after this one (``state``: what this adapter attached to the request
        that fetched it, None for a page reached otherwise)."""
        ...
