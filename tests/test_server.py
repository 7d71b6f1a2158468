"""PortalServers: many portals, one accepting thread, each portal on its own port.

The benchmarks serve 1,000 portals with it; N PortalServer loops polled for shutdown and
kept 0.67 of a core busy doing nothing. What it must still do: answer each portal's own
pages on its own port, over keep-alive connections served concurrently, gzip when asked,
and let go of every port when it stops.
"""

from __future__ import annotations

import gzip
import http.client
import socket
import threading

import pytest

from nianbao.demo.server import Page, Portal, PortalServers


def _portal(i: int) -> Portal:
    body = f"<html><body><p>第{i}号门户</p></body></html>".encode()
    return Portal({"/": Page(body)})


def test_many_portals_answer_their_own_pages_on_their_own_ports() -> None:
    portals = [_portal(i) for i in range(5)]
    with PortalServers(portals) as servers:
        urls = servers.urls("/")
        assert len(set(urls)) == 5
        ports = [int(u.rsplit(":", 1)[1].rstrip("/")) for u in urls]
        # one keep-alive connection each, two requests on it; gzip as asked
        for i, port in enumerate(ports):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for _ in range(2):
                conn.request("GET", "/", headers={"Accept-Encoding": "gzip"})
                answer = conn.getresponse()
                assert answer.status == 200 and answer.getheader("Content-Encoding") == "gzip"
                assert f"第{i}号门户" in gzip.decompress(answer.read()).decode()
            conn.close()
        # a page that has not answered yet on one portal does not hold up the others
        release = threading.Event()
        portals[0].route("/held", lambda _path: Page(b"held") if release.wait(30) else None)
        done: list[int] = []
        held = threading.Thread(target=lambda: done.append(_status(ports[0], "/held")))
        held.start()
        assert _status(ports[1], "/") == 200 and not done
        release.set()
        held.join(30)
        assert done == [200]
        assert all(p.log for p in portals)
    for port in ports:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


def _status(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def test_a_page_is_compressed_once_and_an_edit_is_served_at_once() -> None:
    """Compressed bodies are memoised (the benchmarks' servers share the crawl's CPU), by
    the body itself: the same bytes every time, and a page edited between two requests
    (as the tests edit a report between two crawls) is served with its new bytes."""
    from nianbao.demo import server

    portal = _portal(0)
    server._encoded.cache_clear()
    with PortalServers([portal]) as servers:
        port = int(servers.urls("/")[0].rsplit(":", 1)[1].rstrip("/"))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        sent = []
        for _ in range(2):
            conn.request("GET", "/", headers={"Accept-Encoding": "gzip"})
            sent.append(conn.getresponse().read())
        assert sent[0] == sent[1] and server._encoded.cache_info().misses == 1
        portal.set("/", Page("<html><body><p>改过的页面</p></body></html>".encode()))
        conn.request("GET", "/", headers={"Accept-Encoding": "gzip"})
        assert "改过的页面" in gzip.decompress(conn.getresponse().read()).decode()
        conn.close()
