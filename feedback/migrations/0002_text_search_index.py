"""A GIN index for full-text search of feedback on PostgreSQL (SQLite searches by substring).

The expression is exactly the one selectors.text_search builds, so the planner uses it.
"""
from django.db import migrations

INDEX = "feedback_text_search_gin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON feedback_feedback "
        "USING gin (to_tsvector('english'::regconfig, COALESCE(text, '')))"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
