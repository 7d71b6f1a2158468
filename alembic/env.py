"""Alembic environment: migrates the archive the CLI would open.

URL precedence: the config's ``sqlalchemy.url`` (set by :func:`models.db.upgrade`),
else ``-x db=URL``, else ``$NIANBAO_DB``, else the per-user default SQLite file.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from nianbao.models.db import make_engine, resolve_url
from nianbao.models.tables import Base

config = context.config
if config.config_file_name and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# Full-text search objects that migrations 0002 and 0015 create per backend and the models
# do not describe (an FTS5 virtual table and its shadow tables; a pg_trgm GIN index, its
# queue's index and the ``search_indexed`` column they read, on PostgreSQL only).
_UNMODELLED = (
    "versions_fts",
    "ix_versions_norm_text_trgm",
    "ix_versions_search_queue",
    "search_indexed",
)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (name and name.startswith(_UNMODELLED))


def _url() -> str:
    return (
        config.get_main_option("sqlalchemy.url")
        or context.get_x_argument(as_dictionary=True).get("db")
        or resolve_url(None)
    )


def run_migrations_offline() -> None:
    context.configure(
        url=resolve_url(_url()),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    with engine.connect() as connection:
        # models.log reads rows in some migrations (0007's backfill, 0010/0011's re-logs)
        # with the table as it is at that step, not as the models define it at head.
        connection.info["nianbao_migrating"] = True
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
