"""Shared fixtures: seed reports, a fresh archive per test, local portals, the CLI.

Crawls run the real ``nianbao`` CLI in a process of their own (Scrapy's reactor starts once
per process: a child forked from an interpreter that has the command imported,
tests/zygote.py) against a portal served from this test process on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from nianbao.demo.portalgen import Report, county_portal, seed_reports
from nianbao.demo.server import Portal, PortalServer
from nianbao.models.db import open_archive, sessionmaker_for
from tests import commands

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = FIXTURES / "seeds"
NIANBAO = [sys.executable, "-m", "nianbao"]
FAST = [
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "NIANBAO_PROGRESS_INTERVAL=0",
    # A test's second crawl stands for the next night's: every report due again (the
    # revisit schedule itself: tests/test_revisit.py, which sets it back).
    "-s",
    "NIANBAO_REVISIT_MIN=0",
]


@pytest.fixture(scope="session")
def seeds() -> dict[str, tuple[str, list[str]]]:
    return seed_reports(SEEDS)


PG_ENV = "NIANBAO_TEST_PG"
REDIS_ENV = "NIANBAO_TEST_REDIS"


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backend(name): run this db_url test only on the named archive backend"
    )
    config.addinivalue_line(
        "markers",
        "uncompressed(reason): this test's portals may never compress (say why; see"
        " portals_compress)",
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    pg = os.environ.get(PG_ENV)
    redis = os.environ.get(REDIS_ENV)
    return [
        f"archive backends: {', '.join(backends())}"
        + ("" if pg else f" (set {PG_ENV} to also test PostgreSQL)"),
        f"redis frontier: {redis if redis else f'not tested (set {REDIS_ENV})'}",
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backend")
    if marker is not None:
        wanted = set(marker.args)
    elif "serve" in metafunc.fixturenames:  # a crawl: opt in to PostgreSQL with the marker
        wanted = {"sqlite"}
    else:
        wanted = set(backends())
    chosen: list[Any] = [b for b in backends() if b in wanted]
    if not chosen:  # a PostgreSQL-only test without NIANBAO_TEST_PG: say why it did not run
        reason = f"needs {', '.join(sorted(wanted))}: set {PG_ENV} to a server URL"
        chosen = [pytest.param(sorted(wanted)[0], marks=pytest.mark.skip(reason=reason))]
    metafunc.parametrize("db_url", chosen, indirect=True)


def _pg_admin_url() -> str:
    """``$NIANBAO_TEST_PG`` as a psycopg connection string (no SQLAlchemy driver suffix)."""
    return os.environ[PG_ENV].replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL server to create test databases on; fails the run if unreachable."""
    import psycopg

    url = _pg_admin_url()
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.fail(f"{PG_ENV}={url} is set but the server cannot be reached: {exc}", False)
    return url


@contextmanager
def pg_database(admin_url: str, tag: str = "test") -> Iterator[str]:
    """A new, empty database on the server of ``admin_url``; dropped on exit."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = f"nianbao_{tag}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty archive of this test's own: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.sqlite'}"
        return
    with pg_database(request.getfixturevalue("pg_server")) as url:
        yield url


# Commands that start a reactor, a server, a pager or child processes of their own run in
# a subprocess, as a user runs them; every other (read) command runs in this process through
# click's test runner: the same command object, arguments and exit code, without ~0.5 CPU-s of
# interpreter start-up and imports per call (hundreds of calls: a large share of the suite).
_SUBPROCESS_ONLY = {"crawl", "serve", "demo", "reprocess"}
# Of those, the ones run in a child forked from an interpreter that imported the command
# already (tests/zygote.py says why, and what is the same): not the demo, a user's first
# command, nor serve, which tests start and stop themselves. NIANBAO_TEST_FRESH=1: none.
_FORKED = set() if os.environ.get("NIANBAO_TEST_FRESH") else {"crawl", "reprocess"}


def _invoke(command: list[str], env: dict[str, str] | None = None) -> Any:
    """``nianbao COMMAND`` through click's test runner, in this process; its Result."""
    from click.testing import CliRunner

    from nianbao.cli import main

    runner_env: dict[str, str | None] = {"NIANBAO_DB": None, **(env or {})}
    return CliRunner(env=runner_env).invoke(main, command, catch_exceptions=False)


