"""Give the shipped templates already in a database their Italian text.

Only a version whose English text is still word for word the shipped one, and which
has no Italian yet, gets the translation: a template an admin has revised or written
keeps what it has. The English a client may already have been shown does not change,
and a recommendation keeps its own copy of its text anyway.
"""

import json
from pathlib import Path

from django.db import migrations

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "security_catalog.json"
TEXT = ("title", "body", "risk_if_ignored")


def add_italian(apps, schema_editor):
    # The database being migrated, which `heeded migrate-to` makes other than the default.
    db = schema_editor.connection.alias
    TemplateVersion = apps.get_model("catalog", "TemplateVersion")
    entries = {e["key"]: e for e in json.loads(SHIPPED.read_text(encoding="utf-8"))}
    versions = (
        TemplateVersion.objects.using(db)
        .filter(template__key__in=list(entries), title_it="")
        .select_related("template")
    )
    for version in versions:
        entry = entries[version.template.key]
        if any(getattr(version, name) != entry[name] for name in TEXT):
            continue
        for name in TEXT:
            setattr(version, f"{name}_it", entry[f"{name}_it"])
        version.save(using=db, update_fields=[f"{name}_it" for name in TEXT])


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_version_italian_text")]

    operations = [migrations.RunPython(add_italian, migrations.RunPython.noop)]
