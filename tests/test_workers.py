"""The cleaning processes driven from the event loop (pipelines/workers.py): real processes,
real sockets. The jobs are standard-library callables, so a spawned worker can unpickle them
as well as a forked one."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import time

import pytest

from nianbao.pipelines import workers


@pytest.fixture
def pool():
    p = workers.Pool(2)
    yield p
    p.close()


def test_every_job_gets_its_own_answer(pool):
    async def main():
        sizes = [i * 997 % 50_000 for i in range(300)]
        got = await asyncio.gather(*(pool.submit(len, b"x" * n) for n in sizes))
        assert got == sizes
        assert all(not w.jobs for w in pool.workers) and not pool.pending

    asyncio.run(main())


def test_a_body_larger_than_the_socket_takes_is_written_without_blocking(pool):
    """Megabytes to a worker still busy with the job before: what the socket does not take
    at once is written when it drains, and the loop goes on meanwhile."""

    async def main():
        sleeping = pool.submit(time.sleep, 0.3)
        ticks = 0

        async def tick():
            nonlocal ticks
            while not sleeping.done():
                ticks += 1
                await asyncio.sleep(0.01)

        big = [pool.submit(len, b"y" * 8_000_000) for _ in range(4)]
        ticker = asyncio.ensure_future(tick())
        assert await asyncio.gather(*big) == [8_000_000] * 4
        await sleeping
        await ticker
        assert ticks >= 5  # the loop was not held by a blocking write

    asyncio.run(main())


def test_a_worker_goes_on_cleaning_while_the_crawl_does_not_read_its_answers():
    """A busy reactor reads the workers' sockets only between its callbacks, and a socket
    holds a few cleaned pages: a worker that wrote its answers itself waited for the
    reactor instead of cleaning the next page. Here the loop is held for a second after
    AHEAD jobs of 1 MB answers went out; every job still ran within that second."""
    pool = workers.Pool(1)

    async def main():
        assert await pool.submit(len, b"up") == 2  # the worker is running
        jobs = []
        for _ in range(workers.AHEAD - 1):
            jobs.append(pool.submit(bytes, 1_000_000))  # far more than a socket holds
        # when the worker got to the last job, on the clock read below
        last = pool.submit(time.clock_gettime, time.CLOCK_MONOTONIC)
        assert not pool.pending  # all AHEAD are in the worker's hands
        time.sleep(1.0)  # the reactor busy: nothing is read
        held_until = time.clock_gettime(time.CLOCK_MONOTONIC)
        assert await asyncio.gather(*jobs) == [bytes(1_000_000)] * (workers.AHEAD - 1)
        return held_until, await last

    try:
        held_until, ran_at = asyncio.run(main())
    finally:
        pool.close()
    assert ran_at < held_until


def test_an_exception_comes_back_as_itself_with_the_workers_traceback(pool):
    async def main():
        with pytest.raises(ValueError, match="invalid literal") as info:
            await pool.submit(int, "十二")
        assert any("in the cleaning worker" in note for note in info.value.__notes__)
        assert await pool.submit(int, "12") == 12  # the worker is still there

    asyncio.run(main())


def test_an_answer_that_does_not_pickle_fails_its_job_only(pool):
    async def main():
        code = functools.partial(compile, filename="<job>", mode="eval")
        with pytest.raises(RuntimeError, match="pickle"):
            await pool.submit(code, "1 + 1")
        assert await pool.submit(len, "abc") == 3

    asyncio.run(main())


def test_a_killed_worker_fails_the_jobs_it_held_and_is_replaced(pool, caplog):
    caplog.set_level(logging.ERROR, logger="nianbao.pipelines.workers")

    async def main():
        first = pool.submit(time.sleep, 30)
        await asyncio.sleep(0.3)  # in a worker's hands
        victim = next(w for w in pool.workers if w.jobs)
        os.kill(victim.process.pid, signal.SIGKILL)
        with pytest.raises(workers.WorkerLost, match=r"exit -9"):
            await asyncio.wait_for(first, 10)
        assert len(pool.workers) == 2 and victim not in pool.workers
        assert await asyncio.gather(*(pool.submit(len, "x" * n) for n in range(20))) == list(
            range(20)
        )

    asyncio.run(main())
    assert any("with 1 page(s) in hand" in r.getMessage() for r in caplog.records)


def test_the_jobs_a_dead_worker_held_are_tried_again_alone_and_only_its_killer_fails(caplog):
    """One worker holding a queue of jobs, the second of which ends its process (as a crash
    in a C parser would). Which job did it cannot be told from outside, so each is tried
    again alone on a new worker: the others are answered, the killer ends a second worker
    running alone and fails, and the pool goes on."""
    caplog.set_level(logging.ERROR, logger="nianbao.pipelines.workers")
    p = workers.Pool(1)

    async def main():
        before = p.submit(time.sleep, 0.3)
        killer = p.submit(os._exit, 3)
        behind = [p.submit(len, "x" * n) for n in range(10)]
        assert len(p.workers[0].jobs) == 12  # all in the first worker's hands
        got = await asyncio.wait_for(
            asyncio.gather(before, killer, *behind, return_exceptions=True), 60
        )
        return [*got, await asyncio.wait_for(p.submit(len, "later"), 10)]

    try:
        got = asyncio.run(main())
    finally:
        p.close()
    assert got[0] is None
    assert isinstance(got[1], workers.WorkerLost), got[1]
    assert "exit 3, running this page alone" in str(got[1])
    assert got[2:] == [*range(10), 5]
    assert p.replaced == 2  # the first worker, and the one the killer ended alone
    assert p.lost == 1
    assert p.account() == (
        f"cleaning workers: 2 ended and were started again; {p.tried_again} page(s) they"
        " held were tried again alone, 1 lost (each named in an error line)"
    )
    # every job it held but the sleep, which may have been answered before the crash
    assert p.tried_again in (11, 12)
    lines = [r.getMessage() for r in caplog.records]
    assert sum("page(s) in hand: each is tried again alone" in line for line in lines) == 1
    assert sum(line.endswith("exit 3, with 1 page(s) in hand") for line in lines) == 1


def test_a_new_event_loop_takes_the_pool_over(pool):
    async def job(text: str) -> int:
        return await asyncio.wait_for(pool.submit(len, text), 10)

    assert asyncio.run(job("ab")) == 2
    assert asyncio.run(job("abc")) == 3  # a second loop: the sockets are watched on it

    async def left_behind() -> None:
        # in both workers' hands when this loop ends; answered on the next one, dropped
        pool.submit(time.sleep, 0.2)
        pool.submit(time.sleep, 0.2)

    asyncio.run(left_behind())
    assert asyncio.run(job("abcd")) == 4


def test_close_ends_the_workers():
    p = workers.Pool(2)
    procs = [w.process for w in p.workers]
    assert all(proc.is_alive() for proc in procs)
    p.close()
    assert not any(proc.is_alive() for proc in procs)


def test_below_waits_until_the_backlog_falls_under_the_mark():
    p = workers.Pool(1)
    try:

        async def main():
            jobs = [p.submit(time.sleep, 0.01) for _ in range(workers.AHEAD + 30)]
            assert p.backlog() == 30
            await asyncio.wait_for(p.below(10), 30)
            assert p.backlog() < 10
            await asyncio.wait_for(p.below(100), 1)  # already below: at once
            await asyncio.gather(*jobs)

        asyncio.run(main())
    finally:
        p.close()


def test_downloads_wait_while_cleaning_is_far_behind(monkeypatch):
    """crawler.middlewares.CleaningBackpressure: a request passes at once while the backlog
    is under NIANBAO_CLEAN_BACKLOG, and waits for it to halve when it is not."""
    from scrapy.http import Request

    from nianbao.crawler.middlewares import CleaningBackpressure
    from nianbao.pipelines import stage

    p = workers.Pool(1)
    monkeypatch.setattr(stage, "_pool", p)
    mw = CleaningBackpressure(limit=20)
    try:

        async def main():
            await asyncio.wait_for(mw.process_request(Request("http://a/")), 1)  # no backlog
            jobs = [p.submit(time.sleep, 0.01) for _ in range(workers.AHEAD + 40)]
            assert p.backlog() >= 20
            await asyncio.wait_for(mw.process_request(Request("http://a/")), 30)
            assert p.backlog() < 10
            await asyncio.gather(*jobs)

        asyncio.run(main())
    finally:
        p.close()
