"""How the ``nianbao`` command starts (and ``python -m nianbao``): its imports are done
with the cyclic garbage collector off.

The CLI and what a crawl imports after it (Scrapy, Twisted, SQLAlchemy, the cleaners)
allocate ~200,000 objects that live as long as the process, and the collector walked
them again and again while they were being created: ≈ 0.1 of the ≈ 1.0 CPU-s that
``import nianbao.crawl`` took (0.96–1.17 → 0.89–0.91 CPU-s, five runs each way,
2026-11-30), paid by every crawl process and every command a test runs in a subprocess.
Python's documentation gives the pattern for a process that will fork: the collector off
early, ``gc.freeze()`` once the long-lived objects exist, then on again. :func:`nianbao.crawl._collect_less`
freezes what a crawl creates after this, before it forks its helpers.

Only the command does this: a program that imports :mod:`nianbao` as a library keeps its
own collector settings.

The command also leaves without tearing the interpreter down (:func:`_leave_now`): once it
has its exit status and every exit handler has run (the cleaning workers joined, the logs
flushed), there is nothing left to do but free, one by one, every object a crawl made,
which took 0.19–0.23 s of a 30-portal crawl's 7–8.5 s (three runs each way,
2026-12-02), after its last line was printed.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def uncollected_imports() -> Iterator[None]:
    """Import inside this with the collector off; what was imported is frozen after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


_STATUS: list[int] = []  # the command's exit status, once it has returned one


def main() -> None:
    """The ``nianbao`` console script."""
    # Registered first, so run last: after the handlers of everything imported below.
    atexit.register(_leave_now)
    with uncollected_imports():
        from nianbao.cli import main as cli
    try:
        cli()  # click's standalone mode: always ends in SystemExit
    except SystemExit as done:
        _STATUS.append(exit_status(done.code))
        raise


def exit_status(code: object) -> int:
    """The process's exit status for ``SystemExit(code)``, as Python computes it (a message
    is printed by Python and exits 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def _leave_now() -> None:
    """The last exit handler: flush the standard streams and end the process with the
    command's status. An error that escaped the command (no status: a traceback) leaves
    the usual way. A stream that cannot be flushed (a closed pipe) gives 120, as Python's
    own exit does."""
    if not _STATUS:
        return
    status = _STATUS[0]
    if "logging" in sys.modules:
        import logging

        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            status = status or 120
    os._exit(status)
