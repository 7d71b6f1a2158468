"""What a saturated crawl's writer puts off, and working it off.

Three queues, in the order they are worked off: versions whose table cells wait
(migration 0016, :mod:`models.figures`), versions whose comparison with their look-alikes
waits (migration 0014, :mod:`models.neardup`) and versions waiting for the search index
(migrations 0013 and 0015, :mod:`models.search`). The crawl's idle writer takes
small batches (``idle_batch``) of the first that is not empty (``models.writer``);
``nianbao index`` and the benchmark that times it work them off to the end with
:func:`work_off`, so they cannot differ in what they do, or in which order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from nianbao.models import figures, neardup, search


@dataclass(frozen=True)
class Queue:
    name: str  # as the CLI says it
    verb: str  # what was done to each version
    pending: Callable[[Session], int]
    work: Callable[[Session, int], int]  # up to n versions off the queue; how many
    batch: int  # versions a transaction, worked off to the end (`nianbao index`)
    # Versions a transaction for the crawl's idle writer, between two jobs: small, so that a
    # job arriving waits a fraction of a second (≈ 0.1 s).
    idle_batch: int
    meanwhile: str  # after "N versions queued": what happens to them, and until then


QUEUES = (
    Queue(
        "figures",
        "parsed",
        figures.pending,
        figures.store_pending,
        256,
        16,
        "for their table cells (parsed when a core is spare; the figures commands parse them "
        "meanwhile; `nianbao index` stores them now)",
    ),
    Queue(
        "near-duplicates",
        "compared",
        neardup.pending,
        neardup.link_pending,
        64,
        8,
        "for comparison (done when a core is spare; `similar` and the web pages compute them "
        "meanwhile; `nianbao index` stores them now)",
    ),
    Queue(
        "search index",
        "indexed",
        search.pending,
        search.index_pending,
        256,
        16,
        "(indexed when a core is spare; search finds them meanwhile by scanning; "
        "`nianbao index` indexes them now)",
    ),
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
