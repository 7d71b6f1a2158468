"""The simulated night's driver (``benchmarks/night.py``) reads its workers without
deadlocking them: the workers of a batch wait for each other through Redis, so one whose
output pipe is full must never be left unread while the driver waits for another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.night import gather

# The first worker ends only after the second (as a shared frontier's worker stays while a
# peer is busy); the second says more on stderr than a pipe holds before it can end.
WAITS = """
import os, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.01)
print("first done")
"""
CHATTY = """
import sys
sys.stderr.write("x" * 300_000)
sys.stderr.flush()
open(sys.argv[1], "w").close()
print("second done")
"""


def test_a_worker_waiting_for_a_chatty_peer_is_not_deadlocked(tmp_path: Path) -> None:
    flag = str(tmp_path / "second-ended")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, flag],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for code in (WAITS, CHATTY)
    ]
    try:
        outputs = gather(procs, timeout=15)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [out for out, _err in outputs] == ["first done\n", "second done\n"]
    assert len(outputs[1][1]) == 300_000
    assert [p.returncode for p in procs] == [0, 0]
