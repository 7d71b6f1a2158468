"""The test portals behave like real servers: HTTP/1.1 and gzip (issue 11 §1).

A crawler that only ever met uncompressed HTTP/1.0 fixtures broke on real portals, so every
portal builder must keep the compressing default, and ``tests/conftest.py``
(``portals_compress``) fails any test whose portal was asked for gzip and never sent it.
"""

from __future__ import annotations

import gzip
import http.client
import time

import pytest

from benchmarks.portal import bench_portal
from nianbao.demo import demo_portals
from nianbao.demo.portalgen import county_portal
from nianbao.demo.server import Portal, PortalServer
from tests.conftest import SEEDS
from tests.portals import LocalSite, hanweb_portal, paged_portal, sitemap_portal
from tests.trapportal import trap_portal


def _get(server: PortalServer, path: str) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", path, headers={"Accept-Encoding": "gzip, deflate"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def _builders(seeds: dict[str, tuple[str, list[str]]]) -> dict[str, Portal]:
    county, farm = demo_portals(SEEDS)
    return {
        "county_portal": county_portal([], "方正县"),
        "hanweb_portal": hanweb_portal(seeds).portal,
        "paged_portal": paged_portal(seeds).portal,
        "sitemap_portal": sitemap_portal(seeds).portal,
        "trap_portal": trap_portal(seeds).portal,
        "bench_portal": bench_portal(seeds, articles=4, columns=2)[0],
        "demo county": county,
        "demo farm": farm,
    }


def test_every_portal_builder_speaks_http11_and_gzip(seeds):
    """The demo's, the tests' and the benchmark's portals all compress their pages."""
    for name, portal in _builders(seeds).items():
        assert portal.encoding == "gzip", name
        plain = [p for p in portal.paths() if (page := portal.get(p)) and page.encoding]
        assert not plain, f"{name}: pages with an encoding of their own: {plain}"
        with PortalServer(portal) as server:
            response, body = _get(server, "/")
        assert response.version == 11, name
        assert response.getheader("Content-Encoding") == "gzip", name
        assert gzip.decompress(body).startswith((b"<", b"\xef\xbb\xbf<")), name
        assert not portal.never_compressed, name


@pytest.mark.uncompressed("checks that a portal that never compresses is noticed")
def test_a_portal_that_never_compresses_is_noticed():
    portal = county_portal([], "方正县")
    portal.encoding = None
    with PortalServer(portal) as server:
        response, _ = _get(server, "/")
    assert response.getheader("Content-Encoding") is None
    assert portal.gzip_accepted == 1 and portal.never_compressed


def test_slow_pages_of_the_standard_portals_are_slow(seeds):
    """The testportals' ``slow`` pages really wait (tests/test_discovery.py checks that a
    crawl still archives everything behind them)."""
    sites: list[LocalSite] = [hanweb_portal(seeds), paged_portal(seeds), sitemap_portal(seeds)]
    for site in sites:
        assert site.slow
        with PortalServer(site.portal) as server:
            for path in site.slow:
                start = time.monotonic()
                response, _ = _get(server, path)
                assert response.status == 200 and time.monotonic() - start >= 0.3, path
