"""One archive writer per crawl process, in a process of its own: group commit, many sources.

A crawl process runs one Scrapy crawler per source, and each used to open its own engine
and writer thread: with 30 sources on SQLite, 30 threads queued on ``BEGIN IMMEDIATE`` for
the one write lock (half the writer threads' time went to waiting, and writes that waited
past the busy timeout were lost), every item paid its own transaction (``BEGIN``, the
source look-up, ``COMMIT`` and its fsync, as ``synchronous=FULL`` asks), and all of the
SQLAlchemy work (≈ 20 CPU-ms a report) ran on the reactor's core, under its GIL.

Here every store pipeline of a process that writes to one archive shares one
:class:`Writer` (:meth:`Writer.acquire` / :meth:`Writer.release`, reference-counted),
which runs in a process of its own (the machine's other core; forked when the crawl starts
it before its reactor, :func:`~nianbao.pipelines.background.start_method`; migrated by
the caller first, once). A job is a module-level function of a
:class:`~sqlalchemy.orm.Session` and picklable arguments. The writer runs the jobs queued
at the moment it becomes free in **one transaction** (at most ``MAX_BATCH`` jobs, and no
new job once ``MAX_BATCH_SECONDS`` of work are done). A job that raises is rolled back
alone and its caller gets a :class:`WriteFailed`: the batch is written again from its start
with each job in its own savepoint (a savepoint for every job, when none fails, cost 12–17 %
of the writer's CPU a report on SQLite and ≈ 10 % on PostgreSQL; jobs rarely fail). A job's
future is resolved only **after the commit**: a caller that saw its result knows the rows
are durable. On a machine with a core to spare no job waits for others to arrive (the
batch is whatever queued up while the previous one was written), so a lone item is written
as soon as before. On a busy one, while jobs come in a stream, a batch of fewer than
:data:`LINGER_JOBS` waits up to :data:`LINGER_SECONDS` for more (group commit's linger,
:class:`_Linger`): a writer that keeps up with the
crawl otherwise commits every job or two, and each transaction's own work (``BEGIN``, the
log's leaves and its size, ``COMMIT``) cost as much as the jobs in it. A 30 × 40 crawl
wrote 745 batches for 1,200 reports without it and 117 with it; in five alternating pairs
of crawls the writer's CPU went from 2.28–2.73 to 1.96–2.18 s and the crawl's wall time
from 7.04–8.20 to 6.98–7.46 s, shorter in every pair (2026-12-02). The crawl's items do not
wait for each other's writes, so the linger costs a page nothing but 50 ms of latency.

A job its caller waits for before it can go on (:meth:`Writer.submit_now`: a source's run
row opened or finished, its last list pages, its links reconciled) is sent at once, not
within :data:`SEND_WITHIN`, and the batch it is in does not linger. A source's close is
three such jobs one after the other, and the crawl ends with the last source's: with the
stream's delays each took 60–120 ms, and the close of a source 0.15–0.25 s after its last
report was stored (SQLite; PostgreSQL 0.2–0.4 s); sent at once, 8–55 ms a job and
0.03–0.1 s a close (30 × 40, 2026-12-03).

What a crash can lose: the jobs of the batch being written and those queued behind it,
none of which had been answered (a SIGKILL'd crawl takes its writer with it: the items in
flight are lost, as before; a graceful stop drains the queue). Their pages are fetched
whole next time. If the writer process dies, every waiting and later job fails with
:class:`WriteFailed` (the crawl goes on, counting archive errors).

If the commit itself fails, every job of the batch is run again in a transaction of its
own, so one bad row costs its own item only.

A batch of more than one job means the writer is behind the crawl; a lone job on a machine
with no core to spare (:class:`~nianbao.pipelines.background.SpareCore`: the reactor and the
cleaners want every core) means the crawl would wait for its CPU. In both cases a new
version is queued unsigned for the comparison with its look-alikes (migration 0014, 45 %
of a write on a county's look-alike reports; a saturated 30 × 40 crawl took 34–38 s with
it queued against 39.6 s inline, 2026-11-30; signing too, 2026-12-01) and for parsing its
table cells (migration 0016). While the writer has no job and the machine a core to spare,
it works off those queues and then the search index's (:class:`_IdleIndexer`); what is
left when the crawl ends, ``nianbao index`` does, and readers compute the queued versions'
links and cells meanwhile (:func:`models.neardup.unstored_links`,
:func:`models.figures.load`).

Leaves of the Merkle log (:mod:`models.log`) are inserted at the end of the batch (one
``INSERT``, and on PostgreSQL the log's advisory lock held only for that moment). A report's
version and capture have theirs computed from the values inserted
(:func:`models.log.append_inserted`); rows logged by id that no job changes afterwards (a
page cache's captures) are read at the end, one query a kind for the batch.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from nianbao.models.db import open_archive
from nianbao.pipelines import background
from nianbao.pipelines.channel import Channel, pipe, settle

MAX_BATCH = 64  # jobs per transaction
MAX_BATCH_SECONDS = 0.5  # once a batch has worked this long, it commits
IDLE_LOOK = 0.5  # seconds without a job before the writer looks for spare work
# On a machine with no core to spare, while jobs come in a stream, a batch smaller than
# LINGER_JOBS waits up to LINGER_SECONDS for more (the module's docstring, _Linger).
LINGER_JOBS = 16
LINGER_SECONDS = 0.05
# A job waits up to SEND_WITHIN seconds to be sent with the ones after it: one write (and
# one wake-up of the writer) for several. On 30 × 40 the writer's CPU went from 1.23-1.29
# to 1.12-1.16 s in alternating crawls (larger batches), 2026-12-02; the wall time did not
# move measurably. A lone job waits that long more for its answer.
SEND_WITHIN = 0.02
INDEX_QUIET = 10.0  # seconds before empty queues (links, search) are looked at again

_STOP = None
_DONE = "done"


class WriteFailed(Exception):
    """A job failed in the writer: ``kind`` is ``integrity`` (a unique constraint: another
    process wrote the row first), ``operational`` (the database: locked, disk full, gone)
    or ``error`` (anything else, a bug); the message is the database's or the error's."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self) -> Any:
        return (WriteFailed, (self.kind, str(self)))


