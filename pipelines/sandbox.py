"""Parse hostile documents in a child process bounded in memory and time.

A PDF whose content stream inflates to 1 GiB, or a DOCX whose XML is a bomb, made the
crawl itself grow past 2 GB: no check of what a file *claims* bounds what a parser does
with it. So PDF and DOCX text is extracted in a child (``python -m
nianbao.pipelines.sandbox KIND URL``, the body on stdin) whose address space is capped
with ``resource.setrlimit(RLIMIT_AS)`` (``NIANBAO_PARSE_MAX_MEMORY``, default 512 MiB) and
CPU time with ``RLIMIT_CPU``, and which the parent kills after ``NIANBAO_PARSE_TIMEOUT``
seconds (default 60) of wall time. The child answers in JSON (never pickle: a parser bug
must not turn into code run in the crawler). A refusal is a :class:`Refused` with its
reason: ``bomb`` (the memory cap was hit), ``timeout``, or ``failed``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

DEFAULT_MEMORY = 512 * 1024 * 1024
DEFAULT_SECONDS = 60.0


@dataclass
class Refused:
    reason: str  # "bomb", "timeout", "failed"
    detail: str


def limits() -> tuple[int, float]:
    memory = int(os.environ.get("NIANBAO_PARSE_MAX_MEMORY") or DEFAULT_MEMORY)
    seconds = float(os.environ.get("NIANBAO_PARSE_TIMEOUT") or DEFAULT_SECONDS)
    return memory, seconds


def run(kind: str, url: str, body: bytes) -> dict[str, Any] | Refused:
    """Extract ``kind`` (pdf, docx) from ``body`` in a bounded child; its answer or why not."""
    memory, seconds = limits()
    command = [sys.executable, "-m", "nianbao.pipelines.sandbox", kind, url, str(memory)]
    try:
        proc = subprocess.run(command, input=body, capture_output=True, timeout=seconds)
    except subprocess.TimeoutExpired:  # subprocess.run killed it
        return Refused("timeout", f"parsing took over {seconds:g} s")
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        if "MemoryError" in err or proc.returncode in (-9, -6, -11):
            return Refused("bomb", f"parsing needed over {memory // 2**20} MiB")
        if proc.returncode == -24:  # SIGXCPU
            return Refused("timeout", f"parsing used over {seconds:g} s of CPU")
        last = err.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return Refused("failed", last[0][:300])
    try:
        answer = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        return Refused("failed", f"the parser's answer is not JSON ({exc})")
    return answer if isinstance(answer, dict) else Refused("failed", "malformed answer")


def _child(kind: str, url: str, memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    cpu = int(limits()[1]) + 1
    resource.setrlimit(
        resource.RLIMIT_CPU, (cpu, hard if hard != resource.RLIM_INFINITY else cpu + 5)
    )
    from nianbao.pipelines.attachments import extract_in_process
    from nianbao.pipelines.document import Document

    doc = extract_in_process(Document(url=url, body=sys.stdin.buffer.read()), kind)
    answer = {
        "kind": doc.kind,
        "title": doc.title,
        "blocks": doc.blocks,
        "flags": doc.flags,
        "errors": doc.errors,
        "removed": [r.as_dict() for r in doc.removed],
    }
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], int(sys.argv[3]))
