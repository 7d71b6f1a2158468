"""A small HTTP server for portals that live in memory: the demo, the tests, the benchmarks.

It behaves like a real web server where it matters to a crawler: HTTP/1.1 with keep-alive,
bodies compressed when the client asks (``Accept-Encoding``; gzip by default, as nginx and
IIS on real portals do, or deflate, raw deflate, br, zstd per portal or per page), some
responses chunked (``Transfer-Encoding: chunked``), the headers real servers send
(``Server``, ``Date``, ``Vary``, ``Set-Cookie``), ``ETag`` and
``Last-Modified`` on every page and 304 answers to conditional requests, configurable
status codes and redirects, a request log to count what the crawler fetched. Pages can
be changed while it runs (the tests edit a report between two crawls). Dynamic pages
(an endless calendar, a server that answers 503 before it answers 200) are routes: a
function of the requested path. A streamed page sends a large body chunk by chunk
without holding it in memory, and logs how many bytes the client actually took. It
binds to 127.0.0.1 only.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import selectors
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    mtime: float = 1_700_000_000.0  # fixed, so Last-Modified is stable across runs
    # A streamed body: chunks produced on demand; ``length`` is sent as Content-Length
    # when given, else the connection is closed after the body (no length announced).
    stream: Callable[[], Iterator[bytes]] | None = None
    length: int | None = None
    # How this page is compressed when the client accepts it: None = the portal's
    # default; "identity" = never. Any name of ENCODERS, or "gzip, gzip" (double encoding).
    encoding: str | None = None
    # Seconds to wait before answering (a slow portal).
    delay: float = 0.0

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


def _key(path: str) -> str:
    """Paths match whatever the order of their query arguments, as on real servers."""
    base, sep, query = path.partition("?")
    return base + sep + "&".join(sorted(query.split("&"))) if sep else path


def _raw_deflate(body: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(body) + c.flush()


def _brotli(body: bytes) -> bytes:
    import brotli

    return bytes(brotli.compress(body))


def _zstd(body: bytes) -> bytes:
    try:
        from compression import zstd  # type: ignore[import-not-found]
    except ImportError:
        from backports import zstd  # type: ignore[import-not-found,no-redef]
    return bytes(zstd.compress(body))


# Content-Encoding name → (token the client must accept, encoder). "deflate-raw" is what
# some IIS versions send under "deflate": a raw deflate stream without the zlib wrapper.
ENCODERS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "gzip": ("gzip", lambda b: gzip.compress(b, mtime=0)),
    "deflate": ("deflate", zlib.compress),
    "deflate-raw": ("deflate", _raw_deflate),
    "br": ("br", _brotli),
    "zstd": ("zstd", _zstd),
}
# Only text is worth compressing, as on real servers (nginx gzip_types).
_COMPRESSIBLE = (
    "text/",
    "application/xhtml",
    "application/xml",
    "application/json",
    "application/javascript",
)


def _accepts(header: str | None, token: str) -> bool:
    """Whether an ``Accept-Encoding`` value accepts ``token`` (q=0 refuses)."""
    for part in (header or "").split(","):
        name, _, params = part.partition(";")
        if name.strip().lower() not in (token, "*"):
            continue
        q = params.replace(" ", "").lower()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def encode(body: bytes, encoding: str) -> bytes:
    """``body`` in ``encoding`` (a name of :data:`ENCODERS`, or several separated by commas,
    applied left to right as ``Content-Encoding`` lists them).

    A page of up to :data:`MEMO_BODY` bytes is compressed once per encoding (the encoders
    are deterministic: gzip without a timestamp), as a CDN or nginx's ``gzip_static``
    serves it. These servers run on the crawl's own machine, and on the real web a
    portal's compression is the portal's CPU, not ours: compressing every answer again
    (gzip level 9, 0.63 ms a county page) cost ≈ 1 CPU-s of a 30 × 40 benchmark crawl,
    taken from the crawl being measured (2026-12-03)."""
    if len(body) <= MEMO_BODY:
        return _encoded(body, encoding)
    return _encode(body, encoding)


MEMO_BODY = 1 << 20  # larger bodies (bombs, streams' stand-ins) are compressed every time


@functools.lru_cache(maxsize=8192)
def _encoded(body: bytes, encoding: str) -> bytes:
    return _encode(body, encoding)


def _encode(body: bytes, encoding: str) -> bytes:
    for name in encoding.split(","):
        body = ENCODERS[name.strip()][1](body)
    return body


def content_encoding_header(encoding: str) -> str:
    return ", ".join(ENCODERS[n.strip()][0] for n in encoding.split(","))


class Portal:
    """A thread-safe mapping of path → :class:`Page`, plus a request log.

    ``encoding`` is how pages are compressed for clients that accept it (None: never);
    ``chunk_every`` sends every n-th response with ``Transfer-Encoding: chunked`` instead
    of a ``Content-Length`` (0: never).
    """

    def __init__(
        self,
        pages: dict[str, Page] | None = None,
        *,
        encoding: str | None = "gzip",
        chunk_every: int = 3,
        server: str = "nginx/1.20.1",
    ) -> None:
        self.encoding = encoding
        self.chunk_every = chunk_every
        self.server = server
        self.served = 0
        # Content-Encoding values actually sent, and how many compressible answers went to a
        # client that accepted gzip: a portal that was asked and never compressed is a test
        # fixture that stopped looking like a real server (tests/conftest.py fails the test).
        self.encodings_sent: set[str] = set()
        self.gzip_accepted = 0
        self._pages: dict[str, Page] = {_key(p): page for p, page in (pages or {}).items()}
        self._lock = threading.Lock()
        self.log: list[tuple[str, int, int]] = []  # (path, status, bytes sent)
        # (time.monotonic(), path) as each request arrives, before it is answered
        self.times: list[tuple[float, str]] = []
        self.user_agents: set[str] = set()
        self._routes: list[tuple[str, Callable[[str], Page | None]]] = []
        self._post_routes: list[tuple[str, Callable[[str, dict[str, str]], Page | None]]] = []

    def route(self, prefix: str, handler: Callable[[str], Page | None]) -> None:
        """Serve every path starting with ``prefix`` (query included) from ``handler``."""
        with self._lock:
            self._routes.append((prefix, handler))

    def set(self, path: str, page: Page) -> None:
        with self._lock:
            self._pages[_key(path)] = page

    def remove(self, path: str) -> None:
        with self._lock:
            self._pages.pop(_key(path), None)

    def route_post(
        self, prefix: str, handler: Callable[[str, dict[str, str]], Page | None]
    ) -> None:
        """Answer POSTs to paths starting with ``prefix`` from ``handler(path, form)``."""
        with self._lock:
            self._post_routes.append((prefix, handler))

    def post(self, path: str, form: dict[str, str]) -> Page | None:
        with self._lock:
            routes = list(self._post_routes)
        for prefix, handler in routes:
            if path.startswith(prefix):
                return handler(path, form)
        return None

    def get(self, path: str) -> Page | None:
        with self._lock:
            page = self._pages.get(_key(path))
            routes = list(self._routes)
        if page is None:
            for prefix, handler in routes:
                if path.startswith(prefix):
                    return handler(path)
        return page

    def paths(self) -> list[str]:
        with self._lock:
            return list(self._pages)

    def arrived(self, path: str, user_agent: str) -> None:
        with self._lock:
            self.times.append((time.monotonic(), path))
            self.user_agents.add(user_agent)

    def record(self, path: str, status: int, size: int) -> None:
        with self._lock:
            self.log.append((path, status, size))

    def note_encoding(self, value: str) -> None:
        with self._lock:
            self.encodings_sent.add(value)

    def note_gzip_accepted(self) -> None:
        with self._lock:
            self.gzip_accepted += 1

    @property
    def never_compressed(self) -> bool:
        """Clients accepting gzip asked for text and none of it was ever compressed."""
        with self._lock:
            return self.gzip_accepted > 0 and not self.encodings_sent

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()
            self.times.clear()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        portal = self.server.portal
        path = self.path.split("#", 1)[0]
        portal.arrived(path, self.headers.get("User-Agent", ""))
        page = portal.get(path)
        if page is None:
            body = b"<html><body><h1>404 Not Found</h1></body></html>"
            self._send(404, body, "text/html; charset=utf-8", {})
            portal.record(path, 404, len(body))
            return
        if page.delay:
            time.sleep(page.delay)
        headers = dict(page.headers)
        if page.stream is not None:
            portal.record(path, page.status, self._send_stream(page))
            return
        if page.status == 200:
            headers.setdefault("ETag", page.etag)
            headers.setdefault("Last-Modified", formatdate(page.mtime, usegmt=True))
            if self._not_modified(page):
                self._send(304, b"", None, {"ETag": page.etag})
                portal.record(path, 304, 0)
                return
        self._send(page.status, page.body, page.content_type, headers, page.encoding)
        portal.record(path, page.status, len(page.body))

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        portal = self.server.portal
        path = self.path.split("#", 1)[0]
        portal.arrived(path, self.headers.get("User-Agent", ""))
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace")))
        page = portal.post(path, form)
        if page is None:
            page = Page(b"<html><body><h1>404 Not Found</h1></body></html>", status=404)
        self._send(page.status, page.body, page.content_type, dict(page.headers))
        portal.record(path, page.status, len(page.body))

    def _not_modified(self, page: Page) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return page.etag in [t.strip() for t in inm.split(",")]
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                return parsedate_to_datetime(ims).timestamp() >= int(page.mtime)
            except (TypeError, ValueError):
                return False
        return False

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str | None,
        headers: dict[str, str],
        encoding: str | None = None,
    ) -> None:
        """Answer as a real server would: compressed when asked, sometimes chunked."""
        portal = self.server.portal
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        names = {k.lower() for k in headers}
        for k, v in headers.items():
            self.send_header(k, v)
        encoding = encoding or portal.encoding
        compressible = (ctype or "").lower().startswith(_COMPRESSIBLE)
        if status == 200 and compressible and "set-cookie" not in names:
            # A session cookie, as Java/.NET CMSs set on every page.
            self.send_header("Set-Cookie", "JSESSIONID=A1B2C3D4E5F6; Path=/; HttpOnly")
        if compressible and "content-encoding" not in names:
            self.send_header("Vary", "Accept-Encoding")
            accepted = self.headers.get("Accept-Encoding")
            if body and _accepts(accepted, "gzip"):
                portal.note_gzip_accepted()
            if (
                body
                and encoding
                and encoding != "identity"
                and all(_accepts(accepted, ENCODERS[n.strip()][0]) for n in encoding.split(","))
            ):
                body = encode(body, encoding)
                self.send_header("Content-Encoding", content_encoding_header(encoding))
                portal.note_encoding(content_encoding_header(encoding))
        with portal._lock:
            portal.served += 1
            chunked = bool(portal.chunk_every) and portal.served % portal.chunk_every == 0
        chunked = chunked and bool(body) and status != 304 and self.command != "HEAD"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif "content-length" not in names:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD" or status == 304:
            return
        if chunked:
            for pos in range(0, len(body), 4096):
                part = body[pos : pos + 4096]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    def version_string(self) -> str:
        return self.server.portal.server

    def _send_stream(self, page: Page) -> int:
        """Send a streamed body; return how many bytes the client accepted."""
        assert page.stream is not None
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        for k, v in page.headers.items():
            self.send_header(k, v)
        if page.length is not None:
            self.send_header("Content-Length", str(page.length))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        sent = 0
        try:
            for chunk in page.stream():
                self.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True
        return sent

    do_HEAD = do_GET


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    portal: Portal

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that closes a kept-alive connection with a reset (Scrapy aborts the
        # ones left idle when a crawler closes) is not the server's error: no traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _bound(portal: Portal, port: int = 0) -> _Server:
    """A server for ``portal`` listening on 127.0.0.1 (``port`` 0: any free one)."""
    server = _Server(("127.0.0.1", port), _Handler)
    server.portal = portal
    return server


def _url(server: _Server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


class PortalServer:
    """Serve a :class:`Portal` on 127.0.0.1 in a background thread (use as a context manager)."""

    def __init__(self, portal: Portal, port: int = 0) -> None:
        self.portal = portal
        self._server = _bound(portal, port)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        return _url(self._server, path)

    def __enter__(self) -> PortalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class PortalServers:
    """Serve many :class:`Portal` objects, each on its own port, from one accepting thread.

    N :class:`PortalServer` objects are N ``serve_forever`` loops, each waking every 0.5 s
    to check for shutdown: 1,000 of them kept 0.67 of a core busy while nothing was asked
    (2026-12-01), a third of the two-core machine whose crawl a benchmark was measuring.
    Here one thread waits on every listening socket at once and accepts what arrives;
    each connection is then served on a thread of its own, as by :class:`PortalServer`.
    (It calls ``socketserver.BaseServer._handle_request_noblock``, the one step of
    ``serve_forever`` that accepts and dispatches a connection.)
    """

    def __init__(self, portals: list[Portal]) -> None:
        self.portals = portals
        self._servers = [_bound(portal) for portal in portals]
        self._wake, self._waker = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def urls(self, path: str = "/") -> list[str]:
        return [_url(server, path) for server in self._servers]

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            for server in self._servers:
                selector.register(server, selectors.EVENT_READ, server)
            selector.register(self._wake, selectors.EVENT_READ, None)
            while True:
                for key, _events in selector.select():
                    if key.data is None:  # __exit__
                        return
                    key.data._handle_request_noblock()

    def __enter__(self) -> PortalServers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._waker.send(b"x")
        self._thread.join()
        for server in self._servers:
            server.server_close()
        self._wake.close()
        self._waker.close()
