"""The command's start: imports done with the collector off, which must come back on."""

from __future__ import annotations

import subprocess
import sys

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
