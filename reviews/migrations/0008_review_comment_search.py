"""A GIN index for the backend's full-text search over review texts ('simple' configuration,
see reviews.selectors.SEARCH_CONFIG)."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations


class AddIndexOnPostgres(migrations.AddIndex):
    """GIN is a Postgres feature; on the SQLite fallback only the migration state changes."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0007_comments_and_dialogue"),
    ]

    operations = [
        AddIndexOnPostgres(
            model_name="review",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.search.SearchVector("comment", config="simple"),
                name="review_comment_fts",
            ),
        ),
    ]
