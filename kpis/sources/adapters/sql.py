"""SQL query against PostgreSQL, run read-only with a statement timeout.

The DSN (postgres://user:password@host:5432/db) is a secret. The query returns
either one row with one column (the value, stored at the slot's time) or rows of
(ts, value). Defences, in depth:
- the host goes through the same guard as HTTP (resolved, checked, then the
  connection pins the checked address via `hostaddr`);
- the session starts with default_transaction_read_only=on and the pull runs in
  a transaction begun with SET TRANSACTION READ ONLY, under statement_timeout,
  and always rolls back;
- one statement only: a query holding a second statement (which could COMMIT and
  switch read-only off) is refused before it is sent.
Still, give pmhub a database role that may only SELECT what it needs.
Other DSN schemes (SQLite files, MySQL...) are refused: a local SQLite file could
be pmhub's own database.
"""
from __future__ import annotations

import math
import os
import socket
import threading
from datetime import datetime, timezone as dt_timezone
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ValidationError

from kpis.sources.secrets import MASK
from kpis.timeseries.services import PointIn

from kpis.sources.adapters import net
from kpis.sources.adapters.base import (
    Adapter,
    FetchResult,
    PullError,
    TransientPullError,
    check_count,
    to_ts,
    to_value,
)

MAX_ROWS = 10_000
# The socket is cut this long after the source's timeout if the database has not answered.
HARD_GRACE = 2.0
SCHEMES = ("postgres", "postgresql")


def parse_dsn(dsn: str) -> dict:
    parts = urlsplit((dsn or "").strip())
    if parts.scheme not in SCHEMES:
        raise ValueError(f"only PostgreSQL DSNs (postgres://user:password@host:5432/db) are supported, "
                         f"not {parts.scheme or 'that'}")
    if not parts.hostname or "," in (parts.netloc or ""):
        raise ValueError("the DSN needs exactly one host name (no Unix sockets, no host lists)")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise ValueError("the DSN names no database")
    try:
        port = parts.port or 5432
    except ValueError:
        raise ValueError("the DSN's port is not a number") from None
    query = parse_qs(parts.query)
    return {"host": parts.hostname, "port": port, "dbname": dbname,
            "user": unquote(parts.username or ""), "password": unquote(parts.password or ""),
            "sslmode": (query.get("sslmode") or ["prefer"])[0]}


def masked_dsn(dsn: str) -> str:
    try:
        d = parse_dsn(dsn)
    except ValueError:
        return MASK
    user = f"{d['user']}:{MASK}@" if d["password"] else (f"{d['user']}@" if d["user"] else "")
    return f"postgres://{user}{d['host']}:{d['port']}/{d['dbname']}"


