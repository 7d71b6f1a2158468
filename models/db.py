"""Opening the archive: where it lives, engine settings per backend, migrations.

The default archive is a SQLite file in the per-user data directory
(``$XDG_DATA_HOME/nianbao/archive.sqlite``, i.e. ``~/.local/share/nianbao/archive.sqlite``),
overridden by ``$NIANBAO_DB`` or ``--db``. SQLite runs in WAL mode with
``synchronous=FULL`` (an acknowledged write survives a power cut), a busy timeout so
concurrent crawls wait for each other instead of failing, and ``BEGIN IMMEDIATE`` for
writers so two writers never deadlock upgrading read locks.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

REPO_ROOT = Path(__file__).resolve().parent.parent
BUSY_TIMEOUT_MS = 60_000


class ArchiveError(Exception):
    """A problem with the archive an operator can act on (bad URL, locked, not migrated)."""


def default_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nianbao" / "archive.sqlite"


def resolve_url(url: str | None = None) -> str:
    """``--db`` value, else ``$NIANBAO_DB``, else the per-user SQLite file.

    A bare path is accepted as a SQLite file.
    """
    url = url or os.environ.get("NIANBAO_DB") or str(default_path())
    if "://" not in url:
        path = Path(url).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
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


def make_engine(url: str | None = None, *, read_only: bool = False) -> Engine:
    url = resolve_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _sqlite_pragmas(engine, read_only)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise ArchiveError(
        f"unsupported database URL {parsed.render_as_string()!r}: use sqlite:/// or postgresql://"
    )


def sessionmaker_for(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["skip_logging"] = True  # the caller (CLI, Scrapy) owns logging
    return cfg


MIGRATION_LOCK = 0x6E69616E62616F  # "nianbao": the advisory lock migrations run under


def upgrade(url: str | None = None) -> None:
    """Apply every migration (a new file gets the whole schema).

    N workers started at once against one new PostgreSQL archive would otherwise race to
    create the same tables; they take turns under a server-wide advisory lock, and all but
    the first find the schema at head. (SQLite's ``BEGIN IMMEDIATE`` already serialises
    them: Alembic runs its migrations in one transaction.)
    """
    from alembic import command

    url = resolve_url(url)
    if make_url(url).get_backend_name() != "postgresql":
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


def open_archive(url: str | None = None, *, migrate: bool = True) -> Engine:
    """Engine for the archive, migrated to head first (cheap when already there)."""
    url = resolve_url(url)
    if migrate:
        try:
            upgrade(url)
        except Exception as exc:  # alembic wraps driver errors; say what failed and where
            raise ArchiveError(
                f"cannot open or migrate the archive at {safe_url(url)}: {exc}"
            ) from exc
    return make_engine(url)


def safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    return make_url(url).render_as_string(hide_password=True)
