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
"""

from __future__ import annotations

import gc
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


def main() -> None:
    """The ``nianbao`` console script."""
    with uncollected_imports():
        from nianbao.cli import main as cli
    cli()
