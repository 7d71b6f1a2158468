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
