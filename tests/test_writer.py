"""The crawl process's archive writer (models/writer.py): one per archive, group commit,
each job in its own savepoint, an answer only after the commit, and a clear failure when
the writer process is gone."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from nianbao.models import archive
from nianbao.models.db import open_reader, sessionmaker_for
from nianbao.models.tables import Source
from nianbao.models.writer import WriteFailed, Writer


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


def test_a_dead_writer_fails_every_job_instead_of_hanging(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    writer = Writer.acquire(url)
    try:
        assert writer.call(add_source, "a") == "a"
        writer.process.kill()
        writer.process.join()
        with pytest.raises(WriteFailed, match="writer process ended") as failed:
            writer.submit(add_source, "b").result(timeout=30)
        assert failed.value.kind == "operational"
    finally:
        writer.release()
    assert _names(url) == {"a"}
