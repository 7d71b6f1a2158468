"""The bytes on the wire: what we asked and what the server answered, exactly.

An auditor's raw capture must be what the server sent, not what Scrapy made of it. Scrapy
hands the spider a response whose body is already content-decoded and whose headers have
been rebuilt (connection headers such as ``Transfer-Encoding`` dropped, ``Content-Length``
re-synthesised, names re-capitalised), and it never shows the request as sent (Twisted adds
``Host`` and may add ``Connection``). So:

* :class:`WireDownloadHandler` (``DOWNLOAD_HANDLERS`` for http/https) is Scrapy's HTTP/1.1
  handler with a recording HTTP protocol: it keeps the request head exactly as written to
  the socket, the status line and header lines exactly as received (order, case and
  repeats kept), and the peer's IP address and port. They reach the spider in
  ``request.meta["nianbao_wire"]`` as a :class:`Wire`.
* :class:`ContentDecoding` replaces Scrapy's ``HttpCompressionMiddleware`` at the same
  place: before undoing ``Content-Encoding`` it keeps the body as received (after transfer
  decoding, before content decoding) in the same :class:`Wire`; it decodes with
  :mod:`pipelines.entity` — the same code ``reprocess`` and ``raw --decoded`` use — bounded
  by ``DOWNLOAD_MAXSIZE``; a body that is not in its declared coding is logged, counted
  (``wire/content_decoding_failed``) and passed on undecoded, never dropped.

The recording relies on three private classes of Scrapy's HTTP/1.1 handler
(``_ScrapyAgent``, ``_LenientHTTP11ClientProtocol``, ``_LenientHTTPClientParser``; Scrapy
2.19). If a Scrapy upgrade removes them the handler says so once and falls back to
Scrapy's own handler: captures then carry Scrapy's view of the headers (``head`` is None),
and ``tests/test_wire.py`` fails, so the gap cannot hide.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.responsetypes import responsetypes

from nianbao.crawler import inflight
from nianbao.pipelines import entity

logger = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024  # a request or response head longer than this is not kept whole


@dataclass
class Wire:
    """One exchange as it crossed the network (request head, response head, body, peer)."""

    request_head: bytes = b""  # request line + header lines + CRLF, as written
    response_head: bytes = b""  # status line + header lines + CRLF, as received
    peer: tuple[str, int] | None = None
    body: bytes | None = None  # as received, before content decoding
    decode_error: str | None = None

    def status_line(self) -> tuple[str, int, str] | None:
        """(HTTP version, status, reason phrase) from the status line, if it was recorded."""
        if not self.response_head:
            return None
        line = self.response_head.split(b"\r\n", 1)[0].split(b"\n", 1)[0]
        parts = line.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            return None
        return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else ""


def header_pairs(head: bytes) -> list[tuple[str, str]]:
    """Header lines of a recorded head as (name, value) pairs, in order, repeats kept.

    Obsolete line folding (a line starting with whitespace) continues the previous value.
    Names keep their case; values lose surrounding whitespace, as RFC 9112 §5 allows.
    """
    pairs: list[tuple[str, str]] = []
    for raw in head.split(b"\n")[1:]:
        line = raw.rstrip(b"\r").decode("latin-1")
        if not line:
            break
        if line[0] in " \t" and pairs:
            name, value = pairs[-1]
            pairs[-1] = (name, f"{value} {line.strip()}")
        elif ":" in line:
            name, value = line.split(":", 1)
            pairs.append((name, value.strip()))
    return pairs


# --- recording at the Twisted protocol level ------------------------------------------------


class _HeadRecorder:
    """A transport wrapper that copies what is written until the end of the head."""

    def __init__(self, transport: Any, sink: bytearray) -> None:
        self._transport = transport
        self._sink = sink

    def _keep(self, data: bytes) -> None:
        if b"\r\n\r\n" in self._sink or len(self._sink) >= MAX_HEAD:
            return
        self._sink += data
        end = self._sink.find(b"\r\n\r\n")
        if end >= 0:
            del self._sink[end + 4 :]

    def write(self, data: bytes) -> None:
        self._keep(data)
        self._transport.write(data)

    def writeSequence(self, seq: Any) -> None:  # noqa: N802 (Twisted's naming)
        seq = list(seq)
        for data in seq:
            self._keep(data)
        self._transport.writeSequence(seq)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _recording_classes() -> tuple[type, type, type] | None:
    """(agent, protocol factory, parser) classes that record the exchange, or None."""
    try:
        from scrapy.core.downloader.handlers import http11

        base_parser = http11._LenientHTTPClientParser
        base_protocol = http11._LenientHTTP11ClientProtocol
        base_factory = http11._LenientHTTP11ClientFactory
        base_agent = http11._ScrapyAgent
    except (ImportError, AttributeError):
        return None

    class WireParser(base_parser):  # type: ignore[misc, valid-type]
        def lineReceived(self, line: bytes) -> None:  # noqa: N802 (Twisted's naming)
            lines = self.__dict__.setdefault("_nianbao_lines", [])
            if sum(len(x) for x in lines) < MAX_HEAD:
                lines.append(line)  # without the LF delimiter; a CR stays: byte-exact
            super().lineReceived(line)

    class WireProtocol(base_protocol):  # type: ignore[misc, valid-type]
        def request(self, request: Any) -> Any:
            sink = bytearray()
            write_to = request.writeTo
            request.writeTo = lambda transport: write_to(_HeadRecorder(transport, sink))
            d = super().request(request)
            parser = self._parser
            if parser is not None:
                parser.__class__ = WireParser
            transport = self.transport

            def attach(response: Any) -> Any:
                head = b"".join(x + b"\n" for x in getattr(parser, "_nianbao_lines", []))
                peer = None
                try:
                    address = transport.getPeer()
                    peer = (str(address.host), int(address.port))
                except AttributeError:
                    pass
                response._nianbao_wire = Wire(
                    request_head=bytes(sink),
                    response_head=head,
                    peer=peer,
                )
                return response

            d.addCallback(attach)
            return d

    class WireFactory(base_factory):  # type: ignore[misc, valid-type]
        def buildProtocol(self, addr: Any) -> Any:  # noqa: N802 (Twisted's naming)
            return WireProtocol(self._quiescentCallback)

    class WireAgent(base_agent):  # type: ignore[misc, valid-type]
        def _cb_latency(self, result: Any, request: Request, start_time: float) -> Any:
            request.meta["nianbao_wire"] = getattr(result, "_nianbao_wire", None)
            return super()._cb_latency(result, request, start_time)

    return WireAgent, WireFactory, WireParser


def _handler_class() -> type:
    from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

    classes = _recording_classes()

    class WireDownloadHandler(HTTP11DownloadHandler):  # type: ignore[misc]
        """Scrapy's HTTP/1.1 handler, recording each exchange (see the module docstring)."""

        def __init__(self, crawler: Any) -> None:
            super().__init__(crawler)
            # downloads on the wire in this process, all sources together (crawler.inflight)
            self._in_flight = crawler.settings.getint("NIANBAO_MAX_IN_FLIGHT")
            if classes is None:
                logger.warning(
                    "this Scrapy version hides the HTTP exchange from nianbao: captures keep "
                    "Scrapy's view of the headers, not the bytes on the wire"
                )
                return
            self._pool._factory = classes[1]  # type: ignore[assignment]

        async def close(self) -> None:
            """Scrapy's close (its connections dropped, given up on after
            ``_disconnect_timeout`` s), minus a race that logged a CRITICAL traceback.

            Scrapy fires the pool's deferred from a timer and cancels the timer once its
            coroutine resumes; the coroutine resumes one loop turn after the deferred fired,
            so a timer already due (a busy reactor closing hundreds of crawlers) fired it a
            second time: "AlreadyCalledError while handling timed call", dozens per night.
            """
            from scrapy.utils.defer import maybe_deferred_to_future
            from twisted.internet import reactor as _reactor

            reactor: Any = _reactor  # twisted's interfaces confuse mypy here
            closed = self._pool.closeCachedConnections()

            def give_up() -> None:
                if not closed.called:
                    closed.callback(None)

            timer = reactor.callLater(self._disconnect_timeout, give_up)
            try:
                await maybe_deferred_to_future(closed)
            finally:
                if timer.active():
                    timer.cancel()

        async def download_request(self, request: Request) -> Response:
            async with inflight.slot(self._in_flight):
                return await self._fetch(request)

        async def _fetch(self, request: Request) -> Response:
            if classes is None:
                return await super().download_request(request)
            from scrapy.core.downloader.handlers import http11
            from scrapy.utils.defer import maybe_deferred_to_future

            agent = classes[0](
                contextFactory=self._contextFactory,
                bindAddress=self._bind_address,
                pool=self._pool,
                maxsize=getattr(self._crawler.spider, "download_maxsize", self._default_maxsize),
                warnsize=getattr(self._crawler.spider, "download_warnsize", self._default_warnsize),
                fail_on_dataloss=self._fail_on_dataloss,
                crawler=self._crawler,
                tls_verbose_logging=self._tls_verbose_logging,
            )
            try:
                with http11.wrap_twisted_exceptions():
                    return await maybe_deferred_to_future(agent.download_request(request))
            except http11.ResponseDataLossError:
                if not self._fail_on_dataloss_warned:
                    logger.warning(http11.get_dataloss_msg(request.url))
                    self._fail_on_dataloss_warned = True
                raise

    return WireDownloadHandler


