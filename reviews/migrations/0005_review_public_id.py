"""Review.public_id, step 1 of 3: the column, nullable (Django's recipe for a new unique field;
every existing row gets its own value in 0006, the constraint comes in 0007)."""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0004_author_email"),
    ]

    operations = [
        migrations.AddField(
            model_name="review",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, null=True),
        ),
    ]
