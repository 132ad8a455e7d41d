"""The database's own guards on ``ledger_event``, installed by migrations on SQLite and
PostgreSQL.

- **Append-only**: triggers that refuse UPDATE and DELETE (and TRUNCATE). The
  production PostgreSQL role set-up (docs/ledger.md §9) adds a second wall: the
  application role has only INSERT and SELECT on the table.
- **The stored body agrees with the columns**: every ``body_bytes`` (the canonical
  body as hashed) must say what the row's columns say, checked by the database on
  every write — on PostgreSQL a validated CHECK constraint (on INSERT and UPDATE), on
  SQLite a trigger on INSERT (UPDATE is refused outright). Neither can read the
  clients table, so neither covers the body's client UUID: the verifier checks it.
  While these guards are in place (``agreement_guarded``) the verifier hashes the
  stored bodies without re-checking them row by row (docs/ledger.md §7).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "ledger_event"
MESSAGE = "ledger events are append-only"
AGREEMENT = "ledger_event_body_agrees"
AGREEMENT_MESSAGE = "ledger event body differs from its columns"

_SQLITE_APPEND_ONLY = [
    f"""CREATE TRIGGER IF NOT EXISTS ledger_event_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS ledger_event_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]


def _sqlite_body(row: str) -> str:
    """SQLite text: the canonical body of the ledger_event row ``row`` (``NEW``), built
    from its columns, with the client's UUID copied from the stored body (a restore
    inserts events before their clients; the verifier checks the UUID). ``data`` is
    stored as its canonical text (lib.canonical.CanonicalJSONEncoder), json_quote
    escapes strings as canonical JSON does, and ``at`` is stored as
    ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in UTC."""
    at = (
        f"CASE length({row}.at) "
        f"WHEN 26 THEN substr({row}.at, 1, 10) || 'T' || substr({row}.at, 12) || 'Z' "
        f"WHEN 19 THEN substr({row}.at, 1, 10) || 'T' || substr({row}.at, 12) || '.000000Z' END"
    )
    prefix = f"""('{{"actor":' || json_quote({row}.actor) || ',"at":"' || {at} || '","client":"')"""
    uuid = f"substr(CAST({row}.body_bytes AS TEXT), length({prefix}) + 1, 36)"
    return (
        f"""{prefix} || {uuid} || '","data":' || {row}.data || """
        f"""',"kind":' || json_quote({row}.kind) || ',"recommendation":' || """
        f"""coalesce({row}.recommendation_id, 'null') || ',"seq":' || {row}.seq || """
        """',"v":1}'"""
    )


_SQLITE_AGREEMENT = f"""CREATE TRIGGER IF NOT EXISTS {AGREEMENT} BEFORE INSERT ON {TABLE}
        WHEN NEW.body_bytes IS NOT NULL
            AND NEW.body_bytes IS NOT CAST({_sqlite_body("NEW")} AS BLOB)
        BEGIN SELECT RAISE(ABORT, '{AGREEMENT_MESSAGE}'); END"""
_SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS ledger_event_no_update",
    "DROP TRIGGER IF EXISTS ledger_event_no_delete",
    f"DROP TRIGGER IF EXISTS {AGREEMENT}",
]
_PG_APPEND_ONLY = [
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
# The body without its "client" (a CHECK cannot read the clients table: the verifier
# checks the client's UUID in each body itself) compared with the columns as jsonb.
PG_AGREES = """body_bytes IS NULL OR (convert_from(body_bytes, 'UTF8')::jsonb - 'client')
    = jsonb_build_object(
        'actor', actor,
        'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'data', data,
        'kind', kind,
        'recommendation', recommendation_id,
        'seq', seq,
        'v', 1
    )"""
_PG_REMOVE = [
    f"DROP TRIGGER IF EXISTS ledger_event_no_update_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS ledger_event_no_truncate ON {TABLE}",
]


def sqlite_guards() -> dict[str, str]:
    """The SQLite triggers the verifier relies on, by name, with the text SQLite
    keeps for them in ``sqlite_master``."""
    statements = [_SQLITE_APPEND_ONLY[0], _SQLITE_AGREEMENT]
    return {
        statement.split()[5]: statement.replace(" IF NOT EXISTS", "", 1) for statement in statements
    }


def _run(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _pg_alter(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    """Run ALTER TABLE statements inside a transaction that may have pending
    foreign-key checks (Django's are deferred to the commit, and PostgreSQL refuses to
    alter a table with pending trigger events): run those checks now, then defer
    again."""
    _run(connection, ["SET CONSTRAINTS ALL IMMEDIATE", *statements, "SET CONSTRAINTS ALL DEFERRED"])


def install_append_only(connection: BaseDatabaseWrapper) -> None:
    """The append-only triggers alone (what migration 0002 installs)."""
    if connection.vendor == "sqlite":
        _run(connection, _SQLITE_APPEND_ONLY)
    elif connection.vendor == "postgresql":
        _run(connection, _PG_APPEND_ONLY)
    else:
        raise NotImplementedError(f"no ledger triggers for {connection.vendor}")


def install(connection: BaseDatabaseWrapper) -> None:
    """Every guard: append-only, and stored bodies that agree with their columns.

    Rows already stored whose body disagrees with their columns lose the stored copy
    first (its columns and hash stay, and are what verification checks), so the
    PostgreSQL constraint is always validated."""
    install_append_only(connection)
    if connection.vendor == "sqlite":
        _run(connection, [_SQLITE_AGREEMENT])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND conname = %s",
            [TABLE, AGREEMENT],
        )
        missing = cursor.fetchone() is None
    add = f"ALTER TABLE {TABLE} ADD CONSTRAINT {AGREEMENT} CHECK ({PG_AGREES}) NOT VALID"
    validate = f"ALTER TABLE {TABLE} VALIDATE CONSTRAINT {AGREEMENT}"
    _pg_alter(connection, [add, validate] if missing else [validate])


def remove(connection: BaseDatabaseWrapper) -> None:
    """Drop the guards. Only tests (to empty the database between cases, or to tamper
    with it) and migrations that rewrite rows have a reason to call this."""
    if connection.vendor == "sqlite":
        _run(connection, _SQLITE_REMOVE)
    elif connection.vendor == "postgresql":
        _run(connection, _PG_REMOVE)
        _pg_alter(connection, [f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {AGREEMENT}"])
