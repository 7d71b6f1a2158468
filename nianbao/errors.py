"""The one exception hierarchy: every error a user can act on is a :class:`NianbaoError`.

The CLI turns each into one line on stderr and an exit code, in one place
(:func:`nianbao.cli.main`); nothing else prints tracebacks for them. Lower layers raise
subclasses that say what is wrong and what to do; they never print.
"""

from __future__ import annotations


class NianbaoError(Exception):
    """An error a user or operator can act on; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class NotFound(NianbaoError):
    """An id the archive does not hold (report, version, capture, source)."""


class UsageError(NianbaoError):
    """A command line that cannot be carried out as given."""

    exit_code = 2


class DamagedArchive(NianbaoError):
    """``verify`` found data that does not match its hashes."""

    exit_code = 4
