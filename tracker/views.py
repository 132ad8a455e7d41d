"""The tracker page: upload a sheet, see what importing it would do (a dry run),
confirm; and download the sheet of what the user may see."""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import Capability, allows, require
from tracker.export import csv_chunks, export_rows, write_xlsx
from tracker.forms import ConfirmForm, ExportForm, ImportForm, RemapForm, mapping_text
from tracker.layout import Mapping
from tracker.reader import UnreadableFile
from tracker.services import ImportReport, sheet_layout, tracker_import

UPLOAD_LIFETIME_SECONDS = 24 * 3600
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload_path(user_id: int, token: str) -> Path:
    # Kept between the preview and the confirmation, per user; the token is the
    # file's SHA-256, so a confirmation imports exactly the file that was previewed.
    folder = Path(settings.DATA_DIR) / "tracker-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    # Previews never confirmed are not kept past a day.
    stale = time.time() - UPLOAD_LIFETIME_SECONDS
    for old in folder.iterdir():
        if old.stat().st_mtime < stale:
            old.unlink(missing_ok=True)
    return folder / f"{user_id}-{token}"


def _page(request: HttpRequest, status: int = 200, **context: object) -> HttpResponse:
    context.setdefault("form", ImportForm() if allows(request.user, Capability.WRITE) else None)
    context.setdefault("export_form", ExportForm(user=request.user))
    return render(request, "tracker/tracker.html", context, status=status)


@login_required
@require_GET
def tracker_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def tracker_preview(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.WRITE)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, status=400, form=form)
    upload = form.cleaned_data["file"]
    data = upload.read()
    options = {
        "sheet": form.cleaned_data["sheet"] or None,
        "skip_invalid": form.cleaned_data["skip_invalid"],
        "create_missing": form.cleaned_data["create_missing"],
    }
    try:
        report = tracker_import(
            source=data,
            filename=upload.name,
            actor=request.user,
            now=timezone.now(),
            dry_run=True,
            **options,
        )
    except UnreadableFile as exc:
        field = "sheet" if "sheet" in str(exc) and options["sheet"] else "file"
        form.add_error(field, str(exc))
        return _page(request, status=400, form=form)
    token = hashlib.sha256(data).hexdigest()
    _upload_path(request.user.pk, token).write_bytes(data)
    initial = {"token": token, "filename": upload.name, **options, "sheet": options["sheet"] or ""}
    return _page(request, form=form, **_confirmation(report, initial, {}))


def _confirmation(
    report: ImportReport, initial: dict[str, object], mapping: Mapping
) -> dict[str, object]:
    """The preview's two forms: confirm this very import, or map columns and preview
    again (a select per column the sheet has but the import does not use)."""
    initial = {**initial, "mapping": mapping_text(mapping)}
    remap = RemapForm(initial=initial, columns=report.choosable) if report.choosable else None
    return {"report": report, "confirm": ConfirmForm(initial=initial), "remap": remap}


@login_required
@require_POST
def tracker_remap(request: HttpRequest) -> HttpResponse:
    """Preview the uploaded file again with the columns chosen on the preview page."""
    require(request.user, Capability.WRITE)
    stale = _("That preview is no longer valid; upload the file again.")
    base = ConfirmForm(request.POST)
    path = _upload_path(request.user.pk, base.cleaned_data["token"]) if base.is_valid() else None
    if path is None or not path.is_file():
        messages.error(request, stale)
        return redirect("tracker:tracker")
    data, options = path.read_bytes(), base.cleaned_data
    sheet = options["sheet"] or None
    try:
        # The selects were drawn for the layout the previous mapping gave.
        layout = sheet_layout(
            data, filename=options["filename"], sheet=sheet, mapping=options["mapping"]
        )
        form = RemapForm(request.POST, columns=layout.choosable())
        if not form.is_valid():
            messages.error(request, stale)
            return redirect("tracker:tracker")
        mapping = form.chosen()
        report = tracker_import(
            source=data,
            filename=options["filename"],
            actor=request.user,
            now=timezone.now(),
            dry_run=True,
            sheet=sheet,
            skip_invalid=options["skip_invalid"],
            create_missing=options["create_missing"],
            mapping=mapping,
        )
    except UnreadableFile as exc:
        messages.error(request, str(exc))
        return redirect("tracker:tracker")
    initial = {k: options[k] for k in ("token", "filename", "skip_invalid", "create_missing")}
    return _page(request, **_confirmation(report, {**initial, "sheet": sheet or ""}, mapping))


@login_required
@require_POST
def tracker_confirm(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.WRITE)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That preview is no longer valid; upload the file again."))
        return redirect("tracker:tracker")
    path = _upload_path(request.user.pk, form.cleaned_data["token"])
    if not path.is_file():
        messages.error(request, _("That preview is no longer valid; upload the file again."))
        return redirect("tracker:tracker")
    try:
        report = tracker_import(
            source=path.read_bytes(),
            filename=form.cleaned_data["filename"],
            actor=request.user,
            now=timezone.now(),
            sheet=form.cleaned_data["sheet"] or None,
            skip_invalid=form.cleaned_data["skip_invalid"],
            create_missing=form.cleaned_data["create_missing"],
            mapping=form.cleaned_data["mapping"],
        )
    except UnreadableFile as exc:
        messages.error(request, str(exc))
        return redirect("tracker:tracker")
    path.unlink(missing_ok=True)
    if report.committed:
        messages.success(
            request,
            _(
                "Imported %(name)s: created %(created)s, unchanged %(unchanged)s, updated"
                " %(updated)s, refused %(refused)s."
            )
            % {
                "name": report.filename,
                "created": report.created,
                "unchanged": report.unchanged,
                "updated": report.updated,
                "refused": report.refused,
            },
        )
        return redirect("tracker:tracker")
    return _page(request, status=400, report=report)


@login_required
@require_GET
def tracker_export(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.GET, user=request.user)
    if not form.is_valid():
        return _page(request, status=400, export_form=form)
    language, fmt = form.cleaned_data["language"], form.cleaned_data["format"]
    client = form.cleaned_data["client"]
    rows = export_rows(request.user, language=language, client_id=client.pk if client else None)
    stem = f"heeded-{client.slug if client else 'tracker'}-{timezone.now():%Y-%m-%d}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            (chunk.encode("utf-8") for chunk in csv_chunks(rows, language=language)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
        return response
    # xlsxwriter needs a seekable file to zip the workbook; the spooled file stays in
    # memory for small exports and moves to disk for large ones.
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    write_xlsx(out, rows, language=language)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=f"{stem}.xlsx", content_type=XLSX_TYPE)
