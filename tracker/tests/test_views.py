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


# --- a large sheet: previewed by the worker while the page shows its progress ----------


@pytest.fixture
def large(monkeypatch):
    """Every upload counts as large: it goes to the worker."""
    from tracker import views

    monkeypatch.setattr(views, "INLINE_BYTES", 0)


def _run_queued(now=None):
    from django.utils import timezone

    from tracker.previews import preview_take

    return preview_take(now or timezone.now(), "worker-test")


def test_a_large_sheet_is_previewed_by_the_worker_and_the_page_follows_it(
    staff, large, django_assert_max_num_queries
):
    from tracker.models import Preview
    from tracker.previews import ProgressFile, progress_path

    queued = _preview(staff, GOOD)
    preview = Preview.objects.get()
    page_url = reverse("tracker:tracker_preview_show", args=[preview.pk])
    poll_url = reverse("tracker:tracker_preview_progress", args=[preview.pk])
    assert (queued.status_code, queued["Location"]) == (302, page_url)

    waiting = staff.get(page_url).content.decode()
    assert f'hx-get="{poll_url}" hx-trigger="every 1s" hx-swap="outerHTML"' in waiting
    assert "Waiting for the worker to start the preview" in waiting
    # Without JavaScript the page refreshes itself, and says how to.
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in waiting
    assert f'<a href="{page_url}" id="preview-refresh">Refresh</a>' in waiting
    assert "<script>" not in waiting  # the CSP allows no inline script

    ProgressFile(progress_path(preview.pk), clock=iter([0.0, 1.0]).__next__)(0, 2)
    ProgressFile(progress_path(preview.pk), clock=iter([1.0]).__next__)
    with django_assert_max_num_queries(6):
        poll = staff.get(poll_url, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and "HX-Refresh" not in poll
    assert '<progress id="preview-bar" max="2" value="0">' in poll.content.decode()
    assert "0 of 2 rows checked (0%)" in poll.content.decode()

    assert _run_queued() == f"preview {preview.pk} of sheet.csv: done"
    done = staff.get(poll_url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true" and "hx-trigger" not in done.content.decode()

    shown = staff.get(page_url)
    assert shown.status_code == 200
    assert "dry run of sheet.csv: created 2, unchanged 0, updated 0, refused 0" in (
        shown.content.decode()
    )
    assert 'id="preview-progress"' not in shown.content.decode()
    assert not Recommendation.objects.exists()
    imported = staff.post(
        reverse("tracker:tracker_confirm"), shown.context["confirm"].initial, follow=True
    )
    assert "Imported sheet.csv: created 2, unchanged 0, updated 0, refused 0." in (
        imported.content.decode()
    )
    assert Recommendation.objects.count() == 2
    assert not Preview.objects.exists()  # the import forgets its previews
    assert staff.get(page_url).status_code == 404


def test_the_progress_shows_done_of_total_and_the_time_left(staff, large):
    from tracker.models import Preview, PreviewStatus
    from tracker.previews import ProgressFile, progress_path

    _preview(staff, GOOD)
    preview = Preview.objects.get()
    Preview.objects.filter(pk=preview.pk).update(status=PreviewStatus.RUNNING)
    poll_url = reverse("tracker:tracker_preview_progress", args=[preview.pk])
    assert "Reading the sheet" in staff.get(poll_url).content.decode()
    board = ProgressFile(progress_path(preview.pk), clock=iter([0.0, 10.0]).__next__)
    board(1_000, 50_000)
    board(6_000, 50_000)  # 500 rows/s: 88 s to go
    html = staff.get(poll_url).content.decode()
    assert "6,000 of 50,000 rows checked (12%), about 88 s left" in html
    board = ProgressFile(progress_path(preview.pk), clock=iter([0.0, 10.0]).__next__)
    board(1_000, 50_000)
    board(2_000, 50_000)  # 100 rows/s: 480 s to go
    assert "2,000 of 50,000 rows checked (4%), about 8 min left" in (
        staff.get(poll_url).content.decode()
    )


def test_refused_rows_and_unreadable_files_read_the_same_from_the_worker(staff, large):
    from tracker.models import Preview

    _preview(staff, GOOD.replace(b"Troppo costoso", b""))
    _run_queued()
    refused = staff.get(reverse("tracker:tracker_preview_show", args=[Preview.objects.get().pk]))
    html = refused.content.decode()
    assert "<td>2</td><td>Giustificazione</td><td>A rejection needs a justification.</td>" in (html)
    assert "tracker/confirm/" not in html

    Preview.objects.all().delete()
    _preview(staff, b"Client;Notes\r\nAcme;x\r\n")
    _run_queued()
    unreadable = staff.get(reverse("tracker:tracker_preview_show", args=[Preview.objects.get().pk]))
    assert unreadable.status_code == 400
    assert '<p class="field-error">The sheet has no Recommendation' in (unreadable.content.decode())


def test_nobody_else_sees_a_preview_not_even_another_admin(staff, large, world):
    from django.test import Client

    from accounts.choices import Role
    from accounts.models import User
    from tracker.models import Preview

    _preview(staff, GOOD)
    _run_queued()
    pk = Preview.objects.get().pk
    other = User.objects.create_user(username="eve", role=Role.ADMIN, password="x" * 12)
    client = Client()  # another browser; ``staff`` is the uploader's
    client.force_login(other)
    for name in ("tracker:tracker_preview_show", "tracker:tracker_preview_progress"):
        assert client.get(reverse(name, args=[pk])).status_code == 404
        assert staff.get(reverse(name, args=[pk])).status_code == 200


def test_a_preview_no_worker_takes_says_so_after_a_while(staff, large):
    import datetime as dt

    from tracker.models import Preview

    _preview(staff, GOOD)
    preview = Preview.objects.get()
    poll_url = reverse("tracker:tracker_preview_progress", args=[preview.pk])
    assert 'id="preview-no-worker"' not in staff.get(poll_url).content.decode()
    Preview.objects.update(created_at=preview.created_at - dt.timedelta(minutes=1))
    assert "No worker has started it yet." in staff.get(poll_url).content.decode()


def test_a_failed_preview_says_so_and_offers_the_form_again(staff, large, monkeypatch):
    from tracker import previews
    from tracker.models import Preview

    def crash(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(previews, "tracker_import", crash)
    _preview(staff, GOOD)
    _run_queued()
    page = staff.get(reverse("tracker:tracker_preview_show", args=[Preview.objects.get().pk]))
    html = page.content.decode()
    assert "The preview could not be made (RuntimeError); upload the file again." in html
    assert 'id="import-form"' in html and 'id="import-result"' not in html
