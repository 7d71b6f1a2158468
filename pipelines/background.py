"""What a helper process of the crawl (cleaning worker, archive writer) does first.

Both are spawned by the crawl process and serve it until it ends; three things follow:

* they let go of the crawl's stdout/stderr: a caller reading those to the end (a test, a
  shell pipe) must not wait for a helper after the crawl itself was killed; errors come
  back to the crawl as exceptions, not as output;
* a crawl killed outright (SIGKILL, OOM) cannot shut them down: they leave with it;
* they run at a lower CPU priority (``nice`` +:data:`NICE`). The crawl's reactor is the
  critical path: it alone fetches and parses, on one core, and it is what bare Scrapy is
  measured by. The helpers are queues behind it; on a machine with cores to spare nice
  changes nothing, on a busy one (2 cores: reactor, two cleaners, a writer) the scheduler
  otherwise shares the reactor's core with them and every stage waits on the slowest.
  Backpressure stays: the reactor waits when the writer's acknowledgements fall behind.
"""

from __future__ import annotations

import os
import threading
import time

NICE = 5


def detach() -> None:
    """Run first in the helper process (see the module docstring)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="nianbao-parent-watch").start()
    if hasattr(os, "nice"):
        try:
            os.nice(NICE)
        except OSError:  # not allowed here: run at the crawl's own priority
            pass


class SpareCore:
    """Whether this process could use a whole core without taking it from another: since
    the last look, the machine's idle time plus this process's own CPU time came to at
    least :data:`WHOLE` of a core. For work that can wait (the search index): on a busy
    machine it waits, on one with a core to spare (a polite crawl waits on the network
    most of the time) it runs. Linux's ``/proc/stat``; elsewhere the answer is always no,
    and such work waits for its explicit command."""

    WHOLE = 0.9  # of a core
    MIN_INTERVAL = 0.2  # seconds: shorter looks reuse the last answer (jiffies are coarse)

    def __init__(self) -> None:
        self.ncpu = os.cpu_count() or 1
        self.last = self._read()
        self.answer = False

    @staticmethod
    def _read() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat", encoding="ascii") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        if len(fields) < 5:
            return None
        times = os.times()
        # (machine idle + iowait, machine total, this process), all in seconds
        hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        return (fields[3] + fields[4]) / hz, sum(fields) / hz, times.user + times.system

    def __call__(self) -> bool:
        now = self._read()
        if now is None or self.last is None:
            return False
        idle, total, mine = (a - b for a, b in zip(now, self.last, strict=True))
        if total / self.ncpu < self.MIN_INTERVAL:
            return self.answer
        self.last = now
        cores = total / self.ncpu  # seconds of wall time the interval spans
        self.answer = (idle + mine) / cores >= self.WHOLE
        return self.answer
