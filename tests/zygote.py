"""A ``nianbao`` command started by forking an interpreter that has already imported it.

Each ``nianbao crawl`` a test ran in a new interpreter paid ≈ 1.5 CPU-s of start-up and
imports (Scrapy, Twisted, SQLAlchemy, lxml, the cleaners) before it fetched anything: 166
crawls in a run of the suite, about 250 CPU-s of its ≈ 610 on two cores (2026-12-03). This
process imports what the command imports once, as the command does (``nianbao.startup``:
the collector off, then frozen), and forks a child for each command a test asks for. The
child is what ``python -m nianbao ARGS`` would be after its imports: it sets its standard
streams, working directory, environment and ``sys.argv`` from the request and calls
:func:`nianbao.startup.main`, the function ``python -m nianbao`` calls; its exit handlers
run (the crawl's helpers joined, the logs flushed) and it ends with the command's status.
Nothing in a command reads its environment at import time (checked: every ``os.environ``
read in the package is made when a command runs), so a child given a test's environment
behaves as a new process started with it.

Used by ``tests.conftest.cli`` for ``crawl`` and ``reprocess``; the tests of start-up
itself, of signals and of the installed wheel start real processes of their own, and
``NIANBAO_TEST_FRESH=1`` makes every command a new process again.

Protocol, one JSON object a line: the test writes ``{"argv", "env", "cwd", "out", "err"}``
(``out``/``err``: files for the child's stdout and stderr) on this process's stdin; this
process says ``{"ready": true}`` once its imports are done, and answers each request with
``{"pid": N}`` once the child runs, then ``{"status": S}`` when it ended
(S as :attr:`subprocess.Popen.returncode` gives it: negative for a signal). It exits when
its stdin closes.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
import traceback
from typing import Any, NoReturn


def _child(request: dict[str, Any]) -> NoReturn:
    """In the forked child: become the command and never return."""
    code = 1
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, path in ((1, request["out"]), (2, request["err"])):
            target = os.open(path, os.O_WRONLY | os.O_TRUNC)
            os.dup2(target, fd)
            os.close(target)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        # As `python -m nianbao` sets them: click names the program from both.
        sys.argv = [request["main"], *request["argv"]]
        sys.modules["__main__"].__package__ = "nianbao"
        from nianbao import startup

        try:
            startup.main()
            code = 0
        except SystemExit as done:
            code = startup.exit_status(done.code)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            # What the interpreter runs at exit; the command's last handler ends the
            # process with its status (nianbao.startup._leave_now).
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> None:
    import importlib.util

    from nianbao.startup import uncollected_imports

    with uncollected_imports():  # what `nianbao crawl` imports, as it imports it
        import nianbao.cli  # noqa: F401
        import nianbao.crawl  # noqa: F401

    control = os.fdopen(os.dup(1), "w", buffering=1)
    requests = os.fdopen(os.dup(0), "r")
    # The children's standard streams are set from each request; this process's own go
    # nowhere a child could write to.
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    control.write(json.dumps({"ready": True}) + "\n")
    spec = importlib.util.find_spec("nianbao.__main__")
    main = spec.origin if spec is not None and spec.origin else "nianbao"
    for line in requests:
        request = json.loads(line) | {"main": main}
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            requests.close()
            control.close()
            _child(request)
        control.write(json.dumps({"pid": pid}) + "\n")
        _, status = os.waitpid(pid, 0)
        control.write(json.dumps({"status": os.waitstatus_to_exitcode(status)}) + "\n")


if __name__ == "__main__":
    serve()
