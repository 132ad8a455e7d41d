"""Link each web submission to the Response or Proposal it became, by foreign key.

Pages used to find them by parsing ``evidence_ref`` ("submission:N"), free text that
staff can also type; a phone answer on one client's item could so show on another
client's used-link page. The keys are filled from the existing references only when the
referenced submission belongs to the same client and the same recommendation; every
other reference is left as text and followed by nothing. Where several records name the
same submission, the oldest (the one the service wrote with it) wins.
"""

import re

import django.db.models.deletion
from django.db import migrations, models

SUBMISSION_REF = re.compile(r"^submission:(\d+)(?:\s|$)")


def fill(apps, schema_editor):
    db = schema_editor.connection.alias
    submissions = apps.get_model("answers", "Submission").objects.using(db)
    for model, field in (
        (apps.get_model("recommendations", "Response"), "response"),
        (apps.get_model("answers", "Proposal"), "proposal"),
    ):
        rows = (
            model.objects.using(db)
            .filter(evidence_ref__startswith="submission:")
            .select_related("recommendation")
            .order_by("pk")
        )
        for row in rows.iterator(chunk_size=500):
            found = SUBMISSION_REF.match(row.evidence_ref)
            if found is None:
                continue
            submissions.filter(
                pk=int(found.group(1)),
                recommendation_id=row.recommendation_id,
                recommendation__client_id=row.recommendation.client_id,
                contact__client_id=row.recommendation.client_id,
                **{f"{field}__isnull": True},
            ).update(**{field: row.pk})


class Migration(migrations.Migration):
    dependencies = [
        ("answers", "0004_redact_sent_tokens"),
        ("recommendations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="proposal",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="answers.proposal",
            ),
        ),
        migrations.AddField(
            model_name="submission",
            name="response",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="recommendations.response",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