class Writer:
    """The process's writer for one archive URL (see the module's docstring).

    The crawl's end of the writer's pipe is served by an event loop
    (:class:`~nianbao.pipelines.channel.Channel`): the loop of the first caller that had
    one running (the reactor's: its jobs' futures are that loop's own, so answering one
    costs the reactor no thread hand-over), else a loop of the writer's own in a thread
    (a caller with no loop gets a :class:`concurrent.futures.Future`). Jobs from any other
    thread are handed to that loop."""

    _lock = threading.Lock()
    _open: dict[str, Writer] = {}

    def __init__(self, url: str) -> None:
        self.url = url
        open_archive(url).dispose()  # migrated here, once: errors are the caller's to say
        method = background.start_method()
        ctx = multiprocessing.get_context(method)
        ours, theirs = pipe(ctx)
        self.process = ctx.Process(
            target=_serve,
            # a forked writer holds a copy of the crawl's end: closed there, so that the
            # crawl's end closing (the crawl died) reaches it as the end of its input
            args=(url, theirs, ours.fileno() if method == "fork" else None),
            name="nianbao-writer",
            daemon=True,
        )
        self.process.start()
        theirs.close()
        self.channel = Channel(ours)
        self.users = 0
        self.ids = itertools.count()
        self.waiting: dict[int, Any] = {}  # job id -> its Future (asyncio's or concurrent's)
        self.dead: str | None = None
        self.finished = False  # the writer said it is done (after a stop)
        self.loop: asyncio.AbstractEventLoop | None = None  # the loop serving the channel
        self.own_loop: threading.Thread | None = None  # that loop's thread, if ours
        self.pending_lock = threading.Lock()

    @classmethod
    def acquire(cls, url: str) -> Writer:
        """The writer for ``url``, started (and the archive migrated) by its first user."""
        with cls._lock:
            writer = cls._open.get(url)
            if writer is None:
                writer = cls._open[url] = cls(url)
            writer.users += 1
            return writer

    @classmethod
    def acquire_running(cls, url: str) -> Writer | None:
        """The writer for ``url`` if this process has one running (one user more, to
        :meth:`release`), else None: for work that should share the crawl's writer when it
        has one but is not worth spawning one for (a crawl with its store pipeline off)."""
        with cls._lock:
            writer = cls._open.get(url)
            if writer is not None:
                writer.users += 1
            return writer

    def release(self) -> None:
        """One user less; the last one drains the queue and stops the writer."""
        with self._lock:
            self.users -= 1
            if self.users > 0:
                return
            if self._open.get(self.url) is self:
                del self._open[self.url]
        self._take_back()
        if self.dead is None:
            self.channel.send(_STOP, lambda exc: None)
        # What is still queued, and the answers to it, with no loop: the writer blocks on
        # its answers if nobody reads them.
        self.channel.pump(lambda: self.finished, self.process.is_alive)
        self.process.join(timeout=60)
        self.channel.close()

    def _take_back(self) -> None:
        """Stop serving the channel from a loop, so this thread can (see :meth:`release`)."""
        loop = self.loop
        if loop is None:
            return
        if self.own_loop is not None:
            asyncio.run_coroutine_threadsafe(_call(self.channel.detach), loop).result()
            loop.call_soon_threadsafe(loop.stop)
            self.own_loop.join()
            loop.close()
        elif loop.is_running() and _running_loop() is not loop:
            asyncio.run_coroutine_threadsafe(_call(self.channel.detach), loop).result()
        else:
            self.channel.detach()
        self.loop = self.own_loop = None

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(session, *args, **kwargs)`` in the next batch; the future resolves after
        its commit, or fails with :class:`WriteFailed`. An :class:`asyncio.Future` when
        called in the loop that serves the writer, else a :class:`concurrent.futures.Future`.

        The job may wait up to :data:`SEND_WITHIN` to be sent with others, and its batch
        may linger for more (the module's docstring): for a stream of jobs whose callers
        go on meanwhile (a crawl's items)."""
        return self._submit(False, fn, args, kwargs)

    def submit_now(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """As :meth:`submit`, for a job its caller waits for before it can go on (a
        source's run row, its last list pages): sent at once, and its batch does not
        linger."""
        return self._submit(True, fn, args, kwargs)

    def _submit(self, now: bool, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        running = _running_loop()
        with self.pending_lock:
            if (
                self.loop is not None
                and self.own_loop is None
                and self.loop is not running
                and not self.loop.is_running()
            ):
                self._take_back()  # the loop that served it stopped (its crawl is over)
            if self.loop is None and self.dead is None:
                self._serve_on(running)
            jid = next(self.ids)
            if running is not None and running is self.loop:
                future: Any = running.create_future()
            else:
                future = Future()
            if self.dead is not None:
                future.set_exception(WriteFailed("operational", self.dead))
                return future
        job = (jid, fn, args, kwargs, now)
        if running is self.loop:
            self._send(future, job)
        else:
            assert self.loop is not None
            self.loop.call_soon_threadsafe(self._send, future, job)
        return future

    def _serve_on(self, running: asyncio.AbstractEventLoop | None) -> None:
        """The first job picks the loop that will serve the channel (under pending_lock)."""
        if running is not None:
            self.loop = running
        else:
            loop = asyncio.new_event_loop()
            self.loop = loop
            self.own_loop = threading.Thread(
                target=loop.run_forever, name="nianbao-writer-loop", daemon=True
            )
            self.own_loop.start()
        self.loop.call_soon_threadsafe(self._attach)

    def _attach(self) -> None:
        assert self.loop is not None
        self.channel.attach(self.loop, self._answered, self._gone)

    def _send(self, future: Any, job: tuple) -> None:
        """In the serving loop: the job onto the channel."""
        if self.dead is not None:
            settle(future, False, WriteFailed("operational", self.dead))
            return
        with self.pending_lock:
            self.waiting[job[0]] = future
        within = 0.0 if _now(job) else SEND_WITHIN
        self.channel.send(job, functools.partial(self._unsent, job[0]), within=within)

    def _unsent(self, jid: int, exc: Exception) -> None:
        """The job did not pickle: its own failure."""
        with self.pending_lock:
            future = self.waiting.pop(jid, None)
        if future is not None:
            settle(future, False, WriteFailed("error", f"{type(exc).__name__}: {exc}"))

    def _answered(self, message: Any) -> None:
        """The writer's outcomes of one batch, after its commit (or that it is done)."""
        if message == _DONE:
            self.finished = True
            return
        for jid, ok, value in message:
            with self.pending_lock:
                future = self.waiting.pop(jid, None)
            if future is not None:
                settle(future, ok, value)

    def _gone(self) -> None:
        """The writer's end closed: after a stop, or it died."""
        if self.finished:
            return
        self.process.join(timeout=5.0)
        self._fail_all(f"the archive writer process ended (exit {self.process.exitcode})")

    def _fail_all(self, why: str) -> None:
        with self.pending_lock:
            self.dead = why
            futures, self.waiting = list(self.waiting.values()), {}
        for future in futures:
            settle(future, False, WriteFailed("operational", why))


def _now(job: Any) -> bool:
    """Whether its caller waits for ``job`` before going on (:meth:`Writer.submit_now`)."""
    return isinstance(job, tuple) and len(job) > 4 and job[4] is True


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _call(fn: Callable[[], None]) -> None:
    fn()


# --- the writer process ------------------------------------------------------------------


def _describe(exc: BaseException) -> WriteFailed:
    from sqlalchemy.exc import IntegrityError, OperationalError

    if isinstance(exc, WriteFailed):
        return exc
    if isinstance(exc, IntegrityError):
        return WriteFailed("integrity", str(exc.orig))
    if isinstance(exc, OperationalError):
        return WriteFailed("operational", str(exc.orig))
    return WriteFailed("error", f"{type(exc).__name__}: {exc}")


class _Inbox:
    """The writer's end of the pipe, read as a queue: a job, or :data:`_STOP` (also when
    the crawl's end is gone: what was read is written, then the writer ends)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def get(self, timeout: float | None = None) -> Any:
        if timeout is not None and not self.conn.poll(timeout):
            raise queue.Empty
        try:
            return pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            return _STOP

    def get_nowait(self) -> Any:
        return self.get(0)

    def put(self, message: Any) -> None:
        try:
            self.conn.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
        except OSError:  # the crawl is gone: nobody to tell
            pass


def _serve(url: str, conn: Any, crawl_end: int | None) -> None:
    background.detach(background.NICE_WRITER, ignore=(signal.SIGINT, signal.SIGTERM))
    if crawl_end is not None:
        os.close(crawl_end)
    pipe = _Inbox(conn)  # one duplex pipe: jobs in, outcomes out
    from nianbao.models.db import make_engine, sessionmaker_for

    engine = make_engine(url)
    Session = sessionmaker_for(engine)
    idle = _IdleIndexer(Session)
    linger = _Linger()
    rest: list[Any] = []
    stopping = False
    while True:
        batch = rest
        if not batch:
            if stopping:
                break
            first = idle.next_job(pipe)
            if first is _STOP:
                break
            batch = [first]
        while len(batch) < MAX_BATCH and not stopping:
            try:
                job = pipe.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                stopping = True
            else:
                batch.append(job)
        busy = not idle.spare()
        if not stopping:
            stopping = linger(pipe, batch, busy)
        # behind the crawl, or no core to spare: the comparisons wait (module docstring)
        outcomes, rest = _write(Session, batch, defer=len(batch) > 1 or busy)
        pipe.put(outcomes)
    engine.dispose()
    pipe.put(_DONE)
    conn.close()


class _Linger:
    """When a batch waits for more jobs (:func:`_linger`): only on a busy machine, and only
    while jobs come in a stream (the batch before had more than one). A caller that waits
    for each answer before it sends the next job (a crawl's run row, opened and finished;
    a one-page crawl) would gain nothing from waiting and lose the whole window."""

    def __init__(self) -> None:
        self.streaming = False

    def __call__(self, pipe: _Inbox, batch: list[Any], busy: bool) -> bool:
        """Lingers if it should (``busy``: the machine has no core to spare; never for a
        batch with a job its caller waits for, :meth:`Writer.submit_now`); whether the
        crawl said stop meanwhile."""
        stopping = False
        if (
            busy
            and (self.streaming or len(batch) > 1)
            and len(batch) < LINGER_JOBS
            and not any(_now(job) for job in batch)
        ):
            stopping = _linger(pipe, batch)
        self.streaming = len(batch) > 1
        return stopping


def _linger(pipe: _Inbox, batch: list[Any]) -> bool:
    """Add to ``batch`` the jobs that arrive within :data:`LINGER_SECONDS`, up to
    :data:`LINGER_JOBS`, and no more once one of them is waited for
    (:meth:`Writer.submit_now`); whether the crawl said stop meanwhile."""
    deadline = time.monotonic() + LINGER_SECONDS
    while len(batch) < LINGER_JOBS:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            job = pipe.get(timeout=left)
        except queue.Empty:
            return False
        if job is _STOP:
            return True
        batch.append(job)
        if _now(job):
            return False
    return False


class _IdleIndexer:
    """While the writer has no job and the machine a core to spare, what the crawl put off
    is worked off, one small transaction at a time, in the order and batch sizes of
    :data:`models.queued.QUEUES` (the table cells, then the near-duplicate comparisons,
    then the search index: indexing each version as it was written cost the writer a
    third of its CPU, migration 0013). Queues found empty are looked at again only
    :data:`INDEX_QUIET` seconds later: each look is a write transaction, and other
    processes may share the archive."""

    def __init__(self, Session: Any) -> None:
        self.Session = Session
        self.spare = background.SpareCore()
        self.quiet_until = 0.0

    def next_job(self, requests: Any) -> Any:
        from nianbao.models import queued

        while True:
            try:
                return requests.get(timeout=IDLE_LOOK)
            except queue.Empty:
                pass
            if time.monotonic() < self.quiet_until:
                continue
            while self.spare():
                done = 0
                try:
                    with self.Session.begin() as session:
                        for work in queued.QUEUES:
                            done = work.work(session, work.idle_batch)
                            if done:
                                break
                except Exception:  # noqa: BLE001 - locked or busy: the queue waits, nothing lost
                    done = 0
                if not done:
                    self.quiet_until = time.monotonic() + INDEX_QUIET
                    break
                try:
                    return requests.get_nowait()
                except queue.Empty:
                    continue


class _JobRaised(Exception):
    """A job of a batch written without savepoints raised: the batch is written again."""


def _write(
    Session: Any, batch: list[Any], defer: bool | None = None, *, careful: bool = False
) -> tuple[list[tuple[int, bool, Any]], list[Any]]:
    """One transaction for as much of ``batch`` as fits: its outcomes, and the jobs left.
    ``defer``: queue the new versions' comparisons (default: when the batch has more than
    one job). ``careful``: each job in a savepoint of its own, so that one that raises is
    rolled back alone; otherwise (first) none, and if a job raises, the whole transaction
    is rolled back and the batch written again carefully: the same outcomes, for the cost
    of a second pass only when a job fails."""
    if defer is None:
        defer = len(batch) > 1
    from nianbao.models import log, neardup
    from nianbao.models import pending as pending_queue

    outcomes: list[tuple[int, bool, Any]] = []
    rest: list[Any] = []
    try:
        with Session.begin() as session:
            session.info[neardup.DEFER] = defer
            pending = log.defer(session)
            queued = pending_queue.collect(session)
            started = time.monotonic()
            for i, job in enumerate(batch):
                jid, fn, args, kwargs = job[:4]
                if i and time.monotonic() - started > MAX_BATCH_SECONDS:
                    rest = batch[i:]
                    break
                if not careful:
                    try:
                        result = fn(session, *args, **kwargs)
                    except Exception as exc:  # noqa: BLE001 - rolled back, written again below
                        raise _JobRaised from exc
                    outcomes.append((jid, True, result))
                    continue
                mark, queued_mark = len(pending), len(queued)
                try:
                    with session.begin_nested():
                        result = fn(session, *args, **kwargs)
                except Exception as exc:  # noqa: BLE001 - the job's own failure, for its caller
                    del pending[mark:]
                    del queued[queued_mark:]
                    outcomes.append((jid, False, _describe(exc)))
                else:
                    outcomes.append((jid, True, result))
            pending_queue.write(session)
            log.write_deferred(session)
    except _JobRaised:
        return _write(Session, batch, defer, careful=True)
    except Exception as exc:  # noqa: BLE001 - BEGIN, the log or the commit failed
        tried = len(outcomes) or 1
        if tried == 1:
            return [(batch[0][0], False, _describe(exc))], rest or batch[1:]
        out: list[tuple[int, bool, Any]] = []
        for job in batch[:tried]:  # one by one: one bad row costs its own item only
            out.extend(_write(Session, [job], defer, careful=True)[0])
        return out, rest
    return outcomes, rest
