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
