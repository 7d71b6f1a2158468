"""Opening the archive: where it lives, engine settings per backend, migrations.

The default archive is a SQLite file in the per-user data directory
(``$XDG_DATA_HOME/nianbao/archive.sqlite``, i.e. ``~/.local/share/nianbao/archive.sqlite``),
overridden by ``$NIANBAO_DB`` or ``--db``. SQLite runs in WAL mode with
``synchronous=FULL`` (an acknowledged write survives a power cut), a busy timeout so
concurrent crawls wait for each other instead of failing, and ``BEGIN IMMEDIATE`` for
writers so two writers never deadlock upgrading read locks.

Two ways in, because reading must never get in a writer's way:

* :func:`open_archive` — writers (crawl, reprocess, ``db upgrade``): creates a new archive,
  migrates to head once per process, ``BEGIN IMMEDIATE``.
* :func:`open_reader` — every read command and the web app: never creates, never migrates
  (a schema behind the code is an error naming ``nianbao db upgrade``), SQLite opened
  read-only (``mode=ro``) with a plain ``BEGIN``, so a long ``verify`` never holds the
  write lock a nightly crawl waits for.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from nianbao.errors import NianbaoError

BUSY_TIMEOUT_MS = 60_000


class ArchiveError(NianbaoError):
    """A problem with the archive an operator can act on (bad URL, locked, not migrated)."""


def migrations_dir() -> Path:
    """Where the Alembic scripts are: ``nianbao/migrations`` in an installed wheel (package
    data), ``alembic/`` beside ``models/`` in a checkout (an editable install maps the
    package folders, but not a folder without ``__init__.py``; ``alembic/`` must not have
    one, or it would shadow the alembic library for code run from the repository root)."""
    import nianbao
    import nianbao.models

    for candidate in (
        Path(nianbao.__file__).parent / "migrations",
        Path(nianbao.models.__file__).parent.parent / "alembic",
    ):
        if (candidate / "env.py").is_file():
            return candidate
    raise ArchiveError("the archive's migrations are not installed (nianbao/migrations)")


def default_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nianbao" / "archive.sqlite"


def resolve_url(url: str | None = None, *, create: bool = True) -> str:
    """``--db`` value, else ``$NIANBAO_DB``, else the per-user SQLite file.

    A bare path is accepted as a SQLite file. ``create`` makes its directory (writers);
    a reader creates nothing.
    """
    url = url or os.environ.get("NIANBAO_DB") or str(default_path())
    if "://" not in url:
        path = Path(url).expanduser().resolve()
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                blocker = next((p for p in path.parents if p.is_file()), None)
                why = f"{blocker} is a file, not a folder" if blocker else exc.strerror or exc
                raise ArchiveError(
                    f"cannot create the archive's folder {path.parent}: {why}"
                ) from exc
        return f"sqlite:///{path}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _ensure_wal(cur: Any) -> None:
    """Switch the file to WAL (once: the mode is stored in the file).

    Changing the journal mode needs an exclusive lock and SQLite answers "database is
    locked" at once, without its busy handler, while another process holds the file —
    as when N workers open a new archive together. So: only when it is not WAL yet, and
    retried within the busy timeout.
    """
    import sqlite3

    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_pragmas(engine: Engine, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see `begin` below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not read_only:
            _ensure_wal(cur)
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _json_dumps(value: Any) -> str:
    """JSON columns as readable UTF-8 (发布机构, not \\u53d1…): sqlite3 and datasette show
    them as they are (migration 0009 rewrote older rows)."""
    return json.dumps(value, ensure_ascii=False)


def make_engine(url: str | None = None, *, read_only: bool = False) -> Engine:
    url = resolve_url(url, create=not read_only)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if read_only and parsed.database and parsed.database != ":memory:":
            # The file opened read-only: a reader can never take the write lock (nor
            # create the file). WAL readers still see committed writes as they happen.
            # QueuePool, not the SingletonThreadPool SQLAlchemy picks for a "sqlite://"
            # URL: that one closes a thread's connection while another thread still uses
            # it once more than pool_size threads have connected (a crawl's 304 look-ups
            # from asyncio's worker threads crashed the process with SIGSEGV).
            engine = create_engine(
                "sqlite://",
                creator=_read_only_connect(parsed.database),
                json_serializer=_json_dumps,
                poolclass=QueuePool,
            )
        else:
            engine = create_engine(
                url,
                connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
                json_serializer=_json_dumps,
            )
        _sqlite_pragmas(engine, read_only)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if read_only:
            return create_engine(
                url,
                pool_pre_ping=True,
                connect_args={"options": "-c default_transaction_read_only=on"},
            )
        return create_engine(url, pool_pre_ping=True)
    raise ArchiveError(
        f"unsupported database URL {parsed.render_as_string()!r}: use sqlite:/// or postgresql://"
    )


_SHARED: dict[tuple[str, bool], list[Any]] = {}  # (url, read_only) → [engine, users]
_SHARED_LOCK = threading.Lock()


def acquire_engine(url: str, *, read_only: bool = False) -> Engine:
    """One engine per process for ``url`` (:func:`make_engine`), shared by its users: a
    crawl of a thousand sources opened a thousand engines, each with its own pool of
    connections. Give it back with :func:`release_engine`."""
    key = (resolve_url(url, create=not read_only), read_only)
    with _SHARED_LOCK:
        entry = _SHARED.get(key)
        if entry is None:
            entry = _SHARED[key] = [make_engine(key[0], read_only=read_only), 0]
        entry[1] += 1
        return entry[0]


def _forget_engines_in_child() -> None:
    """After a fork, in the child: the shared engines' pooled connections are the
    parent's. Closing one here (or a garbage-collected one) would end the parent's
    database session, so the child drops them unclosed and opens its own
    (SQLAlchemy's "using connection pools with multiprocessing")."""
    for engine, _users in _SHARED.values():
        engine.dispose(close=False)
    _SHARED.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_engines_in_child)


