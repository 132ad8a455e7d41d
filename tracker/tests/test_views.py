from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from recommendations.models import Recommendation
from tracker.tests.conftest import csv_bytes

pytestmark = pytest.mark.django_db

GOOD = csv_bytes(
    "Cliente;Raccomandazione;Data;Categoria di risposta;Giustificazione",
    "Acme Dental;Enable MFA;2025-01-10;Rifiutata;Troppo costoso",
    "Bravo Legal;Offsite backups;2025-02-10;;",
)


@pytest.fixture
def staff(client, world, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    client.force_login(world["admin"])
    return client


def _preview(client, data: bytes, **extra):
    upload = SimpleUploadedFile("sheet.csv", data, content_type="text/csv")
    return client.post(reverse("tracker:tracker_preview"), {"file": upload, **extra})


def test_the_preview_shows_the_would_be_result_and_confirming_imports_it(staff):
    page = staff.get(reverse("tracker:tracker"))
    assert page.status_code == 200 and b'id="import-form"' in page.content
    preview = _preview(staff, GOOD)
    assert preview.status_code == 200
    assert "dry run of sheet.csv: created 2, unchanged 0, updated 0, refused 0" in (
        preview.content.decode()
    )
    assert not Recommendation.objects.exists()
    confirm = preview.context["confirm"]
    done = staff.post(reverse("tracker:tracker_confirm"), confirm.initial, follow=True)
    assert "Imported sheet.csv: created 2, unchanged 0, updated 0, refused 0." in (
        done.content.decode()
    )
    assert Recommendation.objects.count() == 2


def test_refused_rows_are_listed_and_cannot_be_confirmed(staff):
    bad = GOOD.replace(b"Troppo costoso", b"")
    preview = _preview(staff, bad)
    html = preview.content.decode()
    assert "A rejection needs a justification." in html and 'id="import-errors"' in html
    assert "tracker/confirm/" not in html
    assert not Recommendation.objects.exists()


def test_an_unreadable_file_is_reported_under_the_file_field(staff):
    response = _preview(staff, b"Client;Notes\r\nAcme;x\r\n")
    assert response.status_code == 400
    assert (
        response.context["form"]
        .errors["file"][0]
        .startswith("The sheet has no Recommendation or Date made column")
    )
    assert '<p class="field-error">The sheet has no Recommendation' in response.content.decode()


def test_a_confirmation_for_a_file_never_previewed_imports_nothing(staff):
    token = "0" * 64
    response = staff.post(
        reverse("tracker:tracker_confirm"), {"token": token, "filename": "x.csv"}, follow=True
    )
    assert "That preview is no longer valid; upload the file again." in response.content.decode()
    assert not Recommendation.objects.exists()


def test_an_auditor_may_download_but_not_import(client, auditor, world):
    client.force_login(auditor)
    assert b'id="import-form"' not in client.get(reverse("tracker:tracker")).content
    assert _preview(client, GOOD).status_code == 403
    response = client.get(reverse("tracker:tracker_export"), {"format": "csv", "language": "en"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_a_technician_downloads_only_their_clients_rows(staff, client, technician, world):
    _ = staff  # the admin imports both clients' rows first
    preview = _preview(staff, GOOD)
    staff.post(reverse("tracker:tracker_confirm"), preview.context["confirm"].initial)
    client.force_login(technician)
    response = client.get(reverse("tracker:tracker_export"), {"format": "csv", "language": "it"})
    text = b"".join(response.streaming_content).decode("utf-8")
    assert "Acme Dental" in text and "Bravo Legal" not in text
    xlsx = client.get(reverse("tracker:tracker_export"), {"format": "xlsx", "language": "en"})
    assert xlsx["Content-Disposition"].startswith('attachment; filename="heeded-tracker-')


def test_a_preview_removes_uploads_older_than_a_day(staff, settings):
    import os
    import time

    folder = settings.DATA_DIR / "tracker-uploads"
    folder.mkdir()
    old, fresh = folder / "1-old", folder / "1-fresh"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    _preview(staff, GOOD)
    assert not old.exists() and fresh.exists()


def test_an_unknown_sheet_name_is_reported_under_the_sheet_field(staff):
    import io

    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    book.add_worksheet("2025").write_row(0, 0, ["Client", "Recommendation", "Date made"])
    book.close()
    upload = SimpleUploadedFile("book.xlsx", out.getvalue())
    response = staff.post(reverse("tracker:tracker_preview"), {"file": upload, "sheet": "2024"})
    assert response.status_code == 400
    assert response.context["form"].errors["sheet"] == [
        "The workbook has no sheet '2024'; it has: 2025."
    ]


UNKNOWN_DECISIONS = csv_bytes(
    "Cliente;Raccomandazione;Data;Esito finale;Giustificazione",
    "Acme Dental;Abilitare l'MFA;2025-01-10;Rifiutata;Troppo costoso & lento",
    "Bravo Legal;Backup fuori sede;2025-02-10;;",
)


def test_a_column_not_imported_can_be_mapped_on_the_preview_and_the_import_follows_it(staff):
    preview = _preview(staff, UNKNOWN_DECISIONS)
    html = preview.content.decode()
    assert "column D &#x27;Esito finale&#x27; was not imported" in html
    assert "warning: column D &#x27;Esito finale&#x27; holds response categories" in html
    remap = preview.context["remap"]
    assert [f.label for f in remap if f.name.startswith("column_")] == ["column D 'Esito finale'"]
    assert '<select name="column_3"' in html
    again = staff.post(reverse("tracker:tracker_remap"), {**remap.initial, "column_3": "category"})
    assert again.status_code == 200
    text = again.content.decode()
    assert "column D &#x27;Esito finale&#x27; is imported as the response category" in text
    assert "holds response categories" not in text
    confirm = again.context["confirm"]
    assert confirm.initial["mapping"] == "Esito finale=category"
    assert not Recommendation.objects.exists()
    staff.post(reverse("tracker:tracker_confirm"), confirm.initial)
    assert sorted(Recommendation.objects.values_list("status", flat=True)) == [
        "awaiting_response",
        "rejected",
    ]


def test_a_remap_of_a_file_never_previewed_imports_nothing(staff):
    response = staff.post(
        reverse("tracker:tracker_remap"),
        {"token": "1" * 64, "filename": "x.csv", "column_3": "category"},
        follow=True,
    )
    assert "That preview is no longer valid; upload the file again." in response.content.decode()
    assert not Recommendation.objects.exists()
