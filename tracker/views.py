"""The tracker page: upload a sheet, see what importing it would do (a dry run),
confirm; and download the sheet of what the user may see."""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import Capability, allows, require
from tracker.columns import parse_mappings
from tracker.export import csv_chunks, export_rows, write_xlsx
from tracker.forms import ConfirmForm, ExportForm, ImportForm, RemapForm, mapping_text
from tracker.layout import Mapping
from tracker.models import Preview, PreviewStatus
from tracker.previews import (
    INLINE_BYTES,
    preview_figures,
    preview_list_for,
    preview_queue,
    previews_forget,
    read_upload,
    report_from_json,
    upload_path,
)
from tracker.reader import UnreadableFile
from tracker.services import ImportReport, sheet_layout, tracker_import

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# How long a preview may wait for a worker before the page says none seems to run.
WAITING_HINT_SECONDS = 15


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
    return _start(
        request,
        data=upload.read(),
        filename=upload.name,
        sheet=form.cleaned_data["sheet"],
        skip_invalid=form.cleaned_data["skip_invalid"],
        create_missing=form.cleaned_data["create_missing"],
        form=form,
    )


def _start(
    request: HttpRequest,
    *,
    data: bytes,
    filename: str,
    sheet: str,
    skip_invalid: bool,
    create_missing: bool,
    mapping: Mapping | None = None,
    form: ImportForm | None = None,
) -> HttpResponse:
    """Preview ``data``: at once when it is small, else in the worker, sending the
    browser to the page that shows its progress."""
    inline = len(data) <= INLINE_BYTES
    preview = preview_queue(
        owner=request.user,
        data=data,
        filename=filename,
        now=timezone.now(),
        token=hashlib.sha256(data).hexdigest(),
        sheet=sheet,
        skip_invalid=skip_invalid,
        create_missing=create_missing,
        mapping=mapping_text(mapping or {}),
        worker=f"web:{socket.gethostname()}:{os.getpid()}" if inline else "",
    )
    if preview.pending:
        return redirect("tracker:tracker_preview_show", pk=preview.pk)
    return _show(request, preview, form=form)


@login_required
@require_GET
def tracker_preview_show(request: HttpRequest, pk: int) -> HttpResponse:
    """A preview: its progress while the worker runs it, then the preview itself.
    Only the user who uploaded the file sees it (anyone else gets a 404)."""
    return _show(request, get_object_or_404(preview_list_for(request.user), pk=pk))


@login_required
@require_GET
def tracker_preview_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """What the progress page asks for every second (htmx): the progress again, or,
    once the preview is done, the instruction to load the page that shows it."""
    preview = get_object_or_404(preview_list_for(request.user), pk=pk)
    response = render(request, "tracker/_preview_progress.html", _progress(preview))
    if not preview.pending:
        response["HX-Refresh"] = "true"
    return response


def _progress(preview: Preview) -> dict[str, object]:
    waited = (timezone.now() - preview.created_at).total_seconds()
    return {
        "preview": preview,
        "figures": preview_figures(preview) if preview.pending else None,
        "no_worker": preview.status == PreviewStatus.QUEUED and waited > WAITING_HINT_SECONDS,
    }


def _show(request: HttpRequest, preview: Preview, form: ImportForm | None = None) -> HttpResponse:
    if preview.pending:
        return _page(request, **_progress(preview))
    options = {
        "sheet": preview.sheet,
        "skip_invalid": preview.skip_invalid,
        "create_missing": preview.create_missing,
    }
    if form is None:
        form = ImportForm(initial=options)
        form.cleaned_data = {}  # unbound: lets add_error name the field at fault
    if preview.status == PreviewStatus.UNREADABLE:
        form.add_error(preview.error_field or "file", preview.error)
        return _page(request, status=400, form=form)
    if preview.status == PreviewStatus.FAILED or preview.result is None:
        return _page(
            request, form=form, failed=_(preview.error) if preview.error else preview.status
        )
    initial = {"token": preview.file_sha256, "filename": preview.filename, **options}
    mapping = parse_mappings(preview.mapping.splitlines()) if preview.mapping else {}
    return _page(
        request, form=form, **_confirmation(report_from_json(preview.result), initial, mapping)
    )


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
    path = upload_path(request.user.pk, base.cleaned_data["token"]) if base.is_valid() else None
    data = read_upload(path) if path is not None else None
    if data is None:
        messages.error(request, stale)
        return redirect("tracker:tracker")
    options = base.cleaned_data
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
    except UnreadableFile as exc:
        messages.error(request, str(exc))
        return redirect("tracker:tracker")
    return _start(
        request,
        data=data,
        filename=options["filename"],
        sheet=options["sheet"],
        skip_invalid=options["skip_invalid"],
        create_missing=options["create_missing"],
        mapping=mapping,
    )


@login_required
@require_POST
def tracker_confirm(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.WRITE)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That preview is no longer valid; upload the file again."))
        return redirect("tracker:tracker")
    path = upload_path(request.user.pk, form.cleaned_data["token"])
    source = read_upload(path)
    if source is None:
        messages.error(request, _("That preview is no longer valid; upload the file again."))
        return redirect("tracker:tracker")
    try:
        report = tracker_import(
            source=source,
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
    previews_forget(owner=request.user, token=form.cleaned_data["token"])
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
