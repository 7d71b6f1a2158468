"""Hostile portals, each crawled with its defence off and on (issue 15).

``python -m benchmarks.hostile [--full]`` serves three portals on 127.0.0.1 and crawls each
twice with the real CLI, printing one row per case (attack, before, after):

1. a report page trickling 12 bytes/s: wall time and attempts with
   ``NIANBAO_MAX_DOWNLOAD_SECONDS=0`` (no total limit) and with the limit. Scaled down by
   default (``DOWNLOAD_TIMEOUT=3``, limit 6 s); ``--full`` uses the real defaults (30 s,
   60 s: about 3.5 minutes);
2. an endless ``?page=N`` pager answering the same items for every N, page budget 300:
   list pages fetched with ``NIANBAO_TRAP_MAX_EMPTY_PAGES=0`` and with the default;
3. robots.txt answering 503: what was fetched with Scrapy's own robots.txt middleware and
   with :mod:`crawler.robots`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

from nianbao.crawler import settings as defaults
from nianbao.demo.server import Page, Portal, PortalServer

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]
HOME = "<html><body><a href='{href}'>{text}</a></body></html>"


def _crawl(url: str, *settings: str) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "nianbao", "crawl", "--url", url, "--db"]
        command += [f"{tmp}/a.sqlite", *FAST]
        for s in settings:
            command += ["-s", s]
        t0 = time.monotonic()
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        return time.monotonic() - t0, proc.stdout.splitlines()[0] if proc.stdout else proc.stderr


def _trickle() -> Iterator[bytes]:
    yield b"<html><body>"
    for _ in range(100_000):
        time.sleep(1.0)
        yield b"x" * 12


def trickle(full: bool) -> None:
    per_try, limit = ("30", "60") if full else ("3", "6")
    for label, total in (("before", "0"), ("after", limit)):
        portal = Portal(
            {
                "/": Page(HOME.format(href="/slow.html", text="2023年年度报告").encode()),
                "/slow.html": Page(b"", stream=_trickle),
            }
        )
        with PortalServer(portal) as server:
            seconds, line = _crawl(
                server.url("/"),
                f"DOWNLOAD_TIMEOUT={per_try}",
                f"NIANBAO_MAX_DOWNLOAD_SECONDS={total}",
            )
            attempts = sum(1 for _, path in portal.times if path == "/slow.html")
        print(
            f"trickle 12 B/s, {per_try} s per attempt, {label}: {seconds:.1f} s, {attempts} attempts"
        )


def _pager_portal() -> Portal:
    portal = Portal(
        {"/": Page(HOME.format(href="/xxgk/list.html?page=1", text="政府信息公开").encode())}
    )

    def answer(path: str) -> Page | None:
        n = int(parse_qs(urlsplit(path).query).get("page", ["1"])[0])
        items = "".join(f"<a href='/xxgk/art{i}.html'>通知{i}</a>" for i in range(1, 6))
        pager = "".join(f"<a href='?page={k}'>{k}</a>" for k in range(n, n + 5))
        return Page(
            f"<html><body>{items}{pager}<a href='?page={n + 1}'>下一页</a></body></html>".encode()
        )

    portal.route("/xxgk/list.html", answer)
    portal.route("/xxgk/art", lambda p: Page("<html><body><p>通知</p></body></html>".encode()))
    return portal


def pager() -> None:
    for label, k in (("before", "0"), ("after", str(defaults.NIANBAO_TRAP_MAX_EMPTY_PAGES))):
        portal = _pager_portal()
        with PortalServer(portal) as server:
            seconds, _ = _crawl(
                server.url("/"), "NIANBAO_MAX_PAGES=300", f"NIANBAO_TRAP_MAX_EMPTY_PAGES={k}"
            )
        pages = {p for p, *_ in portal.log if p.startswith("/xxgk/list.html")}
        print(
            f"endless pager, budget 300, {label}: {len(pages)} list pages, {len(portal.log)} requests, {seconds:.1f} s"
        )


def robots() -> None:
    scrapy_only = dict(defaults.DOWNLOADER_MIDDLEWARES)
    scrapy_only.pop("nianbao.crawler.robots.RobotsTxt")
    scrapy_only.pop("scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware")
    for label, extra in (
        ("before", [f"DOWNLOADER_MIDDLEWARES={json.dumps(scrapy_only)}"]),
        ("after", []),
    ):
        portal = Portal(
            {
                "/robots.txt": Page(b"<h1>503</h1>", status=503),
                "/": Page(HOME.format(href="/zwgk/", text="政务公开").encode()),
                "/zwgk/": Page("<html><body><p>政务公开</p></body></html>".encode()),
            }
        )
        with PortalServer(portal) as server:
            _, line = _crawl(server.url("/"), "NIANBAO_BACKOFF_BASE=0", *extra)
        fetched = sorted({p for p, *_ in portal.log} - {"/robots.txt"})
        print(f"robots.txt 503, {label}: fetched {fetched or 'nothing'}; {line.split(';')[0]}")


def main() -> None:
    trickle("--full" in sys.argv)
    pager()
    robots()


if __name__ == "__main__":
    main()
