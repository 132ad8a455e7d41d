from django.db import migrations


def forward(apps, schema_editor):
    from ledger import bodies, triggers

    connection = schema_editor.connection
    triggers.remove(connection)
    bodies.align_stored_bodies(connection)
    triggers.install(connection)


def backward(apps, schema_editor):
    from ledger import triggers

    triggers.remove(schema_editor.connection)
    triggers.install_append_only(schema_editor.connection)


class Migration(migrations.Migration):
    """Every stored body made to agree with its event's columns, then the database made
    to keep it so on every write (ledger/triggers.py): the verifier can then hash the
    stored bodies without comparing them with the columns row by row."""

    dependencies = [("ledger", "0003_event_canonical_body_bytes")]

    operations = [migrations.RunPython(forward, backward)]