WireDownloadHandler = _handler_class()


# --- content decoding ------------------------------------------------------------------------


def rebuilt(response: Response, cls: type[Response] | None = None, **changes: Any) -> Response:
    """``response.replace(cls=cls, **changes)`` without reading ``response.encoding``.

    Scrapy's ``replace`` copies every attribute of a ``TextResponse``, ``encoding`` included,
    and that getter infers a charset from the body when neither the headers nor the body
    declare one: charset_normalizer over the old body, ≈ 10 ms a page, thrown away when the
    new response gets a body or an encoding of its own. Here the still-gzipped body of
    every "text/html" response without a charset went through it (11 % of a crawl's CPU on
    the small-portals benchmark, bare Scrapy included). A new ``TextResponse`` without an
    ``encoding`` works its own out from its own body, when asked; so this is for a new body
    or a given encoding (an encoding the old response was given is not carried over).
    """
    kwargs: dict[str, Any] = {name: getattr(response, name) for name in Response.attributes}
    kwargs.update(changes)
    return (cls or type(response))(**kwargs)


class ContentDecoding:
    """Undo ``Content-Encoding``, keeping the body as received (replaces HttpCompressionMiddleware)."""

    def __init__(self, crawler: Any) -> None:
        self.stats = crawler.stats
        self.max_size = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        self.accept = ", ".join(entity.SUPPORTED).encode()

    @classmethod
    def from_crawler(cls, crawler: Any) -> ContentDecoding:
        if not crawler.settings.getbool("COMPRESSION_ENABLED"):
            raise NotConfigured
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self, spider: Any) -> None:
        self.max_size = getattr(spider, "download_maxsize", 0) or self.max_size

    def process_request(self, request: Request) -> None:
        request.headers.setdefault(b"Accept-Encoding", self.accept)

    def process_response(self, request: Request, response: Response) -> Response:
        if "cached" in response.flags:
            return response  # rebuilt from the archive (crawler.conditional): no exchange
        wire = request.meta.get("nianbao_wire")
        if not isinstance(wire, Wire):
            wire = request.meta["nianbao_wire"] = Wire()
        wire.body = response.body
        encodings = response.headers.getlist(b"Content-Encoding")
        if request.method == "HEAD" or not encodings or not response.body:
            return response
        max_size = request.meta.get("download_maxsize") or self.max_size
        try:
            decoded = entity.decode(response.body, encodings, max_size)
        except entity.TooLarge as exc:
            self.stats.inc_value("portal/skipped/too_large")
            msg = f"{response.url}: body {exc}; not archived (DOWNLOAD_MAXSIZE {max_size})"
            logger.warning("%s", msg)
            raise IgnoreRequest(msg) from exc
        if decoded.error:
            wire.decode_error = decoded.error
            self.stats.inc_value("wire/content_decoding_failed")
            logger.warning(
                "%s: Content-Encoding %s, but %s; kept as sent, undecoded",
                response.url,
                ", ".join(e.decode("latin-1") for e in encodings),
                decoded.error,
            )
            return response
        if decoded.kept:
            logger.warning(
                "%s: unknown Content-Encoding %s; kept undecoded", response.url, decoded.kept
            )
        self.stats.inc_value("wire/decoded_bytes", len(decoded.body))
        self.stats.inc_value("wire/decoded_responses")
        cls = responsetypes.from_args(headers=response.headers, url=response.url, body=decoded.body)
        new = rebuilt(response, cls, body=decoded.body)
        if decoded.kept:
            new.headers[b"Content-Encoding"] = ", ".join(decoded.kept)
        else:
            del new.headers[b"Content-Encoding"]
        return new
