"""An endless ``?page=N`` pagination is cut once its pages bring nothing new (issue 15):
one took 233 of a 300-page budget."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from nianbao.crawler.traps import PagerGuard
from nianbao.demo.server import Page, Portal
from tests.conftest import cli_json, crawl

HOME = "<html><body><a href='/xxgk/list.html?page=1'>政府信息公开</a></body></html>"


def _list_page(n: int, items: range) -> Page:
    links = "".join(f"<li><a href='/xxgk/art{i}.html'>通知公告{i}</a></li>" for i in items)
    pager = "".join(f"<a href='/xxgk/list.html?page={k}'>{k}</a> " for k in range(n, n + 5))
    html = (
        f"<html><head><title>政府信息公开 第{n}页</title></head><body><ul>{links}</ul>"
        f"{pager}<a href='/xxgk/list.html?page={n + 1}'>下一页</a></body></html>"
    )
    return Page(html.encode())


def _portal(items_of_page) -> Portal:
    portal = Portal({"/": Page(HOME.encode())})

    def answer(path: str) -> Page | None:
        query = parse_qs(urlsplit(path).query)
        if "page" not in query or not query["page"][0].isdigit():
            return None
        n = int(query["page"][0])
        return _list_page(n, items_of_page(n))

    portal.route("/xxgk/list.html", answer)
    portal.route("/xxgk/art", lambda p: Page("<html><body><p>通知公告</p></body></html>".encode()))
    return portal


def _list_pages(portal: Portal) -> set[str]:
    return {path for path, *_ in portal.log if path.startswith("/xxgk/list.html")}


def test_an_endless_pager_repeating_its_items_is_cut(db_url, serve):
    portal = _portal(lambda n: range(1, 6))  # every page: the same five items
    server = serve(portal)
    crawl(db_url, server.url("/"), "-s", "NIANBAO_MAX_PAGES=300")
    fetched = _list_pages(portal)
    # page 1 brings the items, five pages after it nothing new: no pager link of the list
    # is followed after that. Pages already queued from the numbered links (five per page,
    # fetched newest first) are still fetched: at most 1 + 5 × 5.
    assert 6 <= len(fetched) <= 26, sorted(fetched)
    [run] = cli_json(db_url, "runs")
    assert run["counts"]["trap/empty_pages"] >= 1, run["counts"]


def test_without_the_guard_the_pager_spends_the_budget(db_url, serve):
    portal = _portal(lambda n: range(1, 6))
    server = serve(portal)
    crawl(
        db_url,
        server.url("/"),
        "-s",
        "NIANBAO_MAX_PAGES=60",
        "-s",
        "NIANBAO_TRAP_MAX_EMPTY_PAGES=0",
    )
    assert len(_list_pages(portal)) >= 50


def test_a_long_list_with_new_items_on_every_page_is_followed_to_its_end(db_url, serve):
    last = 12
    portal = _portal(lambda n: range(n * 10, n * 10 + 3) if n <= last else range(0))
    server = serve(portal)
    crawl(db_url, server.url("/"), "-s", "NIANBAO_MAX_PAGES=300")
    fetched = _list_pages(portal)
    assert {f"/xxgk/list.html?page={n}" for n in range(1, last + 1)} <= fetched
    # past the end the pages are empty (the pager goes on): cut after five of them
    assert len(fetched) <= last + 1 + 5 * 5, sorted(fetched)


def test_pager_guard_counts_pages_in_a_row_without_new_links():
    guard = PagerGuard(3)
    assert not guard.exhausted("list", ["a", "b"])
    assert not guard.exhausted("list", ["a"])
    assert not guard.exhausted("other", ["b"])  # another list counts for itself
    assert not guard.exhausted("list", ["b"])
    assert guard.exhausted("list", ["a", "b"])  # the third page in a row with nothing new
    assert not guard.exhausted("list", ["a", "c"])  # something new: the count starts again
    off = PagerGuard(0)
    assert not any(off.exhausted("list", ["a"]) for _ in range(100))
