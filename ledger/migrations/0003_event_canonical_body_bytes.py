from django.db import migrations, models

import lib.canonical


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_append_only_triggers")]

    operations = [
        # ADD COLUMN: the table and its append-only triggers stay as they are. Events
        # appended before keep a null body_bytes; the verifier rebuilds theirs.
        migrations.AddField(
            model_name="event", name="body_bytes", field=models.BinaryField(null=True)
        ),
        # The encoder changes only the text written from now on, not the column. Left to
        # itself, SQLite's schema editor would rebuild the table for it and drop the
        # append-only triggers with the old one.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="data",
                    field=models.JSONField(
                        default=dict, encoder=lib.canonical.CanonicalJSONEncoder
                    ),
                )
            ]
        ),
    ]
