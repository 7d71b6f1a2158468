"""One archive writer per process: one engine, one thread, many sources, group commit.

A crawl process runs one Scrapy crawler per source, and each used to open its own engine
and writer thread: with 30 sources on SQLite, 30 threads queued on ``BEGIN IMMEDIATE`` for
the one write lock (half the writer threads' time went to waiting, and writes that waited
past the busy timeout were lost), and every item paid its own transaction (``BEGIN``, the
source look-up, ``COMMIT`` and its fsync, as ``synchronous=FULL`` asks).

Here every store pipeline of a process that writes to one archive shares one
:class:`Writer` (:meth:`Writer.acquire` / :meth:`Writer.release`, reference-counted).
Jobs are functions of a :class:`~sqlalchemy.orm.Session`; the writer thread runs the jobs
queued at the moment it becomes free in **one transaction** (at most ``MAX_BATCH`` jobs,
and no new job once ``MAX_BATCH_SECONDS`` of work are done), each in its own savepoint, so
a job that raises is rolled back alone and its caller gets the exception. A job's future
is resolved only **after the commit**: a caller that saw its result knows the rows are
durable. No job waits for others to arrive (the batch is whatever queued up while the
previous one was written), so a lone item is written as soon as before.

What a crash can lose: the jobs of the batch being written and those queued behind it,
whose callers had not been answered (a SIGKILL'd crawl loses at most the items in flight,
as before; a graceful stop drains the queue). Their pages are fetched whole next time.

If the commit itself fails, every job of the batch is run again in a transaction of its
own, so one bad row costs its own item only.

Leaves of the Merkle log (:mod:`models.log`) are computed when each row is logged, as
before; their insertion is deferred to the end of the batch (one ``INSERT``, and on
PostgreSQL the log's advisory lock held only for that moment).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from nianbao.models import log
from nianbao.models.db import open_archive, sessionmaker_for

logger = logging.getLogger(__name__)

MAX_BATCH = 64  # jobs per transaction
MAX_BATCH_SECONDS = 0.5  # once a batch has worked this long, it commits


@dataclass
class _Job:
    fn: Callable[[Session], Any]
    future: Future = field(default_factory=Future)


_STOP = object()


class Writer:
    """The process's writer for one archive URL (see the module's docstring)."""

    _lock = threading.Lock()
    _open: dict[str, Writer] = {}

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_archive(url)
        self.Session = sessionmaker_for(self.engine)
        self.users = 0
        self.queue: queue.Queue[Any] = queue.Queue()
        self.batches = 0
        self.jobs = 0
        self.thread = threading.Thread(target=self._run, name="nianbao-writer", daemon=True)
        self.thread.start()

    @classmethod
    def acquire(cls, url: str) -> Writer:
        """The writer for ``url``, opened (and the archive migrated) by its first user."""
        with cls._lock:
            writer = cls._open.get(url)
            if writer is None:
                writer = cls._open[url] = cls(url)
            writer.users += 1
            return writer

    def release(self) -> None:
        """One user less; the last one drains the queue, stops the thread, closes the engine."""
        with self._lock:
            self.users -= 1
            if self.users > 0:
                return
            if self._open.get(self.url) is self:
                del self._open[self.url]
        self.queue.put(_STOP)
        self.thread.join()
        self.engine.dispose()

    def submit(self, fn: Callable[[Session], Any]) -> Future:
        """Run ``fn(session)`` in the next batch; the future resolves after its commit."""
        job = _Job(fn)
        self.queue.put(job)
        return job.future

    def call(self, fn: Callable[[Session], Any]) -> Any:
        """:meth:`submit` and wait (blocks the caller: for opening and finishing a run)."""
        return self.submit(fn).result()

    # --- the writer thread ------------------------------------------------------------

    def _run(self) -> None:
        rest: list[_Job] = []
        stopping = False
        while True:
            batch = rest
            if not batch:
                if stopping:
                    return
                first = self.queue.get()
                if first is _STOP:
                    return
                batch = [first]
            while len(batch) < MAX_BATCH and not stopping:
                try:
                    job = self.queue.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stopping = True
                else:
                    batch.append(job)
            rest = self._write(batch)

    def _write(self, batch: list[_Job]) -> list[_Job]:
        """One transaction for as much of ``batch`` as fits; returns the jobs left over."""
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        rest: list[_Job] = []
        try:
            with self.Session.begin() as session:
                pending = log.defer(session)
                started = time.monotonic()
                for i, job in enumerate(batch):
                    if i and time.monotonic() - started > MAX_BATCH_SECONDS:
                        rest = batch[i:]
                        break
                    mark = len(pending)
                    try:
                        with session.begin_nested():
                            result = job.fn(session)
                    except Exception as exc:  # noqa: BLE001 - the job's own failure, for its caller
                        del pending[mark:]
                        outcomes.append((job, None, exc))
                    else:
                        outcomes.append((job, result, None))
                log.write_deferred(session)
        except Exception as exc:  # noqa: BLE001 - BEGIN, the log or the commit failed
            done = [job for job, _, _ in outcomes] or batch[:1]
            if len(done) == 1:
                if not done[0].future.done():
                    done[0].future.set_exception(exc)
                return rest or batch[len(done) :]
            logger.warning(
                "a batch of %d archive writes failed (%s); writing them one by one",
                len(done),
                exc,
            )
            for job in done:
                self._write([job])
            return rest
        self.batches += 1
        self.jobs += len(outcomes)
        for job, result, error in outcomes:
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)
        return rest
