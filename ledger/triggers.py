"""Database triggers that make ``ledger_event`` append-only.

Installed by a migration on SQLite and PostgreSQL. The production PostgreSQL role
set-up (docs/ledger.md §9) adds a second wall: the application role has only
INSERT and SELECT on the table.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "ledger_event"
MESSAGE = "ledger events are append-only"

_SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS ledger_event_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS ledger_event_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
_SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS ledger_event_no_update",
    "DROP TRIGGER IF EXISTS ledger_event_no_delete",
]
_PG_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION ledger_event_refuse() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
        END
        $$""",
    f"""CREATE OR REPLACE TRIGGER ledger_event_no_update_delete
        BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION ledger_event_refuse()""",
    f"""CREATE OR REPLACE TRIGGER ledger_event_no_truncate
        BEFORE TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_event_refuse()""",
]
_PG_REMOVE = [
    f"DROP TRIGGER IF EXISTS ledger_event_no_update_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS ledger_event_no_truncate ON {TABLE}",
]


def _run(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "sqlite":
        _run(connection, _SQLITE_INSTALL)
    elif connection.vendor == "postgresql":
        _run(connection, _PG_INSTALL)
    else:
        raise NotImplementedError(f"no ledger triggers for {connection.vendor}")


def remove(connection: BaseDatabaseWrapper) -> None:
    """Drop the triggers. Only tests (to empty the database between cases) and
    ``heeded restore`` into an empty database have a reason to call this."""
    if connection.vendor == "sqlite":
        _run(connection, _SQLITE_REMOVE)
    elif connection.vendor == "postgresql":
        _run(connection, _PG_REMOVE)
