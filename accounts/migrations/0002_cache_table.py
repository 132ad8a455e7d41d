"""Create the database cache table (settings.CACHES) that holds allauth's rate limits.

Django has no model for it; ``createcachetable`` makes it, and is a no-op when the
table exists. Running it here means ``heeded migrate`` (and so ``make demo``,
``make serve`` and a fresh deployment) always has it.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=False),
    ]
