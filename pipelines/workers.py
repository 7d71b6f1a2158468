"""The crawl's cleaning processes, driven from the reactor's own event loop.

:mod:`pipelines.stage` hands each candidate page to one of these processes and awaits the
cleaned document. Until 2026-12-01 that was a :class:`concurrent.futures.ProcessPoolExecutor`,
which moves every job through three threads of the crawl process: ``submit`` wakes the
pool's manager thread, which hands the job to a queue feeder thread that pickles and
writes it, and the manager thread reads the answer and resolves a future that wakes the
event loop through its self-pipe. On 30 portals × 40 reports the manager thread alone used
0.8 CPU-s and the feeders 0.3, on the core whose time the reactor needs (the crawl process
is the serial stage: whatever it spends, the crawl waits for), and each hand-over made the
reactor give up and take back the GIL.

Here the reactor's loop does it all (:class:`~pipelines.channel.Channel`): a job is
pickled and written to the socket of the worker with the fewest jobs in hand, up to
:data:`AHEAD` each (the rest wait here), the answers are read when the loop sees the socket
readable, and the future is the loop's own. A busy reactor looks at its sockets only
between callbacks: with two jobs ahead a worker finished both and then waited, and the
workers were idle half the crawl (2026-12-01). Sixteen were enough for 30 sources, not for
300, whose loop turns are longer (hundreds of responses parsed in one): sampled every
half-second, a crawl of 300 × 40 fetched for seconds at a time with a core 70–90 % idle,
the pool's backlog at 500–1,600 pages and both workers holding sixteen, cleaned, answers
unread. With sixty-four (and a socket that holds them, :func:`~pipelines.channel.pipe`)
the idle stretches went, and in alternating pairs the full crawl's share of bare's
rate went from 0.69 and 0.73 to 0.82 and 0.81; at 30 × 40 it did not move (2026-12-03).
A slow page holds up the jobs behind it on its worker, not the others.

A worker that dies (killed, out of memory, a crash in a C parser) is replaced, up to
:data:`MAX_REPLACEMENTS` times a pool (the executor, once a worker died, failed every later
job). Of the jobs it held, one was running; the others had not started, or were done with
their answers not yet written. Which one killed it cannot be told, so each is tried again
**alone**, on a worker holding nothing else, before any new job is sent: the innocent
ones are answered, and only a job that ends a worker while it runs alone (or that was the
only one its worker held) fails, with :class:`WorkerLost`. Until 2026-12-03 every job the
dead worker held failed: up to :data:`AHEAD` pages a crash, whose links the crawl then did
not follow and whose reports it did not clean until the next night.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import functools
import itertools
import logging
import multiprocessing
import os
import pickle
import queue
import threading
import traceback
from collections.abc import Callable
from typing import Any

from nianbao.pipelines import background
from nianbao.pipelines.channel import Channel, pipe, settle

logger = logging.getLogger(__name__)

AHEAD = 64  # jobs written to a worker before its answers are read (the docstring)
MAX_REPLACEMENTS = 8  # workers started again after one died, in a pool's life


class WorkerLost(Exception):
    """The cleaning process running this job ended before answering."""


def _serve(conn: Any, inherited: list[int], initializer: Callable[[], None] | None) -> None:
    """A worker: answer ``(id, fn, arg)`` with ``(id, True, fn(arg))`` or
    ``(id, False, exception)`` until the crawl closes its end.

    The answers are written by a thread of their own (:func:`_answer`): the crawl reads
    them only between its reactor's callbacks, and a socket holds about three cleaned
    report pages (212 KB, Linux's default), so a worker that wrote its answers itself
    waited for the reactor a quarter of the crawl (its state sampled every 20 ms on 30
    portals × 40 reports: 160–180 of ≈ 700 samples blocked in the socket's send,
    2026-12-01) while a core sat partly idle. Now it cleans the next page meanwhile; at
    most :data:`AHEAD` answers wait, as the crawl sends no more jobs than that."""
    for fd in inherited:  # the other workers' crawl-side ends, inherited by fork
        try:
            os.close(fd)
        except OSError:
            pass
    if initializer is not None:
        initializer()
    answers: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    writer = threading.Thread(target=_answer, args=(conn, answers), name="answers", daemon=True)
    writer.start()
    try:
        while True:
            try:
                data = conn.recv_bytes()
            except (EOFError, OSError):
                return
            jid, fn, arg = pickle.loads(data)
            try:
                reply = (jid, True, fn(arg))
            except Exception as exc:  # the crawl logs it with the item
                exc.add_note(f"in the cleaning worker:\n{traceback.format_exc()}")
                reply = (jid, False, exc)
            try:
                out = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # an answer or exception that does not pickle
                out = pickle.dumps((jid, False, RuntimeError(f"{type(exc).__name__}: {exc}")))
            answers.put(out)
    finally:
        answers.put(None)  # what is answered is written before the worker leaves
        writer.join()


def _answer(conn: Any, answers: queue.SimpleQueue[bytes | None]) -> None:
    """A worker's answers, written in order until ``None`` (or the crawl's end is gone)."""
    while (out := answers.get()) is not None:
        try:
            conn.send_bytes(out)
        except OSError:  # the crawl closed its end: nobody to answer
            return


# A job: its id, what to run on what, and the future that awaits it.
_Job = tuple[int, Callable[[Any], Any], Any, asyncio.Future]


class _Worker:
    def __init__(self, process: Any, conn: Any) -> None:
        self.process = process
        self.channel = Channel(conn)
        # the jobs in its hands, by id (None: their loop is gone, the answer is dropped)
        self.jobs: dict[int, _Job | None] = {}
        self.alone = False  # it runs one job held by a lost worker, and nothing else


class Pool:
    """``workers`` cleaning processes; :meth:`submit` from the event loop's thread."""

    def __init__(self, workers: int, initializer: Callable[[], None] | None = None) -> None:
        self.size = max(1, workers)
        self.initializer = initializer
        self.workers: list[_Worker] = []
        self.pending: collections.deque[_Job] = collections.deque()
        # jobs a lost worker held, each to be run alone before anything new (the docstring)
        self.again: collections.deque[_Job] = collections.deque()
        self.tried_again = 0  # jobs a lost worker held that were tried again alone
        self.lost = 0  # jobs failed with WorkerLost
        self.ids = itertools.count()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.replaced = 0
        self.broken: str | None = None
        self.waiters: list[tuple[int, asyncio.Future]] = []  # (backlog wanted, its future)
        for _ in range(self.size):
            self.workers.append(self._start())
        atexit.register(self.close)

    def _start(self) -> _Worker:
        """A worker process: forked while this process has one thread, else spawned."""
        method = background.start_method()
        ctx = multiprocessing.get_context(method)
        ours, theirs = pipe(ctx)
        # A forked worker holds copies of the crawl's ends (its own and the earlier
        # workers'): closed, so that each end is only the crawl's. A spawned one has none.
        inherited = (
            [w.channel.fd for w in self.workers] + [ours.fileno()] if method == "fork" else []
        )
        process = ctx.Process(
            target=_serve,
            args=(theirs, inherited, self.initializer),
            name="nianbao-cleaner",
            daemon=True,
        )
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        if self.loop is not None:
            self._watch(worker, self.loop)
        return worker

    def _watch(self, worker: _Worker, loop: asyncio.AbstractEventLoop) -> None:
        worker.channel.attach(
            loop,
            functools.partial(self._answered, worker),
            functools.partial(self._lost, worker),
        )

    def _attach(self) -> asyncio.AbstractEventLoop:
        """Watch the workers' sockets on the running loop (a new loop: on that one)."""
        loop = asyncio.get_running_loop()
        if loop is not self.loop:
            for w in self.workers:
                # The old loop's futures cannot be resolved on this one: their answers,
                # still to come, are read and dropped.
                w.jobs = dict.fromkeys(w.jobs)
                self._watch(w, loop)
            self.pending.clear()
            self.again.clear()
            self.waiters = []
            self.loop = loop
        return loop

    def backlog(self) -> int:
        """Jobs submitted and not yet in a worker's hands."""
        return len(self.pending) + len(self.again)

    async def below(self, n: int) -> None:
        """Return once the backlog is below ``n`` (at once if it is)."""
        if self.backlog() < n or self.broken is not None:
            return
        loop = self._attach()
        future = loop.create_future()
        self.waiters.append((n, future))
        await future

    def _wake(self) -> None:
        if not self.waiters:
            return
        still = []
        for n, future in self.waiters:
            if future.done():
                continue
            if self.backlog() < n or self.broken is not None:
                future.set_result(None)
            else:
                still.append((n, future))
        self.waiters = still

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> asyncio.Future:
        """``fn(arg)`` in a worker; the future is the running loop's."""
        loop = self._attach()
        future = loop.create_future()
        if self.broken is not None:
            self._fail(future, self.broken)
            return future
        self.pending.append((next(self.ids), fn, arg, future))
        self._dispatch()
        return future

    def _dispatch(self) -> None:
        self._send_ahead()
        self._wake()

    def _send_ahead(self) -> None:
        # A lost worker's jobs first, each to a worker holding nothing, which gets nothing
        # more until it answers; new jobs wait until all of them are in hand.
        while self.again:
            idle = next((w for w in self.workers if not w.jobs), None)
            if idle is None:
                return
            job = self.again.popleft()
            if not job[3].cancelled():
                idle.alone = True
                self._send(idle, job)
        while self.pending and self.workers:
            worker = min(self.workers, key=lambda w: AHEAD if w.alone else len(w.jobs))
            if worker.alone or len(worker.jobs) >= AHEAD:
                return
            job = self.pending.popleft()
            if not job[3].cancelled():
                self._send(worker, job)

    def _send(self, worker: _Worker, job: _Job) -> None:
        jid, fn, arg, _future = job
        worker.jobs[jid] = job
        worker.channel.send((jid, fn, arg), functools.partial(self._unsent, worker, jid))

    def _unsent(self, worker: _Worker, jid: int, exc: Exception) -> None:
        """The job did not pickle: its own failure."""
        self._settle(worker, jid, False, exc)

    def _answered(self, worker: _Worker, message: tuple[int, bool, Any]) -> None:
        self._settle(worker, *message)
        self._dispatch()

    def _settle(self, worker: _Worker, jid: int, ok: bool, value: Any) -> None:
        """A job out of ``worker``'s hands, its future resolved; a worker that ran a job
        alone is free for others once it holds none."""
        job = worker.jobs.pop(jid, None)
        if job is not None:
            settle(job[3], ok, value)
        worker.alone = worker.alone and bool(worker.jobs)

    def _fail(self, future: asyncio.Future, why: str) -> None:
        """A job lost with its worker (or to a pool that gave up): counted for :meth:`account`."""
        settle(future, False, WorkerLost(why))
        self.lost += 1

    def _lost(self, worker: _Worker) -> None:
        """A worker's socket closed: its jobs tried again alone, or, if it ran one job
        alone, that job failed; another worker started in its place."""
        worker.channel.close()
        worker.process.join(timeout=1.0)
        why = (
            f"the cleaning worker (pid {worker.process.pid}) ended, exit {worker.process.exitcode}"
        )
        held = [job for job in worker.jobs.values() if job is not None]
        if worker.alone or len(worker.jobs) <= 1:
            # the one job it held ended it: that job fails (and no other)
            logger.error("%s, with %d page(s) in hand", why, len(worker.jobs))
            alone = f"{why}, running this page alone" if worker.alone else why
            for job in held:
                self._fail(job[3], alone)
        else:
            logger.error(
                "%s, with %d page(s) in hand: each is tried again alone", why, len(worker.jobs)
            )
            self.again.extend(held)
            self.tried_again += len(held)
        worker.jobs.clear()
        self.workers.remove(worker)
        if self.replaced < MAX_REPLACEMENTS:
            self.replaced += 1
            self.workers.append(self._start())
        elif not self.workers:
            self.broken = f"{why}; {MAX_REPLACEMENTS} workers were started again already"
            logger.error("no cleaning worker left: %s", self.broken)
            for waiting in (self.again, self.pending):
                while waiting:
                    self._fail(waiting.popleft()[3], self.broken)
        self._dispatch()

    def account(self) -> str | None:
        """One line for the end of a crawl if a worker died in it (None if none did)."""
        if not self.replaced and self.broken is None:
            return None
        return (
            f"cleaning workers: {self.replaced} ended and were started again; "
            f"{self.tried_again} page(s) they held were tried again alone, "
            f"{self.lost} lost (each named in an error line)"
            + ("; the pool gave up: " + self.broken if self.broken else "")
        )

    def close(self) -> None:
        """Let the workers go (they end when their socket closes) and wait for them."""
        for worker in self.workers:
            worker.channel.close()
        for worker in self.workers:
            worker.process.join(timeout=5.0)
            if worker.process.is_alive():
                worker.process.terminate()
        self.workers = []
        atexit.unregister(self.close)
