"""The crawl process's archive writer (models/writer.py): one per archive, group commit,
a job that raises rolled back alone, an answer only after the commit, and a clear failure when
the writer process is gone."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading

import pytest
from sqlalchemy import insert, select

from nianbao.models import archive
from nianbao.models.db import open_reader, sessionmaker_for
from nianbao.models.tables import Source
from nianbao.models.writer import WriteFailed, Writer
from nianbao.pipelines import background


def add_source(session, name: str) -> str:
    archive.get_or_create_source(session, name)
    return name


def add_then_fail(session, name: str) -> None:
    archive.get_or_create_source(session, name)
    session.flush()
    raise ValueError(f"{name} fails")


def duplicate_source(session, name: str) -> None:
    session.execute(insert(Source.__table__).values(name=name, config={}))


def _names(url: str) -> set[str]:
    engine = open_reader(url)
    try:
        with sessionmaker_for(engine)() as session:
            return set(session.scalars(select(Source.name)))
    finally:
        engine.dispose()


def test_jobs_share_a_writer_and_a_failing_one_is_rolled_back_alone(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    writer = Writer.acquire(url)
    try:
        assert Writer.acquire(url) is writer  # a second source of the process: the same one
        writer.release()
        futures = [
            writer.submit(add_source, "a"),
            writer.submit(add_then_fail, "b"),
            writer.submit(add_source, "c"),
            writer.submit(duplicate_source, "a"),
        ]
        assert futures[0].result(timeout=60) == "a"
        with pytest.raises(WriteFailed, match="b fails") as failed:
            futures[1].result(timeout=60)
        assert failed.value.kind == "error"
        assert futures[2].result(timeout=60) == "c"
        with pytest.raises(WriteFailed) as duplicate:
            futures[3].result(timeout=60)
        assert duplicate.value.kind == "integrity"
        assert _names(url) == {"a", "c"}  # answered: committed, and readable by others
    finally:
        writer.release()
    assert not writer.process.is_alive()


def test_a_batch_takes_savepoints_only_when_a_job_fails(tmp_path, monkeypatch) -> None:
    """No job fails: one transaction, no savepoint (they cost the writer 12-17 % of its CPU
    a report). One fails: the batch is written again with a savepoint a job, and only the
    failing job's rows are missing."""
    from sqlalchemy import event

    from nianbao.models import writer

    monkeypatch.setattr(writer, "MAX_BATCH_SECONDS", 3600.0)  # whole batches, however slow
    from nianbao.models.db import open_archive

    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    engine = open_archive(url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    factory = sessionmaker_for(engine)
    good = [(i, add_source, (name,), {}) for i, name in enumerate("abc")]
    outcomes, rest = writer._write(factory, good)
    assert [(jid, ok) for jid, ok, _ in outcomes] == [(0, True), (1, True), (2, True)]
    assert not rest and not [s for s in statements if "SAVEPOINT" in s.upper()]
    statements.clear()
    mixed = [(0, add_source, ("d",), {}), (1, add_then_fail, ("e",), {})]
    mixed += [(2, duplicate_source, ("a",), {}), (3, add_source, ("f",), {})]
    outcomes, rest = writer._write(factory, mixed)
    assert [(jid, ok) for jid, ok, _ in outcomes] == [(0, True), (1, False), (2, False), (3, True)]
    assert "e fails" in str(outcomes[1][2]) and not rest
    assert len([s for s in statements if s.upper().startswith("SAVEPOINT")]) == 4
    engine.dispose()
    assert _names(url) == {"a", "b", "c", "d", "f"}


def test_jobs_from_an_event_loop_are_answered_on_that_loop(tmp_path) -> None:
    """The reactor's case: the futures are the loop's own (no thread resolves them), a
    job that does not pickle fails alone, and a dead writer fails what was in flight."""
    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    writer = Writer.acquire(url)

    async def crawl() -> None:
        loop = asyncio.get_running_loop()
        futures = [writer.submit(add_source, f"s{i}") for i in range(50)]
        assert all(asyncio.isfuture(f) and f.get_loop() is loop for f in futures)
        assert await asyncio.gather(*futures) == [f"s{i}" for i in range(50)]
        with pytest.raises(WriteFailed, match="pickle") as failed:
            await writer.submit(add_source, lambda: "not picklable")
        assert failed.value.kind == "error"
        assert await writer.submit(add_source, "after") == "after"
        assert threading.active_count() == threads_before  # nothing but the loop served them
        writer.process.kill()
        with pytest.raises(WriteFailed, match="writer process ended"):
            await asyncio.wait_for(writer.submit(add_source, "lost"), 30)

    threads_before = threading.active_count()
    try:
        asyncio.run(crawl())
    finally:
        writer.release()
    assert _names(url) == {f"s{i}" for i in range(50)} | {"after"}


def test_release_writes_what_a_finished_loop_left_unanswered(tmp_path) -> None:
    """A graceful stop drains the queue: jobs a loop submitted and never awaited (still in
    the crawl's buffer or the socket when the loop ended) are written by release()."""
    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    writer = Writer.acquire(url)
    futures = []

    async def crawl() -> None:
        futures.extend(writer.submit(add_source, f"late{i}" + "x" * 20_000) for i in range(40))

    asyncio.run(crawl())
    writer.release()
    assert _names(url) == {f"late{i}" + "x" * 20_000 for i in range(40)}
    assert not writer.process.is_alive()


def test_a_writer_outlives_the_loop_that_served_it(tmp_path) -> None:
    """Jobs after that loop ended (a caller with no loop, then another loop) are served."""
    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    writer = Writer.acquire(url)

    async def job(name: str) -> str:
        # as the crawl awaits a job: either kind of future
        return await asyncio.wait_for(asyncio.wrap_future(writer.submit(add_source, name)), 30)

    try:
        assert asyncio.run(job("first")) == "first"
        assert writer.submit(add_source, "no loop").result(timeout=30) == "no loop"
        assert asyncio.run(job("second loop")) == "second loop"
    finally:
        writer.release()
    assert _names(url) == {"first", "no loop", "second loop"}


def test_a_dead_writer_fails_every_job_instead_of_hanging(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    writer = Writer.acquire(url)
    try:
        assert writer.submit(add_source, "a").result(timeout=30) == "a"
        writer.process.kill()
        writer.process.join()
        with pytest.raises(WriteFailed, match="writer process ended") as failed:
            writer.submit(add_source, "b").result(timeout=30)
        assert failed.value.kind == "operational"
    finally:
        writer.release()
    assert _names(url) == {"a"}


def test_the_idle_writer_indexes_the_search_queue_only_with_a_core_to_spare(
    tmp_path, seeds, monkeypatch
) -> None:
    """Migration 0013: versions wait for the search index; the writer works the queue off
    between jobs, in transactions of its idle batch, and only while the machine has a core to
    spare (a busy machine keeps the crawl's CPU for the crawl)."""
    import queue

    from nianbao.models import search, writer
    from nianbao.models.db import open_archive
    from tests.test_search import _store

    monkeypatch.setattr(writer, "IDLE_LOOK", 0.01)
    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    engine = open_archive(url)
    Session = sessionmaker_for(engine)
    title, lines = seeds["002"]
    with Session() as session:
        for i in range(20):
            _store(session, title, [f"第{i}号报告。", *lines], url=f"http://a.gov.cn/{i}.html")

    def queued() -> int:
        with Session() as session:
            return search.pending(session)

    jobs: queue.Queue = queue.Queue()
    idle = writer._IdleIndexer(Session)
    seen: list[int] = []

    def busy() -> bool:
        seen.append(queued())
        if len(seen) == 3:
            jobs.put("a job")
        return False

    idle.spare = busy
    assert idle.next_job(jobs) == "a job"
    assert seen == [20, 20, 20]  # looked three times, indexed nothing

    seen.clear()

    def spare() -> bool:
        seen.append(queued())
        if seen[-1] == 0:
            jobs.put("the next job")
        return True

    idle.spare = spare
    assert idle.next_job(jobs) == "the next job"
    from nianbao.models.queued import QUEUES

    batch = next(q for q in QUEUES if q.work is search.index_pending).idle_batch
    assert 0 < batch < 20
    assert seen == [20, 20 - batch, 0]
    with Session() as session:
        # one organ and year: one report, twenty versions
        assert [h["version"] for h in search.search(session, "第7号报告")] == [8]
    engine.dispose()


def test_without_proc_stat_no_core_counts_as_spare(monkeypatch) -> None:
    from nianbao.pipelines.background import SpareCore

    monkeypatch.setattr(SpareCore, "_read", staticmethod(lambda: None))
    assert SpareCore()() is False


def test_a_core_is_spare_only_while_nobody_waits_for_one(monkeypatch) -> None:
    """The idle indexer's test (``/proc/stat`` as read): an idle core, or one this process
    has been using, counts only while no more tasks are runnable than there are cores, so
    indexing already under way stops as soon as the cleaning workers queue for the CPU."""
    from nianbao.pipelines.background import SpareCore

    reads = iter(
        [
            (0.0, 0.0, 0.0, 1),  # the first look, at start
            (1.0, 2.0, 0.0, 1),  # 1 s: one of 2 cores idle, 1 task runnable
            (1.0, 4.0, 0.95, 2),  # 2 s: no idle time, 0.95 core was ours, 2 runnable
            (1.0, 4.2, 1.05, 3),  # 0.1 s later: 3 runnable on 2 cores
            (1.2, 6.0, 1.2, 2),  # 3 s: the other core busy, ours mostly used by others
        ]
    )
    monkeypatch.setattr(SpareCore, "_read", staticmethod(lambda: next(reads)))
    spare = SpareCore()
    spare.ncpu = 2
    assert spare() is True
    assert spare() is True  # indexing: the core is ours, nobody queued for it
    assert spare() is False  # the cleaners want it back
    assert spare() is False  # since 2 s: 0.2 s idle + 0.25 s ours, of 1 s


def test_a_writer_behind_the_crawl_queues_comparisons_and_works_them_off_when_idle(
    tmp_path, seeds, monkeypatch
) -> None:
    """Migration 0014: a batch of more than one job means the writer is behind the crawl:
    its new versions are queued unsigned; a lone job is signed and compared at once, unless
    unsigned versions wait (it could not find them): then it waits behind them. The idle
    writer (a core to spare) signs and compares the queued ones, oldest first, before it
    indexes for search, its idle batch a transaction, and stores the links a lone job would
    have."""
    import dataclasses
    import queue
    from datetime import UTC, datetime

    from nianbao.models import jobs, neardup, queued, search, writer
    from nianbao.models.archive import CaptureIn
    from nianbao.models.db import open_archive
    from nianbao.models.tables import VersionBand, VersionLink, VersionSignature
    from nianbao.pipelines.derive import derive

    monkeypatch.setattr(writer, "IDLE_LOOK", 0.01)
    monkeypatch.setattr(
        queued,
        "QUEUES",
        tuple(
            dataclasses.replace(q, idle_batch=2) if q.work is neardup.link_pending else q
            for q in queued.QUEUES
        ),
    )
    monkeypatch.setattr(writer, "MAX_BATCH_SECONDS", 3600.0)  # whole batches, however slow
    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    engine = open_archive(url)
    Session = sessionmaker_for(engine)
    title, lines = seeds["002"]

    def job(i: int) -> tuple:
        organ = f"{i}号局"
        page = f"<html><head><title>{organ}{title}</title></head><body>" + "".join(
            f"<p>{line}</p>" for line in [f"本报告由{organ}编制。", *lines]
        )
        raw = (page + "</body></html>").encode()
        page_url = f"http://a.gov.cn/{i}.html"
        doc = derive(raw, page_url)
        cap = CaptureIn("a", page_url, 200, datetime(2024, 3, 1, tzinfo=UTC), body=raw)
        return (i, jobs.store_capture, ("page", cap, doc.slim(), organ, None), {})

    def state() -> tuple[int, int]:
        with Session() as session:
            return neardup.pending(session), session.query(VersionLink).count()

    def signed() -> tuple[int, int]:
        with Session() as session:
            return session.query(VersionSignature).count(), session.query(VersionBand).count()

    outcomes, rest = writer._write(Session, [job(0)])  # alone: compared at once (nothing older)
    assert rest == [] and all(ok for _, ok, _ in outcomes)
    outcomes, rest = writer._write(Session, [job(1), job(2), job(3)])  # behind: queued
    assert rest == [] and all(ok for _, ok, _ in outcomes), outcomes
    assert state() == (3, 0)
    assert signed() == (1, 42)  # job 0 only
    writer._write(Session, [job(4)])  # alone, but behind three unsigned: queued
    assert state() == (4, 0) and signed() == (1, 42)

    requests: queue.Queue = queue.Queue()
    idle = writer._IdleIndexer(Session)
    seen: list[tuple[int, int]] = []

    def spare() -> bool:
        seen.append(state())
        with Session() as session:
            if not search.pending(session):
                requests.put("the next job")
        return True

    idle.spare = spare
    assert idle.next_job(requests) == "the next job"
    # their (empty) table cells first, then 2 compared (job 1: 1 link, job 2: 2), then 2
    # (job 3: 3, job 4: 4), then the search queue
    assert seen[:4] == [(4, 0), (4, 0), (2, 3), (0, 10)]
    assert signed() == (5, 5 * 42)
    # alone, but the machine has no core to spare (the writer's own test, in _serve): queued
    outcomes, rest = writer._write(Session, [job(5)], defer=True)
    assert rest == [] and all(ok for _, ok, _ in outcomes), outcomes
    assert state() == (1, 10) and signed() == (5, 5 * 42)
    engine.dispose()


def store_then_fail(session, *args) -> None:
    from nianbao.models import jobs

    jobs.store_capture(session, *args)
    raise ValueError("fails after storing")


def test_a_batch_queues_its_versions_in_one_statement_a_queue_and_drops_a_failed_jobs(
    tmp_path, seeds, monkeypatch
) -> None:
    """A busy writer's new versions are queued for comparison and for their table cells at
    the batch's end, one INSERT a queue; a job rolled back in its savepoint leaves nothing
    queued (its version is gone: a queued id would break the batch's commit)."""
    from datetime import UTC, datetime

    from sqlalchemy import event

    from nianbao.models import jobs, writer
    from nianbao.models.archive import CaptureIn
    from nianbao.models.db import open_archive
    from nianbao.models.tables import FiguresPending, Version, VersionLinkPending
    from nianbao.pipelines.derive import derive

    monkeypatch.setattr(writer, "MAX_BATCH_SECONDS", 3600.0)  # whole batches, however slow
    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    engine = open_archive(url)
    Session = sessionmaker_for(engine)
    title, lines = seeds["002"]
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def job(i: int, fn=jobs.store_capture) -> tuple:
        organ = f"{i}号局"
        page = f"<html><head><title>{organ}{title}</title></head><body>" + "".join(
            f"<p>{line}</p>" for line in [f"本报告由{organ}编制。", *lines]
        )
        raw = (page + "</body></html>").encode()
        page_url = f"http://a.gov.cn/{i}.html"
        cap = CaptureIn("a", page_url, 200, datetime(2024, 3, 1, tzinfo=UTC), body=raw)
        return (i, fn, ("page", cap, derive(raw, page_url).slim(), organ, None), {})

    def queued() -> tuple[list[int], list[int], list[int]]:
        with Session() as session:
            return (
                sorted(session.scalars(select(Version.id))),
                sorted(session.scalars(select(VersionLinkPending.version_id))),
                sorted(session.scalars(select(FiguresPending.version_id))),
            )

    outcomes, rest = writer._write(Session, [job(0), job(1), job(2)])
    assert rest == [] and all(ok for _, ok, _ in outcomes), outcomes
    versions, links, cells = queued()
    assert len(versions) == 3 and links == versions and cells == versions
    inserts = [s for s in statements if s.upper().startswith("INSERT INTO")]
    assert len([s for s in inserts if "version_links_pending" in s]) == 1
    assert len([s for s in inserts if "figures_pending" in s]) == 1

    outcomes, rest = writer._write(Session, [job(3), job(4, store_then_fail), job(5)])
    assert [(jid, ok) for jid, ok, _ in outcomes] == [(3, True), (4, False), (5, True)]
    assert "fails after storing" in str(outcomes[1][2])
    versions, links, cells = queued()
    assert len(versions) == 5 and links == versions and cells == versions
    engine.dispose()


_FORK_PROBE = """
import gc, json, multiprocessing, sys
from nianbao import crawl
from nianbao.sources import SourceConfig

seen = []
frozen = []

def look():  # just before the reactor starts: which helpers run, and how were they started?
    frozen.append(gc.get_freeze_count())
    for p in multiprocessing.active_children():
        with open(f"/proc/{p.pid}/cmdline", "rb") as f:
            seen.append(f.read().decode(errors="replace"))

url, db = sys.argv[1], sys.argv[2]
fast = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "LOG_LEVEL": "WARNING"}
results = crawl.run([SourceConfig("county", [url])], db, fast, before_start=look)
print(json.dumps({"helpers": seen, "frozen": frozen, "new_reports": [r.new_reports for r in results]}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="helpers fork on Linux only")
def test_a_crawl_forks_its_writer_and_cleaners_before_any_thread(serve, county, tmp_path) -> None:
    """A spawned helper imports everything again (≈ 2.4 of a one-portal crawl's 6.1 CPU-s,
    2026-11-30); the crawl forks its writer and its cleaning workers before the reactor,
    while it has one thread, and they archive as spawned ones did."""
    server = serve(county)
    db = f"sqlite:///{tmp_path / 'fork.sqlite'}"
    proc = subprocess.run(
        [sys.executable, "-c", _FORK_PROBE, server.url("/"), db],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(out["helpers"]) == 3, out  # the writer and NIANBAO_CLEAN_WORKERS = 2
    for cmdline in out["helpers"]:
        assert "spawn_main" not in cmdline, out  # a spawned helper runs multiprocessing.spawn
    assert out["new_reports"] == [3]
    # The imports were taken out of the collector before the fork (crawl._collect_less):
    # Scrapy, Twisted, SQLAlchemy and the cleaners are ~200,000 objects.
    assert out["frozen"][0] > 100_000, out["frozen"]


def test_a_helper_started_once_a_thread_runs_is_spawned() -> None:
    """Forking beside another thread could copy a lock it holds, held for ever."""
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert background.start_method() == "spawn"
    finally:
        release.set()
        other.join()


def test_a_batch_commits_once_it_has_worked_long_enough_and_leaves_the_rest(
    tmp_path, monkeypatch
) -> None:
    """A batch stops taking jobs after MAX_BATCH_SECONDS of work (at least one job is
    written), so a slow archive answers its first jobs without waiting for the whole
    batch; the rest come back untouched, to be written next."""
    from nianbao.models import writer
    from nianbao.models.db import open_archive

    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    engine = open_archive(url)
    factory = sessionmaker_for(engine)
    jobs = [(i, add_source, (name,), {}) for i, name in enumerate("abc")]
    monkeypatch.setattr(writer, "MAX_BATCH_SECONDS", -1.0)  # every job is "long enough"
    outcomes, rest = writer._write(factory, jobs)
    assert [(jid, ok) for jid, ok, _ in outcomes] == [(0, True)] and rest == jobs[1:]
    monkeypatch.setattr(writer, "MAX_BATCH_SECONDS", 3600.0)
    outcomes, rest = writer._write(factory, rest)
    assert [(jid, ok) for jid, ok, _ in outcomes] == [(1, True), (2, True)] and rest == []
    engine.dispose()
    assert _names(url) == {"a", "b", "c"}


def test_a_busy_writer_lingers_for_more_jobs_but_not_past_its_window(monkeypatch) -> None:
    """Group commit's linger: jobs arriving within LINGER_SECONDS join the batch, up to
    LINGER_JOBS (then it is written at once); a window with no job ends on time; the
    crawl's stop ends it too."""
    import multiprocessing
    import pickle
    import time

    from nianbao.models import writer

    ours, theirs = multiprocessing.Pipe(duplex=True)
    inbox = writer._Inbox(theirs)

    def send_later(*messages: object) -> None:
        for message in messages:
            time.sleep(0.01)
            ours.send_bytes(pickle.dumps(message))

    monkeypatch.setattr(writer, "LINGER_JOBS", 3)
    monkeypatch.setattr(writer, "LINGER_SECONDS", 30.0)
    batch: list[object] = ["first"]
    feeder = threading.Thread(target=send_later, args=("second", "third", "fourth"))
    started = time.monotonic()
    feeder.start()
    assert writer._linger(inbox, batch) is False
    assert batch == ["first", "second", "third"]  # full: written without the window's wait
    assert time.monotonic() - started < 10
    feeder.join()
    assert inbox.get(timeout=5) == "fourth"  # left for the next batch

    monkeypatch.setattr(writer, "LINGER_SECONDS", 0.05)
    started = time.monotonic()
    assert writer._linger(inbox, batch := ["alone"]) is False
    assert batch == ["alone"] and 0.05 <= time.monotonic() - started < 5

    monkeypatch.setattr(writer, "LINGER_SECONDS", 30.0)
    send_later(None)  # the crawl's stop (writer._STOP)
    assert writer._linger(inbox, batch := ["last"]) is True and batch == ["last"]
    ours.close()
    theirs.close()


def test_the_writer_lingers_only_while_jobs_stream_in_on_a_busy_machine(monkeypatch) -> None:
    """A caller that waits for each answer (a run row opened, then finished) sends one job
    at a time: its batches never linger. Once a batch has more than one job, the next ones
    linger (on a busy machine only) until one catches nothing."""
    import multiprocessing
    import time

    from nianbao.models import writer

    ours, theirs = multiprocessing.Pipe(duplex=True)
    inbox = writer._Inbox(theirs)
    linger = writer._Linger()
    busy, spare = True, False  # the machine has no core to spare / has one
    monkeypatch.setattr(writer, "LINGER_SECONDS", 30.0)
    started = time.monotonic()
    assert linger(inbox, batch := ["alone"], busy) is False and batch == ["alone"]
    assert linger(inbox, batch := ["alone again"], busy) is False
    assert time.monotonic() - started < 10  # neither waited for the window
    monkeypatch.setattr(writer, "LINGER_SECONDS", 0.3)
    assert linger(inbox, batch := ["a", "b"], spare) is False  # a core to spare: no wait
    started = time.monotonic()
    assert linger(inbox, batch := ["c", "d"], busy) is False and batch == ["c", "d"]
    assert linger(inbox, batch := ["e"], busy) is False  # streaming: this one waited too
    assert time.monotonic() - started >= 0.6
    started = time.monotonic()
    assert linger(inbox, batch := ["f"], busy) is False  # the last caught nothing: no wait
    assert time.monotonic() - started < 0.3
    ours.close()
    theirs.close()


def test_a_job_waited_for_is_sent_at_once_and_its_batch_does_not_linger(
    tmp_path, monkeypatch
) -> None:
    """A source's close waits for three jobs one after another (its last list pages, its
    links, its run row) and the crawl ends with the last source's: such a job
    (``submit_now``) is not held back to travel with later ones, the linger ends when
    it arrives, and a batch holding it is written without waiting for more. A job of the
    stream (``submit``) still waits for its window."""
    import multiprocessing
    import pickle
    import time

    from nianbao.models import writer

    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    stream = Writer.acquire(url)

    async def crawl() -> None:
        assert await stream.submit(add_source, "first") == "first"  # the loop now serves it
        monkeypatch.setattr(writer, "SEND_WITHIN", 0.3)
        started = time.monotonic()
        assert await stream.submit(add_source, "second") == "second"
        assert time.monotonic() - started >= 0.3  # a stream's job waits for its window
        monkeypatch.setattr(writer, "SEND_WITHIN", 30.0)
        started = time.monotonic()
        held = stream.submit(add_source, "item")
        assert await asyncio.wait_for(stream.submit_now(add_source, "close"), 20) == "close"
        assert await asyncio.wait_for(held, 20) == "item"  # sent along with it
        assert time.monotonic() - started < 20

    try:
        asyncio.run(crawl())
    finally:
        stream.release()
    assert _names(url) == {"first", "second", "item", "close"}

    ours, theirs = multiprocessing.Pipe(duplex=True)
    inbox = writer._Inbox(theirs)
    monkeypatch.setattr(writer, "LINGER_SECONDS", 30.0)
    item, closing = (1, add_source, ("a",), {}, False), (2, add_source, ("b",), {}, True)
    for message in (item, closing, "after"):
        ours.send_bytes(pickle.dumps(message))
    started = time.monotonic()
    assert writer._linger(inbox, batch := [(0, add_source, ("z",), {}, False)]) is False
    assert batch[1:] == [item, closing] and time.monotonic() - started < 10
    assert inbox.get(timeout=5) == "after"  # left for the next batch

    linger, busy = writer._Linger(), True
    linger.streaming = True  # jobs have been streaming in: a batch of items would wait
    started = time.monotonic()
    assert linger(inbox, batch := [closing], busy) is False and batch == [closing]
    assert time.monotonic() - started < 10
    monkeypatch.setattr(writer, "LINGER_SECONDS", 0.2)
    linger.streaming = True
    started = time.monotonic()
    assert linger(inbox, batch := [item], busy) is False and batch == [item]
    assert time.monotonic() - started >= 0.2
    ours.close()
    theirs.close()
