"""CMS adapters: list pages a CMS reaches without plain links.

Most portals run one of a few content-management systems, and some of them page a report
column in ways no ``<a href>`` shows: Hanweb (大汉) POSTs to ``dataproxy.jsp``; others build
pagination in scripts or fetch JSON. Each CMS is one module here with one adapter object
that the spider asks, for every page it parses, "which further list pages does this page
lead to?". The spider treats what comes back as pagination of the page it came from (as
promising and as deep as the list itself) and hands the adapter's own state back with the
answer, so an adapter can walk a sequence (group 2 after group 1 …).

Adapters: :mod:`~nianbao.crawler.cms.hanweb` (dataproxy.jsp POSTs),
:mod:`~nianbao.crawler.cms.trs` (``createPageHTML`` pagers in scripts),
:mod:`~nianbao.crawler.cms.gkmlpt` (Guangdong's JSON list API; its answers name articles,
which an adapter returns as ``ListPage(item=True)``: the spider follows those as items of
the column, not as further list pages), :mod:`~nianbao.crawler.cms.epoint` (Epoint
WebBuilder's ``getPageInfoListNew`` JSON API, form POSTs to one address).

Adding a CMS: write a module with a class that has a ``name`` and ``next_lists`` as in
:class:`Adapter`, add an instance to :data:`ADAPTERS`, and give its test a recorded real
exchange (a saved response of a real portal).
"""

from __future__ import annotations

from nianbao.crawler.cms.base import Adapter, ListPage
from nianbao.crawler.cms.epoint import Epoint
from nianbao.crawler.cms.gkmlpt import Gkmlpt
from nianbao.crawler.cms.hanweb import Hanweb
from nianbao.crawler.cms.trs import Trs

__all__ = ["ADAPTERS", "Adapter", "ListPage", "adapter"]

ADAPTERS: tuple[Adapter, ...] = (Hanweb(), Trs(), Gkmlpt(), Epoint())


def adapter(name: str) -> Adapter | None:
    return next((a for a in ADAPTERS if a.name == name), None)
