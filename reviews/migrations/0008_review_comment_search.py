"""A GIN index for the backend's full-text search over review texts ('simple' configuration,
see reviews.selectors.SEARCH_CONFIG)."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations

from companies.db import AddIndexOnPostgres  # GIN is a Postgres feature


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