def _in_process(command: list[str], env: dict[str, str] | None) -> subprocess.CompletedProcess[str]:
    result = _invoke(command, env)
    return subprocess.CompletedProcess(
        [*NIANBAO, *command], result.exit_code, result.stdout, result.stderr
    )


def cli(
    db: str, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``nianbao`` with ``--db``; return the finished process (see ``_SUBPROCESS_ONLY``)."""
    full_env = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
    full_env.pop("NIANBAO_DB", None)
    command = [*NIANBAO, *args, "--db", db]
    if args and args[0] not in _SUBPROCESS_ONLY and not (env or {}).get("PAGER"):
        proc = _in_process([*args, "--db", db], env)
    elif args and args[0] in _FORKED:
        proc = commands.run(command, [*args, "--db", db], full_env, timeout=300)
    else:
        proc = subprocess.run(command, capture_output=True, text=True, env=full_env, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{command} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def cli_json(db: str, *args: str) -> Any:
    return json.loads(cli(db, *args, "--json").stdout)


def cli_bytes(db: str, *args: str) -> bytes:
    """A read command's stdout as bytes (``nianbao raw``), run in this process as :func:`cli`
    runs read commands: a new interpreter a call cost more than the rest of a test that
    reads every capture. tests/test_wire.py runs ``raw`` as a user does, through a pipe."""
    result = _invoke([*args, "--db", db])
    assert result.exit_code == 0, f"{args} exited {result.exit_code}: {result.stderr}"
    return result.stdout_bytes


def crawl(db: str, url: str, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return cli(db, "crawl", "--url", url, *FAST, *extra, check=check)


@pytest.fixture(autouse=True)
def portals_compress(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[Portal]]:
    """Fail a test whose portal was asked for gzip and never compressed anything.

    Nearly every real portal compresses; the binary guard once stopped every gzipped page
    and no test noticed, because no test portal compressed (issue 11). So every portal a
    test serves, through :func:`serve` or a :class:`PortalServer` of its own, must have sent
    at least one compressed answer if a client accepting gzip asked it for text. A test
    that means to serve plain bytes says so with ``@pytest.mark.uncompressed("why")``.
    """
    served: list[Portal] = []
    enter = PortalServer.__enter__

    def recording_enter(self: PortalServer) -> PortalServer:
        served.append(self.portal)
        return enter(self)

    monkeypatch.setattr(PortalServer, "__enter__", recording_enter)
    yield served
    marker = request.node.get_closest_marker("uncompressed")
    if marker is not None:
        if not (marker.args and str(marker.args[0]).strip()):
            pytest.fail("@pytest.mark.uncompressed needs a reason: why is nothing compressed?")
        return
    plain = [p for p in served if p.never_compressed]
    if plain:
        pytest.fail(
            f"{len(plain)} portal(s) served {', '.join(str(p.gzip_accepted) for p in plain)}"
            " text answer(s) to clients accepting gzip and compressed none: real portals"
            " compress; keep Portal(encoding='gzip') or mark the test"
            ' @pytest.mark.uncompressed("why")',
            pytrace=False,
        )


@pytest.fixture
def serve() -> Iterator[Callable[[Portal], PortalServer]]:
    """Start servers for portals; all are stopped after the test."""
    servers: list[PortalServer] = []

    def start(portal: Portal) -> PortalServer:
        server = PortalServer(portal).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def county(seeds: dict[str, tuple[str, list[str]]]) -> Portal:
    """A county portal with three seed reports (TRS UTF-8, Hanweb GBK, DOCX attachment)."""
    t0, l0 = seeds["000"]
    t2, l2 = seeds["002"]
    _t1, l1 = seeds["001"]
    return county_portal(
        [
            Report("1001", t2, l2, "2015-01-20", "trs"),
            Report("1002", t0, l0, "2014-03-05", "hanweb"),
            Report(
                "1003",
                "王家山镇2018年政府信息公开工作年度报告",
                l1[2:],
                "2019-01-15",
                attachment=True,
            ),
        ],
        "方正县",
    )


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A session on this test's own archive (migrated), for tests of the models."""
    engine = open_archive(db_url)
    with sessionmaker_for(engine)() as s:
        yield s
    engine.dispose()
