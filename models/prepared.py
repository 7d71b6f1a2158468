"""The writer's hottest statements, compiled once per dialect and run on the DBAPI cursor.

A report's write is about seven statements (its body, the look-ups, the report's address,
its version, its capture). Run through ``Session.execute``, each cost ≈ 55 µs of
SQLAlchemy's execution machinery (the session's bind, the compiled cache's key, an
execution context, a result object) around ≈ 10–20 µs of the database's own work: a third
of the writer's CPU, and the writer's CPU is what the nightly crawl's two cores are short
of (``docs/performance-log.md``). Here SQLAlchemy still builds and compiles each statement
(for the dialect of the session's connection, once) and still converts every value with
the column type's own bind processor (datetimes, JSON, variants); only the execution is
the DBAPI's, inside the session's transaction (and savepoint), on its connection.

What that leaves out, on purpose and only for these statements: SQLAlchemy's statement
events and echo logging, and its statement cache. A DBAPI error is wrapped as SQLAlchemy
wraps it (:class:`sqlalchemy.exc.IntegrityError`, :class:`~sqlalchemy.exc.OperationalError`
…), so callers see the same exceptions. A statement whose compiled form needs work at
execution (expanding ``IN``, post-compile parameters) or a column default computed in
Python is refused when it is first compiled, not run half-bound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


class Prepared:
    """One statement, built by ``build(dialect)`` and compiled once for each dialect.

    ``keys``: the values every execution gives, by name (an INSERT's column keys, a
    SELECT's ``bindparam`` names); any other bound parameter must have a fixed value.
    ``new_id``: the statement inserts one row and :meth:`run` returns its primary key
    (``lastrowid`` on SQLite, ``RETURNING`` elsewhere), or None when it inserted nothing
    (``ON CONFLICT DO NOTHING``); otherwise :meth:`run` returns the cursor, for its row
    count or rows.
    """

    def __init__(
        self,
        build: Callable[[Dialect], Any],
        keys: Sequence[str] = (),
        *,
        new_id: bool = False,
    ) -> None:
        self.build = build
        self.keys = list(keys)
        self.new_id = new_id
        # By dialect and driver: the SQL and the bind processors are made for them (and for
        # the engine's JSON serializer, which models.db sets alike on every engine of a
        # backend). Not by the dialect object: the processors hold it, so a weak map would
        # keep every engine's alive, and tests make hundreds.
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(self, dialect)
        return compiled

    def run(self, session: Session, values: Mapping[str, Any]) -> Any:
        """Execute with ``values`` in the session's transaction: the new row's id or None
        (``new_id``), else the DBAPI cursor."""
        conn = session.connection()
        compiled = self._for(conn.dialect)
        params = compiled.params(values)
        cursor = conn.connection.cursor()
        try:
            cursor.execute(compiled.sql, params)
        except compiled.dbapi_error as e:
            raise exc.DBAPIError.instance(
                compiled.sql, params, e, compiled.dbapi_error, dialect=conn.dialect
            ) from e
        if not self.new_id:
            return cursor
        if compiled.returning:
            row = cursor.fetchone()
            new = None if row is None else row[0]
        else:
            new = cursor.lastrowid if cursor.rowcount else None
        cursor.close()
        return None if new is None else int(new)

    def scalar(self, session: Session, values: Mapping[str, Any]) -> Any:
        """The first column of the first row a SELECT returns, or None."""
        row = self.run(session, values).fetchone()
        return None if row is None else row[0]


class _Compiled:
    """A statement's SQL for one dialect, and how to bind values to it."""

    def __init__(self, prepared: Prepared, dialect: Dialect) -> None:
        stmt = prepared.build(dialect)
        table = getattr(stmt, "table", None)
        self.returning = False
        if prepared.new_id and dialect.name != "sqlite":
            assert table is not None, "new_id is for an INSERT"
            stmt = stmt.returning(*table.primary_key.columns)
            self.returning = True
        if table is not None and prepared.keys:
            python_defaults = [
                c.name
                for c in table.columns
                if c.key not in prepared.keys and (c.default is not None or c.onupdate is not None)
            ]
            if python_defaults:
                raise ValueError(
                    f"{table.name}: columns with Python defaults not given: {python_defaults}"
                )
        compiled = stmt.compile(dialect=dialect, column_keys=prepared.keys or None)
        self.sql = compiled.string
        if "POSTCOMPILE" in self.sql or compiled.literal_execute_params:
            raise ValueError(f"needs work at execution, not preparable: {self.sql}")
        # Each bound parameter: a value the caller gives (by its key), or one fixed in the
        # statement (a LIMIT, a literal compared with), converted once here.
        given = set(prepared.keys)
        self.fixed: dict[str, Any] = {}
        self.processors: list[tuple[str, Callable[[Any], Any] | None]] = []
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name in given:
                self.processors.append((name, process))
            elif bind.required or bind.callable is not None:
                raise ValueError(f"bound parameter {name!r} is not among the keys: {self.sql}")
            else:
                value = bind.effective_value
                self.fixed[name] = process(value) if process else value
        missing = given - set(compiled.binds)
        if missing:
            raise ValueError(f"keys the statement does not bind: {sorted(missing)}: {self.sql}")
        self.positional = compiled.positiontup if dialect.positional else None
        self.dbapi_error = dialect.loaded_dbapi.Error

    def params(self, values: Mapping[str, Any]) -> Any:
        bound = dict(self.fixed)
        for name, process in self.processors:
            value = values[name]
            bound[name] = value if process is None else process(value)
        if self.positional is not None:
            return [bound[name] for name in self.positional]
        return bound
