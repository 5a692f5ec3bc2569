"""Full-text search covers the stakeholder's name, organisation and e-mail as well as
the text, in one GIN-indexed expression (PostgreSQL only), so a search never falls
back to scanning every row. The expression is exactly selectors.text_search's."""
from django.db import migrations

OLD = "feedback_text_search_gin"
NEW = "feedback_search_gin"
EXPRESSION = (
    "to_tsvector('english'::regconfig, COALESCE(text, '') || ' ' || COALESCE(stakeholder_name, '') || ' ' "
    "|| COALESCE(organisation, '') || ' ' || COALESCE(stakeholder_email, ''))"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {OLD}")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {NEW} ON feedback_feedback USING gin ({EXPRESSION})")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {NEW}")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {OLD} ON feedback_feedback "
        "USING gin (to_tsvector('english'::regconfig, COALESCE(text, '')))"
    )


class Migration(migrations.Migration):
    dependencies = [("feedback", "0002_text_search_index")]
    operations = [migrations.RunPython(forwards, backwards)]
