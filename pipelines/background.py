"""How a helper process of the crawl (cleaning worker, archive writer) starts, and what it
does first.

Both are started by the crawl process (:func:`start_method`: forked before the crawl has
a thread, spawned after) and serve it until it ends; four things follow:

* they let go of the crawl's stdout/stderr: a caller reading those to the end (a test, a
  shell pipe) must not wait for a helper after the crawl itself was killed; errors come
  back to the crawl as exceptions, not as output;
* a crawl killed outright (SIGKILL, OOM) cannot shut them down: they leave with it;
* a stop signal meant for the crawl is not theirs: a terminal's Ctrl-C, and systemd's
  ``KillSignal`` (the README's unit sends SIGINT), reach every process of the group, and a
  writer that died of it lost the writes of the graceful stop and left the crawl hanging
  at exit (a crawl whose group got SIGINT mid-crawl was still there 5 minutes later,
  2026-11-30). They ignore SIGINT; the writer SIGTERM as well (systemd's default signal;
  the crawl stops it through its queue). The cleaning workers keep SIGTERM: the pool
  uses it to end a worker that has not left when the crawl closed its socket;
* the cleaning workers run at a lower CPU priority (``nice`` +:data:`NICE_CLEANERS`), the
  writer at the crawl's own (:data:`NICE_WRITER`). The reactor and the writer are the two
  serial stages: each can use one core and no more, so whatever falls behind in them is
  worked off on one core after the fetching ends. The cleaners are a pool: their backlog
  is worked off on every core. On a busy machine (2 cores: reactor, writer, two cleaners)
  the cleaners therefore yield; with the writer niced as well (+5, until 2026-11-30) it
  got a third of a core during the crawl and then ran alone for 8 of the crawl's 35 s
  (30 portals × 40 reports). On a machine with cores to spare nice changes nothing.
  Backpressure stays: the reactor waits when the writer's acknowledgements fall behind.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time

NICE_WRITER = 0
NICE_CLEANERS = 10


def start_method() -> str:
    """``fork`` while this process has no thread but its main one (on Linux), else ``spawn``.

    A spawned helper is a new interpreter that imports what it needs again: ≈ 1.1 CPU-s
    for the writer and ≈ 0.6 for each cleaning worker (SQLAlchemy, the tables, the
    cleaners' regular expressions), paid by every crawl — on a one-portal crawl of 40
    reports that was 2.4 of its 6.1 CPU-s (2026-11-30). A forked one starts with the
    crawl's modules already imported. Forking is safe only with one thread: a lock that
    another thread holds at the fork stays held in the child for ever (and Python 3.12+
    warns). So :func:`nianbao.crawl.run` starts both helpers before the reactor or any
    thread of its own exists; a helper started later (a pipeline opened inside a running
    reactor, a test driving one directly) is spawned, as before. macOS and Windows always
    spawn (their system libraries are not fork-safe).
    """
    if (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    ):
        return "fork"
    return "spawn"


def detach(nice: int, ignore: tuple[signal.Signals, ...] = (signal.SIGINT,)) -> None:
    """Run first in the helper process (see the module docstring)."""
    for signum in ignore:
        signal.signal(signum, signal.SIG_IGN)
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
    if nice and hasattr(os, "nice"):
        try:
            os.nice(nice)
        except OSError:  # not allowed here: run at the crawl's own priority
            pass


class SpareCore:
    """Whether this process could use a whole core without taking it from another: since
    the last look, the machine's idle time plus this process's own CPU time came to at
    least :data:`WHOLE` of a core, and right now no more tasks are runnable than there are
    cores (``procs_running`` counts this one). The second test is what stops work already
    under way: at the crawl's priority an indexing writer would otherwise keep a core that
    the cleaning workers (nice +10) are queued for, and count it as its own. For work that
    can wait (the search index): on a busy machine it waits, on one with a core to spare (a
    polite crawl waits on the network most of the time) it runs. Linux's ``/proc/stat``;
    elsewhere the answer is always no, and such work waits for its explicit command."""

    WHOLE = 0.9  # of a core
    MIN_INTERVAL = 0.2  # seconds: shorter looks reuse the idle test (jiffies are coarse)

    def __init__(self) -> None:
        self.ncpu = os.cpu_count() or 1
        self.last = self._read()
        self.answer = False

    @staticmethod
    def _read() -> tuple[float, float, float, int] | None:
        """(machine idle + iowait, machine total, this process: seconds; runnable tasks)."""
        try:
            with open("/proc/stat", encoding="ascii") as f:
                lines = f.read().splitlines()
            fields = [int(x) for x in lines[0].split()[1:]]
            running = next(int(ln.split()[1]) for ln in lines if ln.startswith("procs_running"))
        except (OSError, ValueError, IndexError, StopIteration):
            return None
        if len(fields) < 5:
            return None
        times = os.times()
        hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        return (
            (fields[3] + fields[4]) / hz,
            sum(fields) / hz,
            times.user + times.system,
            running,
        )

    def __call__(self) -> bool:
        now = self._read()
        if now is None or self.last is None:
            return False
        if now[3] > self.ncpu:
            return False
        idle, total, mine = (a - b for a, b in zip(now[:3], self.last[:3], strict=True))
        if total / self.ncpu < self.MIN_INTERVAL:
            return self.answer
        self.last = now
        cores = total / self.ncpu  # seconds of wall time the interval spans
        self.answer = (idle + mine) / cores >= self.WHOLE
        return self.answer
