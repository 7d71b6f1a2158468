"""HTTP content codings: from the body a server sent to the entity it describes.

The archive stores what the server sent (the body after transfer decoding, *before*
content decoding: gzip bytes stay gzip bytes), because that is the evidence an auditor can
defend and what a WARC ``response`` record holds. Everything derived — the page's text, its
links — is computed from the decoded entity. This module is the one place that decoding
happens, for the live crawl (:mod:`crawler.wire`), for ``reprocess`` and for
``nianbao raw --decoded``, so the three can never disagree.

Codings are undone in reverse order of application (``Content-Encoding: gzip, br`` means
gzip first, then br), as RFC 9110 §8.4 says. ``identity`` is skipped; ``x-gzip`` is gzip;
``deflate`` is zlib-wrapped per the RFC, but servers send raw deflate too, so both are
tried. Every decoder is bounded: it stops with :class:`TooLarge` once ``max_size`` bytes
have come out, whatever the compressed size claims (a decompression bomb costs at most
``max_size`` of memory).

No Scrapy, no database: brotli and zstandard come from the libraries Scrapy's own
``HttpCompressionMiddleware`` uses (``brotli``; ``zstandard`` or the ``compression.zstd``
backport), imported lazily so a machine without them still handles gzip and deflate.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

CHUNK = 64 * 1024
# What a well-configured server may use, and what the crawler advertises.
SUPPORTED = ("gzip", "deflate", "br", "zstd")


class DecodeError(ValueError):
    """The body is not in the coding its ``Content-Encoding`` names."""


class TooLarge(ValueError):
    """Decoding produced more than the allowed number of bytes (a bomb, or just too big)."""

    def __init__(self, limit: int, compressed: int) -> None:
        super().__init__(f"decodes to more than {limit} bytes ({compressed} bytes compressed)")
        self.limit = limit
        self.compressed = compressed


def codings(values: Iterable[str | bytes]) -> list[str]:
    """``Content-Encoding`` header values → the codings in the order they were applied."""
    out: list[str] = []
    for value in values:
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        for part in text.split(","):
            name = part.strip().lower()
            if name and name != "identity":
                out.append("gzip" if name == "x-gzip" else name)
    return out


def _zlib_stream(body: bytes, wbits: int, max_size: int) -> bytes:
    """Decompress with zlib ``wbits``; gzip may have several members (RFC 1952 §2.2)."""
    out = bytearray()
    data = body
    while data:
        d = zlib.decompressobj(wbits)
        pos = 0
        while pos < len(data):
            chunk = d.decompress(data[pos : pos + CHUNK], max(1, max_size - len(out) + 1))
            out += chunk
            if len(out) > max_size:
                raise TooLarge(max_size, len(body))
            pos += CHUNK
            while d.unconsumed_tail:  # output was capped: drain what is pending
                more = d.decompress(d.unconsumed_tail, max(1, max_size - len(out) + 1))
                out += more
                if len(out) > max_size:
                    raise TooLarge(max_size, len(body))
                if not more:
                    break
            if d.eof:
                break
        if not d.eof:
            if wbits == 31 and out:
                break  # a truncated last member: keep what decoded, as browsers do
            raise DecodeError("stream ends before its end marker")
        data = d.unused_data.lstrip(b"\x00") if wbits == 31 else b""
        if data and not data.startswith(b"\x1f\x8b"):
            break  # trailing garbage after the last member
    return bytes(out)


def _gunzip(body: bytes, max_size: int) -> bytes:
    if not body.startswith(b"\x1f\x8b"):
        raise DecodeError("no gzip header (the body does not start with 1f 8b)")
    try:
        return _zlib_stream(body, 31, max_size)
    except zlib.error as exc:
        raise DecodeError(f"gzip: {exc}") from exc


def _inflate(body: bytes, max_size: int) -> bytes:
    try:
        return _zlib_stream(body, 15, max_size)  # RFC 9110: zlib format
    except (zlib.error, DecodeError):
        pass
    try:
        return _zlib_stream(body, -15, max_size)  # what some servers send: raw deflate
    except zlib.error as exc:
        raise DecodeError(f"deflate: {exc}") from exc


def _unbrotli(body: bytes, max_size: int) -> bytes:
    try:
        import brotli
    except ImportError as exc:  # pragma: no cover - brotli is a dependency
        raise DecodeError("br: the brotli library is not installed") from exc
    d = brotli.Decompressor()
    out = bytearray()
    try:
        out += d.process(body, output_buffer_limit=CHUNK)
        while not d.is_finished():
            if len(out) > max_size:
                raise TooLarge(max_size, len(body))
            more = d.process(b"", output_buffer_limit=CHUNK)
            if not more:
                break
            out += more
        if len(out) > max_size:
            raise TooLarge(max_size, len(body))
        if not d.is_finished():
            raise DecodeError("br: stream ends early")
    except brotli.error as exc:
        raise DecodeError(f"br: {exc}") from exc
    return bytes(out)


def _zstd_module():  # type: ignore[no-untyped-def]
    try:
        from compression import zstd  # type: ignore[import-not-found]

        return zstd
    except ImportError:
        pass
    try:
        from backports import zstd  # type: ignore[import-not-found,no-redef]

        return zstd
    except ImportError:
        return None


def _unzstd(body: bytes, max_size: int) -> bytes:
    import io

    zstd = _zstd_module()
    if zstd is None:  # pragma: no cover - backports.zstd is a dependency
        raise DecodeError("zstd: no zstd library is installed")
    out = bytearray()
    try:
        with zstd.ZstdFile(io.BytesIO(body)) as f:  # reads every frame, bounded per read
            while chunk := f.read(CHUNK):
                out += chunk
                if len(out) > max_size:
                    raise TooLarge(max_size, len(body))
    except EOFError as exc:
        if not out:
            raise DecodeError(f"zstd: {exc}") from exc
    except zstd.ZstdError as exc:
        raise DecodeError(f"zstd: {exc}") from exc
    return bytes(out)


_DECODERS = {"gzip": _gunzip, "deflate": _inflate, "br": _unbrotli, "zstd": _unzstd}


@dataclass(frozen=True)
class Decoded:
    """The entity, and what was done to get it."""

    body: bytes
    applied: tuple[str, ...]  # codings undone, outermost first
    kept: tuple[str, ...]  # codings we cannot undo (unknown names): left as they are
    error: str | None = None  # why decoding stopped early; body is then the wire bytes


def decode(body: bytes, content_encoding: Iterable[str | bytes], max_size: int) -> Decoded:
    """Undo ``Content-Encoding``; on a body that is not what its header says, the body as sent.

    Raises :class:`TooLarge` when the entity exceeds ``max_size`` (the caller refuses the
    response: it cannot be archived whole). A :class:`DecodeError` is *not* raised: a
    server that labels plain HTML ``gzip`` is common enough, and the evidence is the body
    as sent, so the result carries ``error`` and the undecoded body and the crawl goes on.
    """
    todo = codings(content_encoding)
    applied: list[str] = []
    current = body
    while todo:
        name = todo[-1]
        decoder = _DECODERS.get(name)
        if decoder is None:
            break
        try:
            current = decoder(current, max_size)
        except DecodeError as exc:
            return Decoded(body, (), tuple(codings(content_encoding)), str(exc))
        applied.append(todo.pop())
    return Decoded(current, tuple(applied), tuple(todo))


def peek(chunk: bytes, content_encoding: Iterable[str | bytes], size: int = 1024) -> bytes | None:
    """The first decoded bytes of a body's first chunk, or None when they cannot be had yet.

    For judging what a compressed body is (a page or a binary) before it has all arrived.
    Never raises; never produces more than about ``size`` bytes per coding layer.
    """
    current = chunk
    for name in reversed(codings(content_encoding)):
        try:
            if name == "gzip":
                current = zlib.decompressobj(31).decompress(current, size)
            elif name == "deflate":
                try:
                    current = zlib.decompressobj(15).decompress(current, size)
                except zlib.error:
                    current = zlib.decompressobj(-15).decompress(current, size)
            elif name == "br":
                import brotli

                current = brotli.Decompressor().process(current, output_buffer_limit=size)
            elif name == "zstd":
                zstd = _zstd_module()
                if zstd is None:
                    return None
                current = zstd.ZstdDecompressor().decompress(current, max_length=size)
            else:
                return None
        except Exception:  # noqa: BLE001 - any failure means "cannot tell yet"
            return None
        if not current:
            return None
    return current
