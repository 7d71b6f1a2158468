"""A helper process's socket as the crawl's event loop uses it: pickled messages in, out,
never blocking the loop.

The crawl's helpers (the cleaning workers, :mod:`pipelines.workers`; the archive writer,
:mod:`models.writer`) each have one end of a :func:`multiprocessing.Pipe`. The helper
reads and writes its end with the standard blocking ``recv_bytes``/``send_bytes``; the
crawl's end is non-blocking and served by the loop that runs the reactor: what the socket
does not take at once is written when it is writable again, and answers are read when it
is readable. Until 2026-12-01 the crawl side went through threads (a queue feeder that
pickles and writes, a thread that reads and resolves futures, which then wake the loop
through its self-pipe): on 30 portals × 40 reports those threads used 1.1–1.5 CPU-s on
the core the reactor needs, and each hand-over made the reactor give up the GIL.

The framing is :class:`multiprocessing.connection.Connection`'s: a 4-byte big-endian
length, or -1 and an 8-byte one.
"""

from __future__ import annotations

import asyncio
import collections
import os
import pickle
import selectors
import socket
import struct
from collections.abc import Callable, Iterator
from typing import Any

_READ = 1 << 20  # bytes read at once
_AHEAD_BYTES = 1 << 20  # pickled and not yet written: more waits as objects
# Bytes a helper's socket holds in each direction (SO_SNDBUF; the kernel caps it at
# net.core.wmem_max). See pipe().
PIPE_BUFFER = 4 << 20


def pipe(ctx: Any) -> tuple[Any, Any]:
    """A duplex pipe for a helper (``ctx``: a :mod:`multiprocessing` context) whose
    socket holds :data:`PIPE_BUFFER` bytes each way, not Linux's default 208 KB.

    The crawl's loop reads a helper's socket once per turn, and a busy turn of a crawl of
    300 sources (hundreds of responses parsed) is long: with the default buffer a
    cleaning worker's answers (≈ 43 KB a report page) came through about five a turn,
    and a worker that had cleaned its :data:`~pipelines.workers.AHEAD` pages waited with
    its answers unread. At 300 × 40 the workers then idled while the crawl fetched (a
    core ≈ 80 % idle for seconds at a time, the pool's backlog at 500–1,600 pages),
    2026-12-03. Where ``wmem_max`` is lower, the kernel gives what it allows."""
    ours, theirs = ctx.Pipe(duplex=True)
    if PIPE_BUFFER > 0:
        for end in (ours, theirs):
            try:
                sock = socket.socket(fileno=os.dup(end.fileno()))
            except OSError:  # not a socket (another platform's pipe): its own size
                continue
            with sock:  # closes the duplicate only
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, PIPE_BUFFER)
    return ours, theirs


class Channel:
    """The crawl's end of a helper's pipe (``conn``, kept open: it owns the descriptor)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.fd: int = conn.fileno()
        os.set_blocking(self.fd, False)
        self.queue: collections.deque[tuple[Any, Callable[[Exception], None]]] = collections.deque()
        self.out = bytearray()
        self.inbuf = bytearray()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.writing = False
        self.timer: asyncio.TimerHandle | None = None  # a flush scheduled by send(within=)
        self.closed = False
        self.on_message: Callable[[Any], None] = lambda message: None
        self.on_closed: Callable[[], None] = lambda: None

    def attach(
        self,
        loop: asyncio.AbstractEventLoop,
        on_message: Callable[[Any], None],
        on_closed: Callable[[], None],
    ) -> None:
        """Read on ``loop`` from now on: each message to ``on_message``; ``on_closed`` once,
        when the helper's end is gone (it ended, or died)."""
        self.detach()
        self.loop, self.on_message, self.on_closed = loop, on_message, on_closed
        loop.add_reader(self.fd, self._readable)
        self.flush()

    def detach(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.loop is not None and not self.loop.is_closed():
            self.loop.remove_reader(self.fd)
            if self.writing:
                self.loop.remove_writer(self.fd)
        self.loop = None
        self.writing = False

    def send(
        self, message: Any, failed: Callable[[Exception], None], *, within: float = 0.0
    ) -> None:
        """Queue ``message`` and write what the socket takes now (``within``: at the latest
        that many seconds from now, with whatever else is sent meanwhile). It is pickled
        only when the bytes before it are nearly all written (a helper that falls behind
        leaves its backlog here as objects, not also as a pickled copy: 300 portals × 40
        reports peaked at 1.18 GB with every queued job pickled at once, 2026-12-01);
        ``failed`` gets the exception if it does not pickle."""
        self.queue.append((message, failed))
        if within <= 0 or self.loop is None:
            self.flush()
        elif self.timer is None:
            self.timer = self.loop.call_later(within, self._timed_flush)

    def _timed_flush(self) -> None:
        self.timer = None
        self.flush()

    def _fill(self) -> None:
        while self.queue and len(self.out) < _AHEAD_BYTES:
            message, failed = self.queue.popleft()
            try:
                body = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001 - this message's failure only
                failed(exc)
                continue
            n = len(body)
            self.out += struct.pack("!i", n) if n <= 0x7FFFFFFF else struct.pack("!iQ", -1, n)
            self.out += body

    def flush(self) -> None:
        if self.closed:
            return
        try:
            self._fill()
            while self.out:
                del self.out[: os.write(self.fd, self.out)]
                self._fill()
        except BlockingIOError:
            pass
        except OSError:
            self._gone()
            return
        want = bool(self.out) and self.loop is not None
        if want != self.writing and self.loop is not None:
            if want:
                self.loop.add_writer(self.fd, self.flush)
            else:
                self.loop.remove_writer(self.fd)
            self.writing = want

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, _READ)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._gone()
            return
        for message in self.received(data):
            self.on_message(message)

    def received(self, data: bytes) -> Iterator[Any]:
        """The whole messages ``data`` completes (the rest waits for more)."""
        buf = self.inbuf
        buf += data
        while len(buf) >= 4:
            (n,) = struct.unpack_from("!i", buf)
            head = 4
            if n == -1:
                if len(buf) < 12:
                    return
                (n,) = struct.unpack_from("!Q", buf, 4)
                head = 12
            if len(buf) < head + n:
                return
            message = pickle.loads(memoryview(buf)[head : head + n])
            del buf[: head + n]
            yield message

    def _gone(self) -> None:
        if self.closed:
            return
        self.detach()
        self.closed = True
        self.on_closed()

    def pump(self, done: Callable[[], bool], alive: Callable[[], bool]) -> None:
        """Without a loop (the crawl is over): write what is queued and read messages until
        ``done()``, the helper's end closes, or it is no longer ``alive()``."""
        self.detach()
        with selectors.DefaultSelector() as sel:
            sel.register(self.fd, selectors.EVENT_READ)
            while not done() and not self.closed:
                self.flush()
                writing = self.out or self.queue
                events = selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0)
                sel.modify(self.fd, events)
                ready = sel.select(timeout=1.0)
                if not ready and not alive():
                    self._gone()
                    return
                for _key, mask in ready:
                    if mask & selectors.EVENT_READ:
                        self._readable()

    def close(self) -> None:
        self.detach()
        self.closed = True
        self.conn.close()


def settle(future: Any, ok: bool, value: Any) -> None:
    """Resolve ``future`` (asyncio's or concurrent's) with a helper's answer, unless it is
    done already (cancelled, or failed meanwhile); a loop that was closed in the meantime
    (the crawl is over) cannot run its callbacks, and has none to run."""
    if future.done():
        return
    try:
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
    except RuntimeError:  # its loop is closed
        pass
