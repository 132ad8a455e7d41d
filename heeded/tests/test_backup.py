from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import User
from heeded.backup import BackupError, create_backup, restore_archive, rotate
from ledger.models import Event, Head
from recommendations.models import Recommendation
from tracker.services import tracker_import

pytestmark = pytest.mark.django_db(transaction=True)

SHEET = (
    b"Client,Recommendation,Date made,Response category,Follow-up owner,Justification,"
    b"Planned implementation date,Deferred until\r\n"
    b"Acme Dental,Enable MFA,2025-01-15,Accepted,ada,,2026-06-30,\r\n"
    b"Bravo Legal,Offsite backups,2025-03-05,Deferred,marco,Budget,,2026-09-01\r\n"
    b"Bravo Legal,Replace Windows 7,2025-03-06,Rejected,,Too costly,,\r\n"
)


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    (settings.DATA_DIR / "evidence" / "2025").mkdir(parents=True)
    return settings.DATA_DIR


@pytest.fixture
def archive(data_dir, admin, manager, contact_a, contact_b, now, tmp_path) -> Path:
    report = tracker_import(source=SHEET, actor=admin, now=now)
    assert report.created == 3, report.errors
    (data_dir / "evidence" / "2025" / "signed.eml").write_bytes(b"From: alice\r\n\r\nyes\r\n")
    path = tmp_path / "backup.tar.gz"
    create_backup(path, now=now)
    return path


def _wipe(data_dir: Path) -> None:
    call_command("flush", interactive=False, verbosity=0)
    (data_dir / "evidence" / "2025" / "signed.eml").unlink()


def _rewrite(source: Path, target: Path, change) -> None:
    """Copy the archive, passing each member's bytes through ``change(name, data)``."""
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz") as new:
        for member in old.getmembers():
            data = change(member.name, old.extractfile(member).read())
            if data is None:
                continue
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))


def _verify_exit() -> int:
    try:
        call_command("ledger", "verify")
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def test_backup_then_wipe_then_restore_gives_back_a_verified_ledger(archive, data_dir, capsys):
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest["counts"]["recommendations.recommendation"] == 3
    assert "evidence/2025/signed.eml" in manifest["members"]
    heads = dict(Head.objects.values_list("client__uuid", "seq"))
    _wipe(data_dir)
    assert not Recommendation.objects.exists()
    call_command("restore", str(archive))
    assert "restored" in capsys.readouterr().out
    assert _verify_exit() == 0
    assert dict(Head.objects.values_list("client__uuid", "seq")) == heads
    assert Recommendation.objects.count() == 3
    assert Recommendation.objects.get(title="Enable MFA").owner.username == "ada"
    assert User.objects.get(username="ada").check_password("correct horse battery staple")
    evidence = data_dir / "evidence" / "2025" / "signed.eml"
    assert evidence.read_bytes() == b"From: alice\r\n\r\nyes\r\n"


def test_restore_refuses_a_database_that_is_not_empty(archive):
    events = Event.objects.count()
    with pytest.raises(BackupError, match=r"^The database is not empty \(it holds rows in "):
        restore_archive(archive)
    assert Event.objects.count() == events


def test_restore_refuses_a_member_that_does_not_match_its_hash(archive, data_dir, tmp_path):
    _wipe(data_dir)
    bad = tmp_path / "bad.tar.gz"
    _rewrite(
        archive,
        bad,
        lambda name, data: (
            data.replace(b"Too costly", b"Too cheap") if name == "db/ledger.event.jsonl" else data
        ),
    )
    with pytest.raises(BackupError) as exc:
        restore_archive(bad)
    assert str(exc.value) == (
        "db/ledger.event.jsonl does not match its hash in the manifest; refusing it."
    )
    assert not Event.objects.exists() and not User.objects.exists()
    missing = tmp_path / "missing.tar.gz"
    _rewrite(archive, missing, lambda name, data: None if name.startswith("evidence/") else data)
    with pytest.raises(BackupError, match=r"^The archive is missing evidence/2025/signed\.eml\.$"):
        restore_archive(missing)


def test_restore_loads_nothing_when_the_ledger_fails_verification(archive, data_dir, tmp_path):
    """An edit made consistently with the manifest still breaks the hash chain."""
    _wipe(data_dir)
    edited = {}

    def change(name: str, data: bytes) -> bytes:
        if name == "db/ledger.event.jsonl":
            data = data.replace(b"Too costly", b"Too cheap")
            edited[name] = data
        return data

    forged = tmp_path / "forged.tar.gz"
    _rewrite(archive, forged, change)
    # Re-seal the manifest so that only the chain can tell.
    twice = tmp_path / "forged2.tar.gz"

    def reseal(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            manifest = json.loads(data)
            body = edited["db/ledger.event.jsonl"]
            manifest["members"]["db/ledger.event.jsonl"] = {
                "sha256": hashlib.sha256(body).hexdigest(),
                "size": len(body),
            }
            return json.dumps(manifest).encode()
        return data

    _rewrite(forged, twice, reseal)
    with pytest.raises(BackupError, match=r"^The archive's ledger fails verification: FAILED: 1 "):
        restore_archive(twice)
    assert not Event.objects.exists() and not Recommendation.objects.exists()
    assert not (data_dir / "evidence" / "2025" / "signed.eml").exists()


def test_backup_keep_rotates_the_oldest_archives(data_dir, admin, tmp_path):
    folder = tmp_path / "daily"
    folder.mkdir()
    for day in ("20260101T020000Z", "20260102T020000Z", "20260103T020000Z"):
        (folder / f"heeded-{day}.tar.gz").write_bytes(b"old")
    (folder / "notes.txt").write_text("keep me")
    call_command("backup", str(folder), "--keep", "2")
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 3 and names[0] == "heeded-20260103T020000Z.tar.gz"
    assert names[2] == "notes.txt"
    assert rotate(folder, 1) == [folder / names[0]]


def test_restore_refuses_rows_this_release_cannot_load(archive, data_dir, tmp_path):
    """A consistent archive whose table has other columns is refused with the reason."""
    _wipe(data_dir)
    changed: dict[str, bytes] = {}

    def rename_field(name: str, data: bytes) -> bytes:
        if name == "db/clients.client.jsonl":
            data = data.replace(b'"industry"', b'"sector"')
            changed[name] = data
        return data

    first = tmp_path / "other-schema-1.tar.gz"
    _rewrite(archive, first, rename_field)

    def reseal(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        body = changed["db/clients.client.jsonl"]
        manifest["members"]["db/clients.client.jsonl"]["sha256"] = hashlib.sha256(body).hexdigest()
        columns = manifest["columns"]["clients.client"]
        columns["sector"] = columns.pop("industry")
        return json.dumps(manifest).encode()

    second = tmp_path / "other-schema-2.tar.gz"
    _rewrite(first, second, reseal)
    with pytest.raises(BackupError) as exc:
        restore_archive(second)
    assert str(exc.value) == (
        "The archive's clients.client has other columns than this release's: restore it with "
        "the release that wrote it, then upgrade."
    )
    assert not User.objects.exists()
