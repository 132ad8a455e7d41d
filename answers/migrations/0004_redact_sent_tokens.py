"""Take the answer-link and portal sign-in tokens out of e-mails already delivered.

Before tokens were sealed (lib.sealed), the outbox kept each presentation and sign-in
e-mail with its live token after sending. Delivered and abandoned messages are
redacted here; a message still waiting goes out as it was queued.
"""

import re

from django.db import migrations

TOKEN_IN_URL = re.compile(r"(/answer/|/portal/sign-in/)[A-Za-z0-9_-]{20,}(/)")
DONE = ("sent", "failed")


def redact(apps, schema_editor):
    outbox = apps.get_model("followup", "OutboxMessage")
    # The database being migrated, which need not be the default one.
    db = schema_editor.connection.alias
    rows = outbox.objects.using(db).filter(kind="email", status__in=DONE).only("payload")
    for row in rows.iterator(chunk_size=500):
        payload = dict(row.payload)
        changed = False
        for field in ("text", "html"):
            value = payload.get(field)
            if isinstance(value, str):
                redacted = TOKEN_IN_URL.sub(r"\1[redacted]\2", value)
                changed = changed or redacted != value
                payload[field] = redacted
        if changed:
            outbox.objects.using(db).filter(pk=row.pk).update(payload=payload)


class Migration(migrations.Migration):
    dependencies = [
        ("answers", "0003_sealed_tokens"),
        ("followup", "0005_delete_clientpolicy"),
    ]

    operations = [migrations.RunPython(redact, migrations.RunPython.noop)]
