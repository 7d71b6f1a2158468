"""Read commands are readers: they never migrate, never create, never wait for a writer."""

from __future__ import annotations

import sqlite3
import subprocess
import time

from nianbao.models.db import open_archive
from tests.conftest import NIANBAO

READ_COMMANDS = [
    ["reports"],
    ["versions", "1"],
    ["show", "1"],
    ["captures", "1"],
    ["search", "年度报告"],
    ["runs"],
    ["verify"],
]


def _run(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NIANBAO, *args, "--db", db], capture_output=True, text=True, timeout=120
    )


def test_a_read_command_on_a_missing_archive_creates_nothing(tmp_path):
    target = tmp_path / "no" / "such" / "archive.sqlite"
    for args in READ_COMMANDS:
        proc = _run(str(target), *args)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert "no archive at" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "no").exists()


def test_a_reader_finishes_while_a_writer_holds_the_lock(tmp_path):
    db = tmp_path / "archive.sqlite"
    open_archive(str(db)).dispose()
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # what a crawl's write transaction holds
    writer.execute(
        "INSERT INTO sources (name, config, created_at) VALUES ('x', '{}', '2026-01-01')"
    )
    try:
        started = time.monotonic()
        proc = _run(str(db), "reports", "--json")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "[]"
        proc = _run(str(db), "verify")
        assert proc.returncode == 0, proc.stderr
        assert time.monotonic() - started < 30  # not the 60 s busy timeout
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_schema_behind_the_code_names_the_upgrade(tmp_path):
    db = tmp_path / "archive.sqlite"
    open_archive(str(db)).dispose()
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = '0003'")
    con.commit()
    con.close()
    proc = _run(str(db), "reports")
    assert proc.returncode == 1 and "nianbao db upgrade" in proc.stderr


def test_a_read_only_engine_serves_many_threads_at_once(tmp_path):
    """A crawl reads stored bodies for its 304s from asyncio's worker threads through one
    read-only engine. SQLAlchemy's default pool for such an engine (SingletonThreadPool)
    closed a thread's connection while it was in use once a sixth thread connected: the
    process died with SIGSEGV in the middle of a recrawl of 30 portals."""
    import threading

    from sqlalchemy import text

    from nianbao.models.db import make_engine

    db = tmp_path / "archive.sqlite"
    open_archive(str(db)).dispose()
    engine = make_engine(str(db), read_only=True)
    threads_n = 12
    all_connected = threading.Barrier(threads_n)
    results: list[object] = []

    def read() -> None:
        try:
            with engine.connect() as conn:
                all_connected.wait(timeout=30)  # every thread holds its connection now
                results.append(conn.execute(text("SELECT count(*) FROM reports")).scalar_one())
        except Exception as exc:  # noqa: BLE001 - reported below
            results.append(exc)

    workers = [threading.Thread(target=read) for _ in range(threads_n)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=60)
    engine.dispose()
    assert results == [0] * threads_n
