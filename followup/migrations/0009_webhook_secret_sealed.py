"""Webhook signing secrets were kept in the clear; seal the ones already stored with
the installation's keys (lib.crypto), as every new one is."""

from django.db import migrations, models


def seal(apps, schema_editor):
    from lib import crypto

    db = schema_editor.connection.alias
    endpoints = apps.get_model("followup", "WebhookEndpoint").objects.using(db)
    plain = endpoints.filter(secret__startswith="whsec_")  # noqa: S106
    for endpoint in plain.only("pk", "secret"):
        sealed = crypto.encrypt(endpoint.secret.encode("ascii")).decode("ascii")
        endpoints.filter(pk=endpoint.pk).update(secret=sealed)


def unseal(apps, schema_editor):
    from lib import crypto

    db = schema_editor.connection.alias
    endpoints = apps.get_model("followup", "WebhookEndpoint").objects.using(db)
    for endpoint in endpoints.exclude(secret="").only("pk", "secret"):
        plain = crypto.decrypt(endpoint.secret.encode("ascii")).decode("ascii")
        endpoints.filter(pk=endpoint.pk).update(secret=plain)


class Migration(migrations.Migration):
    dependencies = [("followup", "0008_step_unnotified_index")]

    operations = [
        migrations.AlterField(
            model_name="webhookendpoint",
            name="secret",
            field=models.TextField(blank=True, help_text="The whsec_ secret, sealed (lib.crypto)."),
        ),
        migrations.RunPython(seal, unseal),
    ]
