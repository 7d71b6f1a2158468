"""TRS WCM list pagers written by a script: ``createPageHTML(total, current, "index", "html")``.

TRS-published columns are static files: page 1 is ``index.html``, page n+1 is
``index_n.html``. The pager is not in the HTML: a script calls
``createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt)``, which
``document.write``\\s the links, so a crawler that reads only ``<a href>`` sees page 1 and
nothing behind it. The call says how many pages there are; this adapter names them all
(``index_1.html`` … ``index_{total-1}.html``, next to the page that carries the call).
The same call on an article (``createPageHTML(1, 0, "t2019…", "shtml")``) pages that
article; with one page there is nothing to add.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin

from nianbao.crawler.cms.base import ListPage

# The call with literal numbers (the function's own definition has parameter names).
_CALL = re.compile(
    r"createPageHTML\s*\(\s*(\d+)\s*,\s*(\d+)\s*,\s*[\"']([\w.-]+)[\"']\s*,\s*[\"'](\w+)[\"']\s*\)"
)
# A column of more pages than this is not a report column; the queue bound still applies.
MAX_PAGES = 500


def pages(text: str, url: str) -> list[str]:
    """The list pages a ``createPageHTML`` call in ``text`` stands for, except page 1."""
    match = _CALL.search(text)
    if not match:
        return []
    total, name, ext = int(match.group(1)), match.group(3), match.group(4)
    return [urljoin(url, f"{name}_{n}.{ext}") for n in range(1, min(total, MAX_PAGES))]


class Trs:
    """The TRS adapter (see :mod:`nianbao.crawler.cms`): every page of a scripted pager,
    from whichever page of the list is reached first (the spider asks for each URL once)."""

    name = "trs"

    def next_lists(self, text: str, url: str, state: int | None) -> Iterator[ListPage]:
        if state is not None:  # a page this adapter named: its siblings are queued already
            return
        for n, page in enumerate(pages(text, url), 1):
            yield ListPage(page, state=n)