def single_statement(query: str) -> str:
    """The query without a trailing semicolon; ValueError if it holds more than one statement.

    A small lexer that knows quotes, quoted identifiers, dollar quotes and comments.
    """
    q, i, n, end = query, 0, len(query), None
    while i < n:
        c = q[i]
        if c in ("'", '"'):
            j = i + 1
            while j < n:
                if q[j] == c:
                    if j + 1 < n and q[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
        elif q.startswith("--", i):
            j = q.find("\n", i)
            i = n if j < 0 else j + 1
        elif q.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if q.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif q.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            i = j
        elif c == "$":
            j = i + 1
            while j < n and (q[j].isalnum() or q[j] == "_"):
                j += 1
            if j < n and q[j] == "$" and not q[i + 1:j][:1].isdigit():
                tag = q[i:j + 1]
                k = q.find(tag, j + 1)
                i = n if k < 0 else k + len(tag)
            else:
                i += 1
        elif c == ";":
            if end is None:
                end = i
            i += 1
        else:
            if end is not None and not c.isspace():
                raise ValueError("the query holds more than one statement; give one SELECT")
            i += 1
    body = (q[:end] if end is not None else q).strip()
    if not body:
        raise ValueError("the query is empty")
    return body


class SqlAdapter(Adapter):
    kind = "sql"

    def clean(self, config, secrets):
        errors = {}
        dsn = (secrets.get("dsn") or "").strip()
        try:
            parse_dsn(dsn)
        except ValueError as exc:
            errors["dsn"] = [str(exc)[:1].upper() + str(exc)[1:] + "."]
        query = (config.get("query") or "").strip()
        try:
            query = single_statement(query)
        except ValueError as exc:
            errors["query"] = [str(exc)[:1].upper() + str(exc)[1:] + "."]
        if errors:
            raise ValidationError(errors)
        return {"query": query}, {"dsn": dsn}

    def fetch(self, *, config, secrets, slot, timeout):
        import psycopg2
        from psycopg2 import errors as pg_errors

        try:
            d = parse_dsn(secrets.get("dsn", ""))
            query = single_statement(config.get("query", ""))
        except ValueError as exc:
            raise PullError(str(exc)) from None
        address = net.resolve_checked(d["host"], d["port"])
        timeout_ms = max(int(timeout * 1000), 100)
        try:
            conn = psycopg2.connect(
                host=d["host"], hostaddr=address, port=d["port"], dbname=d["dbname"], user=d["user"] or None,
                password=d["password"] or None, sslmode=d["sslmode"], connect_timeout=max(int(math.ceil(min(timeout, 10))), 2),
                application_name="pmhub-pull",
                options=f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms} "
                        f"-c idle_in_transaction_session_timeout={timeout_ms + 5000}",
            )
        except psycopg2.OperationalError as exc:
            raise TransientPullError(f"cannot connect to the database at {d['host']}:{d['port']}: "
                                     f"{str(exc).strip().splitlines()[-1][:200]}") from None
        # The hard bound: statement_timeout stops the query on a server that answers; a
        # server (or network) that hangs would hold the thread forever, and the threads pool
        # that runs pulls enforces no Celery time limit. So, past the timeout plus a grace,
        # a timer thread shuts the connection's socket down and the blocked read returns.
        cut = _SocketCutter(conn, timeout + HARD_GRACE)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
                cursor.execute("SET LOCAL statement_timeout = %s", [timeout_ms])
                cursor.execute(query)
                if cursor.description is None:
                    raise PullError("the query returned no rows (is it a SELECT?)")
                columns = len(cursor.description)
                rows = cursor.fetchmany(MAX_ROWS + 1)
        except pg_errors.QueryCanceled:
            raise PullError(f"the query ran longer than {timeout:g} s and was cancelled") from None
        except pg_errors.ReadOnlySqlTransaction:
            raise PullError("the query tried to write; sources run read-only") from None
        except psycopg2.OperationalError as exc:
            if cut.fired:
                raise TransientPullError(f"the database did not answer within {timeout:g} s") from None
            raise TransientPullError(f"the database connection failed: {str(exc).strip()[:200]}") from None
        except psycopg2.Error as exc:
            raise PullError(f"the database refused the query: {(exc.pgerror or str(exc)).strip()[:300]}") from None
        finally:
            cut.cancel()
            try:
                if not cut.fired:
                    conn.rollback()
            except psycopg2.Error:
                pass
            finally:
                conn.close()
        if cut.fired:
            raise TransientPullError(f"the database did not answer within {timeout:g} s")
        if len(rows) > MAX_ROWS:
            raise PullError(f"the query returned more than {MAX_ROWS} rows; aggregate or limit it")
        if columns == 1:
            if len(rows) != 1:
                raise PullError(f"a one-column query must return one row (the value), not {len(rows)}")
            points = [PointIn(ts=slot, value=to_value(rows[0][0]))]
        elif columns == 2:
            points = [PointIn(ts=_row_ts(ts, i), value=to_value(value, f"row {i} value"))
                      for i, (ts, value) in enumerate(rows)]
        else:
            raise PullError(f"the query returns {columns} columns; return `value` or `ts, value`")
        return FetchResult(check_count(points), detail=f"{masked_dsn(secrets.get('dsn', ''))}")

    def describe(self, config, secrets):
        return [("Database", masked_dsn(secrets.get("dsn", ""))), ("Query", config.get("query", ""))]


class _SocketCutter:
    """Shuts a psycopg2 connection's socket down after `seconds` unless cancelled first."""

    def __init__(self, conn, seconds: float):
        self.conn, self.fired, self.cancelled = conn, False, False
        self.lock = threading.Lock()  # cancel() waits for a firing timer: the fd is never reused under it
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True
        self.timer.start()

    def _fire(self):
        with self.lock:
            if self.cancelled:
                return
            self.fired = True
            try:
                sock = socket.socket(fileno=os.dup(self.conn.fileno()))  # shutdown acts on the socket
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                finally:
                    sock.close()
            except Exception:  # noqa: BLE001 - the connection may already be gone
                pass

    def cancel(self):
        """Before the connection is closed; afterwards `fired` is final."""
        self.timer.cancel()
        with self.lock:
            self.cancelled = True


def _row_ts(raw, i):
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=dt_timezone.utc)
    return to_ts(raw, f"row {i} ts")
