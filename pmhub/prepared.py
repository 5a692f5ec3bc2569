"""Server-side prepared statements for the queries of every tracking write (PostgreSQL).

A single `log-metric` or one-point ingest runs three short statements; planning
them cost PostgreSQL about as much as running them (the store's insert-and-merge
statement: ~0.6 ms to plan, ~0.3 ms to run). `execute` prepares a statement
once per database connection (PREPARE) and then only executes it, so
PostgreSQL plans it a few times and then keeps a generic plan.

The statements are remembered per connection: a new connection prepares them
again, and outside a transaction a connection that lost them (a pooler's
DISCARD ALL) or holds one a migration made stale gets them back on the next
call. Other databases run the SQL as it is.
"""
from __future__ import annotations

from django.db import DatabaseError, connection

# The statement is gone (a pooler's DISCARD ALL), or its result changed shape (a
# migration altered a table since it was prepared): prepare it again.
_PREPARE_AGAIN = {"26000", "0A000"}  # invalid_sql_statement_name, feature_not_supported


def _prepared_names() -> set[str]:
    raw = connection.connection
    held = getattr(connection, "_pmhub_prepared", None)
    if held is None or held[0] is not raw:
        held = connection._pmhub_prepared = (raw, set())
    return held[1]


def execute(cursor, name: str, sql: str, params: list, *, before: str = "", before_params: list = ()) -> None:
    """cursor.execute(sql, params), sql prepared once per connection under name.

    sql holds one statement with %s placeholders (no other % sign). before: a
    statement sent ahead of it in the same query string (one round trip; in
    autocommit both run in one implicit transaction), with its own parameters.
    """
    prefix = f"{before}; " if before else ""
    if connection.vendor != "postgresql":
        cursor.execute(prefix + sql, [*before_params, *params])
        return
    for attempt in (1, 2):
        names = _prepared_names()
        if name not in names:
            numbered = sql.split("%s")
            body = "".join(part + (f"${i + 1}" if i < len(numbered) - 1 else "") for i, part in enumerate(numbered))
            cursor.execute(f"PREPARE {name} AS {body}")
            names.add(name)
        call = f"EXECUTE {name}({', '.join(['%s'] * len(params))})" if params else f"EXECUTE {name}"
        try:
            cursor.execute(prefix + call, [*before_params, *params])
            return
        except DatabaseError as exc:
            if (attempt == 2 or connection.in_atomic_block
                    or getattr(exc.__cause__, "pgcode", None) not in _PREPARE_AGAIN):
                raise
            names.clear()
            cursor.execute("DEALLOCATE ALL")
