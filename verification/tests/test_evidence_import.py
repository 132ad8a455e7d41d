"""`heeded evidence import`: Get-HotFix files as PowerShell 5.1 and 7 really write them.

The files under ``files/`` are written the way those versions write them: 5.1's
Export-Csv with its ``#TYPE`` line and WMI system columns (UTF-16LE from
``-Encoding Unicode``, UTF-8 with a BOM from ``-Encoding UTF8``), 7's CIM columns in
UTF-8 without a BOM, 5.1's ConvertTo-Json with ``\\/Date(ms)\\/`` and a lone object for
a single hotfix (saved by Out-File as UTF-16LE), and 7's ISO dates.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from verification.files import Msg, UnreadableFile, parse_hotfix_file
from verification.models import Device, EndpointReport, InstalledHotfix

pytestmark = pytest.mark.django_db
FILES = Path(__file__).resolve().parent / "files"


def run(path: Path | str, client, *extra: str) -> tuple[int, str, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(
            "evidence", "import", str(path), "--client", client.slug, *extra, stdout=out, stderr=err
        )
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def hotfixes_of(name: str) -> dict[str, InstalledHotfix]:
    return {h.hotfix_id: h for h in InstalledHotfix.objects.filter(device__computer_name=name)}


def test_a_51_unicode_csv_with_its_type_line_imports_with_dates_blanks_and_file_ids(client_a):
    code, out, _ = run(FILES / "ps51-en-US-unicode.csv", client_a)

    assert code == 0
    rows = hotfixes_of("ACME-RECEPTION")
    assert set(rows) == {"KB5072653", "KB5073724", "File 1", "KB5074109"}
    assert rows["KB5073724"].installed_on == dt.date(2026, 1, 13)
    assert rows["KB5072653"].installed_on == dt.date(2025, 12, 9)
    assert rows["KB5074109"].installed_on is None and rows["KB5074109"].installed_on_raw == ""
    assert rows["KB5074109"].installed_by == "ACME\\José.Núñez"
    assert rows["File 1"].flagged and rows["File 1"].kb is None
    assert "warning: line 5: 'File 1' is not a KB number; kept and flagged." in out


def test_a_51_italian_csv_reads_day_first_dates_and_refuses_the_blank_id_by_line(client_a):
    code, _, err = run(FILES / "ps51-it-IT-utf8bom.csv", client_a)

    assert code == 1
    assert "refused: line 5: HotFixID is empty." in err
    assert hotfixes_of("STUDIO-D'AMICO")["KB5072653"].installed_on == dt.date(2025, 12, 9)
    assert hotfixes_of("SEGRETERIA")["KB5073724"].installed_on == dt.date(2026, 2, 3)
    assert set(Device.objects.values_list("computer_name", flat=True)) == {
        "STUDIO-D'AMICO",
        "SEGRETERIA",
    }
    assert len(hotfixes_of("STUDIO-D'AMICO")) == 2


def test_a_7_csv_without_a_type_line_imports(client_a):
    code, out, _ = run(FILES / "ps7-en-US.csv", client_a)

    assert code == 0, out
    assert hotfixes_of("ACME-DR-BIANCHI")["KB5077181"].installed_on == dt.date(2026, 2, 10)


def test_51_json_dates_are_read_as_the_local_day_they_stand_for(client_a):
    code, _, _ = run(FILES / "ps51-array.json", client_a)

    assert code == 0
    rows = hotfixes_of("ACME-RECEPTION")
    # /Date(1768258800000)/ is 2026-01-12T23:00Z: midnight of the 13th in Rome.
    assert rows["KB5073724"].installed_on == dt.date(2026, 1, 13)
    assert rows["KB5073724"].installed_on_raw == "/Date(1768258800000)/"
    assert rows["KB5074109"].installed_on is None


def test_51_json_of_a_single_hotfix_is_one_object_not_an_array(client_a):
    code, out, _ = run(FILES / "ps51-single-object.json", client_a)

    assert code == 0
    assert "ACME-SERVER01: 1 hotfixes, accepted" in out
    assert hotfixes_of("ACME-SERVER01")["KB5075906"].installed_on == dt.date(2026, 2, 10)


def test_7_json_is_read_and_its_bad_items_are_named_by_index(client_a):
    code, out, err = run(FILES / "ps7-array.json", client_a)

    assert code == 1
    assert "refused: item 3: not an object." in err
    assert "warning: item 2: KB5077181 already listed for ACME-DR-BIANCHI; ignored." in out
    rows = hotfixes_of("ACME-DR-BIANCHI")
    assert set(rows) == {"KB5077181", "KB5075039"}
    assert rows["KB5075039"].installed_on is None


def test_importing_the_same_file_again_changes_nothing(client_a):
    run(FILES / "ps51-en-US-unicode.csv", client_a)
    before = (
        EndpointReport.objects.count(),
        list(InstalledHotfix.objects.values_list("hotfix_id", "last_seen")),
    )

    code, out, _ = run(FILES / "ps51-en-US-unicode.csv", client_a)

    assert code == 0
    assert "ACME-RECEPTION: 4 hotfixes, repeat" in out
    after = (
        EndpointReport.objects.count(),
        list(InstalledHotfix.objects.values_list("hotfix_id", "last_seen")),
    )
    assert after == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", Msg.EMPTY),
        (b'[{"HotFixID": "KB5073724",', "The file looks like JSON but is not"),
        (
            b'"Source","Description","InstalledBy"\r\n"PC","Update","x"\r\n',
            "No HotFixID column: this is not Get-HotFix output",
        ),
        (b"\xff\xfe\x00\xd8", Msg.UNREADABLE_ENCODING),
    ],
)
def test_an_unreadable_file_exits_2_and_stores_nothing(client_a, tmp_path, content, message):
    path = tmp_path / "hotfixes.csv"
    path.write_bytes(content)

    with pytest.raises(CommandError, match=message) as raised:
        run(path, client_a)

    assert raised.value.returncode == 2
    assert not Device.objects.exists() and not InstalledHotfix.objects.exists()


def test_a_file_without_computer_names_needs_the_computer_option(client_a, tmp_path):
    path = tmp_path / "hotfixes.csv"
    path.write_text(
        '"HotFixID","Description","InstalledOn"\r\n"KB5073724","Security Update","1/13/2026"\r\n',
        encoding="utf-8",
    )

    code, _, err = run(path, client_a)
    assert code == 1
    assert "line 2: no CSName or PSComputerName" in err
    assert not Device.objects.exists()

    code, _, _ = run(path, client_a, "--computer", "ACME-LAPTOP-07")
    assert code == 0
    assert list(hotfixes_of("ACME-LAPTOP-07")) == ["KB5073724"]


def test_a_file_attaches_to_the_device_the_collector_already_knows(client_a, post, token_a):
    from verification.tests.conftest import body_of, document

    post(token_a[1], body_of(document(name="ACME-RECEPTION")))

    run(FILES / "ps51-array.json", client_a)

    device = Device.objects.get()
    assert device.os_build == "10.0.26100.7623"
    assert device.hotfixes.count() == 3


def test_ambiguous_locale_dates_are_kept_as_text():
    parsed = parse_hotfix_file(
        b'"HotFixID","CSName","InstalledOn"\r\n"KB5073724","PC1","03/04/2026"\r\n'
    )
    assert parsed.warnings == [
        "line 2: InstalledOn '03/04/2026' could be day/month or month/day: kept as text."
    ]
    assert parsed.machines["PC1"][0].installed_on_raw == "03/04/2026"


def test_an_unknown_client_is_a_usage_error(db, tmp_path):
    with pytest.raises(CommandError, match="unknown client 'nobody'") as raised:
        call_command("evidence", "import", str(tmp_path / "x.csv"), "--client", "nobody")
    assert raised.value.returncode == 2


def test_parse_refuses_nothing_from_a_good_file():
    with pytest.raises(UnreadableFile):
        parse_hotfix_file(b"   \r\n")


def test_token_create_prints_the_token_once_and_keeps_only_its_hash(client_a):
    import io

    from verification.models import EnrollmentToken
    from verification.services import token_digest

    out = io.StringIO()
    call_command(
        "evidence", "token", "create", "--client", client_a.slug, "--name", "N-able", stdout=out
    )

    raw = out.getvalue().splitlines()[1]
    token = EnrollmentToken.objects.get()
    assert raw.startswith(f"hdc1_{token.key_id}_")
    assert token.digest == token_digest(raw) and raw not in token.digest

    call_command("evidence", "token", "revoke", token.key_id, stdout=io.StringIO())
    token.refresh_from_db()
    assert token.revoked_at is not None
