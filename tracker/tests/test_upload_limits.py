"""Uploads that would make the server unpack or read too much are refused first."""

from __future__ import annotations

import io
import zipfile

import pytest
import xlsxwriter

from lib import uploads
from lib.uploads import UploadRefused, check_zip_container
from tracker.reader import UnreadableFile
from tracker.services import tracker_import

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + b']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<si><t>&lol9;</t></si></sst>"
)


def _workbook() -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("Tracker")
    sheet.write_row(0, 0, ["Client", "Recommendation", "Date made"])
    sheet.write_row(1, 0, ["Acme Dental", "Enable MFA on the D'Angelo laptops", "2025-01-15"])
    book.close()
    return out.getvalue()


def _with_member(data: bytes, name: str, content: bytes) -> bytes:
    """``data`` with the part ``name`` replaced (or added), deflated."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            if member.filename != name:
                target.writestr(member, source.read(member))
        target.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def test_a_genuine_workbook_passes():
    check_zip_container(_workbook())


def test_a_zip_bomb_is_stopped_at_the_limit_while_unpacking():
    bomb = _with_member(_workbook(), "xl/media/padding.bin", b"\0" * (12 * 1024 * 1024))
    assert len(bomb) < 100 * 1024  # 12 MB of zeros packs into a few kilobytes
    with pytest.raises(UploadRefused, match=r"^The file unpacks to more than 8 MB"):
        check_zip_container(bomb, limit=8 * 1024 * 1024)


@pytest.mark.django_db
def test_the_tracker_refuses_a_workbook_that_unpacks_past_the_real_limit(admin, now):
    size = uploads.MAX_UNPACKED_BYTES + 1024 * 1024
    bomb = _with_member(_workbook(), "xl/worksheets/sheet1.xml", b" " * size)
    assert len(bomb) < 1024 * 1024  # a small upload, well under the 20 MB form limit
    with pytest.raises(UnreadableFile, match=r"^The file unpacks to more than 250 MB"):
        tracker_import(source=bomb, filename="tracker.xlsx", actor=admin, now=now)


@pytest.mark.django_db
def test_an_entity_bomb_is_refused_naming_its_part(admin, now):
    bomb = _with_member(_workbook(), "xl/sharedStrings.xml", BILLION_LAUGHS)
    with pytest.raises(UnreadableFile) as refused:
        tracker_import(source=bomb, filename="tracker.xlsx", actor=admin, now=now)
    assert str(refused.value) == (
        "The part 'xl/sharedStrings.xml' declares a document type (<!DOCTYPE or <!ENTITY), "
        "which a spreadsheet never needs; the file is refused."
    )


def test_a_doctype_split_across_two_chunks_is_still_seen(monkeypatch):
    monkeypatch.setattr(uploads, "_CHUNK", 7)
    bomb = _with_member(_workbook(), "xl/sharedStrings.xml", BILLION_LAUGHS)
    with pytest.raises(UploadRefused, match="declares a document type"):
        check_zip_container(bomb)


def test_too_many_parts_are_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for n in range(uploads.MAX_MEMBERS + 1):
            archive.writestr(f"p{n}.xml", b"<a/>")
    with pytest.raises(UploadRefused, match=r"holds 2001 parts"):
        check_zip_container(out.getvalue())


@pytest.mark.django_db
def test_an_oversized_upload_is_refused_from_its_length_before_the_body_is_read(
    client, admin, settings
):
    client.force_login(admin)
    declared = settings.HEEDED_MAX_REQUEST_BYTES + 1
    answer = client.generic(
        "POST",
        "/tracker/preview/",
        b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(declared),
    )
    assert answer.status_code == 413
    assert answer["Connection"] == "close"
    assert "larger than 21 MB and was not read" in answer.content.decode()
    # A request within the limit reaches the page as before.
    assert client.get("/tracker/").status_code == 200
