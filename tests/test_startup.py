"""The command's start (imports done with the collector off, which must come back on) and its
end (without tearing the interpreter down, but with its exit status, every line it wrote,
and its exit handlers run)."""

from __future__ import annotations

import os
import subprocess
import sys

from click.testing import CliRunner

from nianbao.cli import main as cli_main
from nianbao.startup import exit_status
from tests.conftest import NIANBAO

_PROBE = """
import gc, sys
from nianbao.startup import uncollected_imports
with uncollected_imports():
    assert not gc.isenabled()
    import nianbao.cli
print(gc.isenabled(), gc.get_freeze_count())
try:
    with uncollected_imports():
        import nianbao.no_such_module  # a failed import must not leave it off either
except ImportError:
    pass
print(gc.isenabled())
"""


def test_the_cli_imports_are_frozen_and_the_collector_comes_back_on() -> None:
    """A long-running command (``serve``) with the collector left off would never free a
    reference cycle; one left on during the imports walks them again and again."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.split("\n")[:2]
    enabled, frozen = first.split()
    assert enabled == "True"
    assert int(frozen) > 50_000  # click, SQLAlchemy and the archive's tables
    assert second == "True"


def test_a_crawl_without_a_shared_frontier_does_not_import_redis() -> None:
    """scrapy-redis and the Redis client cost 65–130 ms of every crawl's start-up, on the
    one core a crawl starts on; only a crawl given ``--redis`` needs them."""
    probe = (
        "import sys, nianbao.cli\n"
        "from nianbao import crawl\n"
        "from nianbao.crawler import frontier\n"
        "print(sorted(m for m in ('redis', 'scrapy_redis') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_a_shared_frontier_without_scrapy_redis_says_how_to_install_it(monkeypatch) -> None:
    import importlib.util

    import pytest

    from nianbao.crawler import frontier

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "scrapy_redis" else real(name, *a),
    )
    with pytest.raises(frontier.FrontierError, match=r"pip install -e '\.\[redis\]'"):
        frontier.check("redis://127.0.0.1:6379/0")


def test_sharded_workers_need_the_redis_client_and_not_scrapy_redis(monkeypatch) -> None:
    """``--shard --redis`` keeps only the politeness leases in Redis: a machine without
    scrapy-redis gets past the package check (and is told about Redis itself: here, a port
    nothing listens on); without the redis client it is told how to install it."""
    import importlib.util

    import pytest

    from nianbao.crawler import frontier

    real = importlib.util.find_spec
    gone = {"scrapy_redis"}
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in gone else real(name, *a)
    )
    with pytest.raises(frontier.FrontierError, match="cannot reach the Redis frontier"):
        frontier.check("redis://127.0.0.1:1/0", shared_frontier=False)
    with pytest.raises(frontier.FrontierError, match="scrapy-redis is not installed"):
        frontier.check("redis://127.0.0.1:1/0")
    gone.add("redis")
    with pytest.raises(frontier.FrontierError, match=r"but redis is not installed: pip install"):
        frontier.check("redis://127.0.0.1:1/0", shared_frontier=False)


def test_exit_statuses_are_pythons() -> None:
    assert [exit_status(c) for c in (None, 0, 2, 120, "a message")] == [0, 0, 2, 120, 1]


def test_the_command_writes_all_it_printed_and_keeps_its_status(tmp_path) -> None:
    """Through a pipe (block-buffered) every byte arrives: the help of every command,
    as the in-process runner prints it; a usage error keeps click's status 2; an exit
    handler registered while the command ran still runs (the cleaning pool's close)."""
    commands = sorted(cli_main.commands)
    env = {**os.environ, "COLUMNS": "80"}  # 78 columns of help, as asked of the runner
    for name in commands[:3] + ["crawl"]:
        proc = subprocess.run([*NIANBAO, name, "--help"], capture_output=True, timeout=120, env=env)
        expected = CliRunner().invoke(
            cli_main, [name, "--help"], prog_name="python -m nianbao", terminal_width=78
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.decode() == expected.output
    proc = subprocess.run([*NIANBAO, "no-such-command"], capture_output=True, timeout=120)
    assert proc.returncode == 2 and b"No such command" in proc.stderr
    marker = tmp_path / "handler-ran"
    script = (  # a handler registered while the command runs, as the cleaning pool's is
        "import atexit, sys\n"
        "import nianbao.cli as cli\n"
        "from nianbao import startup\n"
        "command = cli.main\n"
        "def registering():\n"
        f"    atexit.register(lambda: open({str(marker)!r}, 'w').write('yes'))\n"
        "    command()\n"
        "cli.main = registering\n"
        "sys.argv = ['nianbao', '--version']\n"
        "startup.main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == 0 and b"version" in proc.stdout, proc.stderr
    assert marker.read_text() == "yes"
