"""``heeded catalog_load``: add the shipped security catalog to the database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from catalog.data import catalog_load


class Command(BaseCommand):
    help = (
        "Add the shipped security recommendations (CIS Controls v8 / NIST CSF 2.0) to the "
        "catalog. Keys that already exist are skipped, so running it again changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            result = catalog_load(now=timezone.now())
        self.stdout.write(
            f"Catalog: {len(result.created)} template(s) added, "
            f"{len(result.skipped)} already present."
        )