def release_engine(engine: Engine) -> None:
    """One user less of a shared engine; the last one disposes of it."""
    with _SHARED_LOCK:
        for key, entry in list(_SHARED.items()):
            if entry[0] is engine:
                entry[1] -= 1
                if entry[1] <= 0:
                    del _SHARED[key]
                    engine.dispose()
                return
    engine.dispose()  # not a shared one


def _read_only_connect(path: str) -> Any:
    import sqlite3
    from urllib.parse import quote

    uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )

    return connect


def sessionmaker_for(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["skip_logging"] = True  # the caller (CLI, Scrapy) owns logging
    return cfg


MIGRATION_LOCK = 0x6E69616E62616F  # "nianbao": the advisory lock migrations run under


def upgrade(url: str | None = None) -> None:
    """Apply every migration (a new file gets the whole schema).

    N workers started at once against one new archive would otherwise race to create the
    same tables and columns. On PostgreSQL they take turns under a server-wide advisory
    lock. On SQLite, Alembic commits migration by migration (SQLite's DDL is not run in one
    transaction by Alembic), so two processes could both read an old revision and one would
    fail on "duplicate column": they take turns under an exclusive ``flock`` on a lock file
    beside the archive (``archive.sqlite.lock``; never on the database file itself, whose
    POSIX locks SQLite owns). All but the first then find the schema at head.
    """
    from alembic import command

    url = resolve_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            command.upgrade(alembic_config(url), "head")
            return
        import fcntl

        with open(f"{database}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                command.upgrade(alembic_config(url), "head")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    if parsed.get_backend_name() != "postgresql":
        command.upgrade(alembic_config(url), "head")
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
            try:
                command.upgrade(alembic_config(url), "head")
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
                conn.commit()
    finally:
        engine.dispose()


_MIGRATED: set[str] = set()  # archives this process has migrated already


def open_archive(url: str | None = None, *, migrate: bool = True) -> Engine:
    """Engine for a writer, the archive migrated to head first (once per process)."""
    url = resolve_url(url)
    engine = make_engine(url)
    if migrate and url not in _MIGRATED:
        if not _at_head(engine):
            try:
                upgrade(url)
            except Exception as exc:  # alembic wraps driver errors; say what failed and where
                engine.dispose()
                raise ArchiveError(
                    f"cannot open or migrate the archive at {safe_url(url)}: {_first_line(exc)}"
                ) from exc
        _MIGRATED.add(url)
    return engine


def _at_head(engine: Engine) -> bool:
    """Whether the archive is already at :data:`SCHEMA_HEAD`: then a writer need not import
    Alembic (≈ 0.14 of the ≈ 0.16 CPU-s that migrating an up-to-date archive took in a
    crawl process, 2026-11-30), which every nightly crawl of an existing archive did.
    Anything else (a new file, an older schema, an error) is :func:`upgrade`'s to do or
    to say, under its lock: a schema at head is never changed, so no lock is needed here."""
    try:
        with engine.connect() as conn:
            found = schema_revision(conn)
    except Exception:
        return False
    return found == SCHEMA_HEAD


# The schema revision this code reads: the newest migration's id. A reader compares it with
# the archive's ``alembic_version`` without importing Alembic (≈ 70 ms of every read
# command's start-up); tests/test_migrations.py checks it is the migrations' head.
SCHEMA_HEAD = "0017"


def schema_revision(conn: Connection) -> str | None:
    """The archive's schema revision as Alembic stamped it (raises if it has none): what a
    reader and a writer compare with :data:`SCHEMA_HEAD`, without importing Alembic."""
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def head_revision() -> str | None:
    """The head of the migration scripts (Alembic's own answer; for tests and writers)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(migrations_dir())).get_current_head()


def open_reader(url: str | None = None) -> Engine:
    """Engine for a reader: the archive must exist and be at the code's schema.

    Nothing is created or migrated. A missing file, an empty database and a schema
    behind the code are each one clear :class:`ArchiveError`.
    """
    url = resolve_url(url, create=False)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(str(parsed.database))
        if not path.is_file():
            raise ArchiveError(
                f"no archive at {path}: give --db the archive's path or URL "
                "(a crawl creates one; `nianbao demo` makes a demo archive)"
            )
    engine = make_engine(url, read_only=True)
    try:
        conn = engine.connect()
    except Exception as exc:  # the server is down, refuses us, or the file is unreadable
        engine.dispose()
        raise ArchiveError(
            f"cannot open the archive at {safe_url(url)}: {_first_line(exc)}"
        ) from exc
    try:
        with conn:
            found = schema_revision(conn)
    except Exception as exc:  # no table: not an archive (or an empty one)
        engine.dispose()
        raise ArchiveError(
            f"{safe_url(url)} is not a nianbao archive (no schema version): {_first_line(exc)}"
        ) from exc
    head = SCHEMA_HEAD
    if found != head:
        engine.dispose()
        raise ArchiveError(
            f"the archive at {safe_url(url)} is at schema {found}, this nianbao needs {head}: "
            "run `nianbao db upgrade` (with the same --db) first"
        )
    return engine


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).splitlines()[0]


def safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    return make_url(url).render_as_string(hide_password=True)
