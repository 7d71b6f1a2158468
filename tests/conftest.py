"""Shared fixtures: seed reports, a fresh archive per test, local portals, the CLI.

Crawls run the real ``nianbao`` CLI in a subprocess (Scrapy's reactor starts once per
process) against a portal served from this test process on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nianbao.localportal import Portal, PortalServer
from nianbao.portalgen import Report, county_portal, seed_reports

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
]


@pytest.fixture(scope="session")
def seeds() -> dict[str, tuple[str, list[str]]]:
    return seed_reports(SEEDS)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A SQLite archive file of this test's own."""
    return f"sqlite:///{tmp_path / 'archive.sqlite'}"


def cli(
    db: str, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``nianbao`` with ``--db`` in a subprocess; return the finished process."""
    full_env = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
    full_env.pop("NIANBAO_DB", None)
    command = [*NIANBAO, *args, "--db", db]
    proc = subprocess.run(command, capture_output=True, text=True, env=full_env, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{command} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def cli_json(db: str, *args: str) -> Any:
    return json.loads(cli(db, *args, "--json").stdout)


def crawl(db: str, url: str, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return cli(db, "crawl", "--url", url, *FAST, *extra, check=check)


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
