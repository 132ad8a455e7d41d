from django.db import migrations


def install(apps, schema_editor):
    from ledger import triggers

    triggers.install_append_only(schema_editor.connection)


def remove(apps, schema_editor):
    from ledger import triggers

    triggers.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
