"""A reply counts once by its Message-ID, per client (docs/inbound-mail.md, section 8).

Stored Message-IDs become their bare ``<id>`` (the key the check compares). A message
that counted again under a Message-ID that had already counted for the client (a replay
received before this check existed) keeps its outcome, since what it recorded is history
only staff may correct, but its Message-ID is marked with the earlier message's id so the
constraint can hold and the marker can be searched for.
"""

import re

from django.conf import settings
from django.db import migrations, models

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
COUNTED = ("recorded", "proposal")


def normalise(apps, schema_editor):
    db = schema_editor.connection.alias
    inbound = apps.get_model("answers", "InboundMessage").objects.using(db)
    first: dict[tuple[int, str], int] = {}
    for row in inbound.exclude(message_id="").order_by("pk").iterator(chunk_size=500):
        found = MESSAGE_ID.findall(row.message_id)
        message_id = found[0] if len(found) == 1 else row.message_id
        if row.outcome in COUNTED and row.client_id is not None:
            earlier = first.setdefault((row.client_id, message_id), row.pk)
            if earlier != row.pk:
                message_id = f"{message_id} (counted again; first counted as inbound {earlier})"
        if message_id != row.message_id:
            inbound.filter(pk=row.pk).update(message_id=message_id[:998])


class Migration(migrations.Migration):
    dependencies = [
        ("answers", "0005_submission_response_proposal"),
        ("clients", "0002_clientpolicy"),
        ("recommendations", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(normalise, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="inboundmessage",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("outcome__in", ["recorded", "proposal"]),
                    models.Q(("message_id", ""), _negated=True),
                ),
                fields=("client", "message_id"),
                name="inbound_message_id_counts_once",
            ),
        ),
    ]
