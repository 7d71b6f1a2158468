"""What a saturated crawl's writer puts off, and working it off.

Two queues, in the order they are worked off: versions whose comparison with their
look-alikes waits (migration 0014, :mod:`models.neardup`) and versions waiting for the
search index (migrations 0013 and 0015, :mod:`models.search`). The crawl's idle writer takes
small batches of each (``models.writer``); ``nianbao index`` and the benchmark that times
it work both off to the end with :func:`work_off`, so they cannot differ in what they do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from nianbao.models import neardup, search


@dataclass(frozen=True)
class Queue:
    name: str  # as the CLI says it
    verb: str  # what was done to each version
    pending: Callable[[Session], int]
    work: Callable[[Session, int], int]  # up to n versions off the queue; how many
    batch: int  # versions a transaction


QUEUES = (
    Queue("near-duplicates", "compared", neardup.pending, neardup.link_pending, 64),
    Queue("search index", "indexed", search.pending, search.index_pending, 256),
)


def work_off(Session: Any, queue: Queue) -> Iterator[int]:
    """Empty ``queue``, one transaction a batch, yielding the running total of versions done
    after each (for progress). A failure leaves the rest queued."""
    done = 0
    while True:
        with Session.begin() as session:
            n = queue.work(session, queue.batch)
        if not n:
            return
        done += n
        yield done
