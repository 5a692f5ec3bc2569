"""Prepared statements of the tracking write path (pmhub.prepared) survive what a session goes through."""
import pytest
from django.db import connection

from pmhub import prepared

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit, as the write path runs


def _held(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [name])
        return cursor.fetchone()[0]


def test_a_statement_is_prepared_once_per_connection_and_answers_each_call():
    with connection.cursor() as cursor:
        for n in range(3):
            prepared.execute(cursor, "pmhub_test_add", "SELECT %s::int + %s::int", [n, 40])
            assert cursor.fetchone() == (n + 40,)
    assert _held("pmhub_test_add") == 1
    connection.close()  # a new connection does not have it, and prepares it again
    with connection.cursor() as cursor:
        prepared.execute(cursor, "pmhub_test_add", "SELECT %s::int + %s::int", [1, 1])
        assert cursor.fetchone() == (2,)
    assert _held("pmhub_test_add") == 1


def test_a_statement_the_session_lost_is_prepared_again():
    with connection.cursor() as cursor:
        prepared.execute(cursor, "pmhub_test_lost", "SELECT %s::text", ["a"])
        cursor.execute("DISCARD ALL")  # what a pooler does between clients
        prepared.execute(cursor, "pmhub_test_lost", "SELECT %s::text", ["b"])
        assert cursor.fetchone() == ("b",)


def test_a_statement_a_migration_made_stale_is_prepared_again():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE pmhub_test_prepared (a int)")
        try:
            cursor.execute("INSERT INTO pmhub_test_prepared VALUES (1)")
            prepared.execute(cursor, "pmhub_test_stale", "SELECT * FROM pmhub_test_prepared WHERE a = %s", [1])
            assert cursor.fetchone() == (1,)
            cursor.execute("ALTER TABLE pmhub_test_prepared ADD COLUMN b int DEFAULT 2")
            prepared.execute(cursor, "pmhub_test_stale", "SELECT * FROM pmhub_test_prepared WHERE a = %s", [1])
            assert cursor.fetchone() == (1, 2)
        finally:
            cursor.execute("DROP TABLE pmhub_test_prepared")


def test_the_statement_before_runs_first_in_the_same_round_trip():
    with connection.cursor() as cursor:
        prepared.execute(cursor, "pmhub_test_setting", "SELECT current_setting('application_name')", [],
                         before="SET application_name = %s", before_params=["pmhub-prepared-test"])
        assert cursor.fetchone() == ("pmhub-prepared-test",)
        cursor.execute("RESET application_name")
