"""PostgreSQL as the archive: URLs, column types, and many workers migrating at once.

The archive-level and chosen crawl tests already run on PostgreSQL through the ``db_url``
fixture; these are the parts that differ. Concurrent migration runs on SQLite as well,
where ``BEGIN IMMEDIATE`` rather than an advisory lock makes the workers take turns.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.dialects.postgresql import JSONB

from nianbao.models.db import make_engine, resolve_url

REPO = Path(__file__).resolve().parent.parent


def test_postgresql_urls_use_psycopg3():
    for given in ("postgresql://u@db.internal:5433/nianbao", "postgres://u@db.internal/nianbao"):
        assert resolve_url(given).startswith("postgresql+psycopg://u@db.internal")
    assert resolve_url("postgresql+psycopg://u@h/x") == "postgresql+psycopg://u@h/x"


@pytest.mark.backend("sqlite", "postgresql")
def test_workers_starting_together_migrate_a_new_database_once(db_url):
    # Separate processes, as workers on several machines would be (Alembic's context is
    # process-global, so threads would not show anything).
    # Each imports everything, says so, and waits for the word to go: all four then
    # migrate within milliseconds of each other.
    code = (
        "import sys; from models.db import upgrade; import alembic.command, models.tables;"
        "print('ready', flush=True); sys.stdin.readline(); upgrade(sys.argv[1])"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, db_url],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [(p, *p.communicate(timeout=120)) for p in procs]
    for p, _out, err in results:
        assert p.returncode == 0, err
    engine = make_engine(db_url)
    with engine.connect() as conn:
        heads = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    assert len(heads) == 1


@pytest.mark.backend("postgresql")
def test_json_columns_are_jsonb(db_url):
    from nianbao.models.db import upgrade

    upgrade(db_url)
    engine = make_engine(db_url)
    columns = {c["name"]: c["type"] for c in inspect(engine).get_columns("versions")}
    engine.dispose()
    for name in ("meta", "removed", "flags"):
        assert isinstance(columns[name], JSONB), (name, columns[name])
