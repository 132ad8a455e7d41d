from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core import serializers
from django.core.management import call_command

import heeded.backup
from accounts.models import User
from heeded import demo_content
from heeded.backup import (
    MANIFEST,
    BackupError,
    backed_up_models,
    check_archive,
    create_backup,
    logical_dump,
    release_schema,
    restore_archive,
    rotate,
)
from heeded.backup.rows import CODECS, identical
from heeded.demo import load_demo
from ledger.models import Event, Head
from recommendations.models import Recommendation
from recommendations.services import recommendation_withdraw
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


def _wipe_database() -> None:
    call_command("flush", interactive=False, verbosity=0)


def _wipe(data_dir: Path) -> None:
    _wipe_database()
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


# --- exact values -------------------------------------------------------------------

LIVE = dt.datetime(2026, 3, 2, 9, 17, 42, 123456, tzinfo=dt.UTC)


def _run(*args: str) -> tuple[int, str, str]:
    """Run a command; return its exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def live(data_dir, admin, manager, contact_a, contact_b, now) -> Recommendation:
    """The tracker rows, and one withdrawal made 'live', at a time with microseconds."""
    report = tracker_import(source=SHEET, actor=admin, now=now)
    assert report.created == 3, report.errors
    rec = Recommendation.objects.get(title="Offsite backups")
    return recommendation_withdraw(
        recommendation=rec, actor=admin, now=LIVE, reason="Superseded by the Veeam project"
    )


def live_seq() -> int:
    return Event.objects.get(kind="recommendation.withdraw").seq


def test_an_event_written_at_a_microsecond_time_restores_and_verifies(live, data_dir, tmp_path):
    path = tmp_path / "live.tar.gz"
    assert Event.objects.filter(at=LIVE).count() == 1
    before = logical_dump()
    heads = dict(Head.objects.values_list("client__uuid", "hash"))
    status, out, _ = _run("backup", str(path))
    assert status == 0 and "ledger chains verified" in out
    _wipe_database()
    status, out, err = _run("restore", str(path))
    assert (status, err) == (0, "")
    assert _verify_exit() == 0
    assert Event.objects.get(kind="recommendation.withdraw").at == LIVE
    assert dict(Head.objects.values_list("client__uuid", "hash")) == heads
    assert logical_dump() == before


def test_every_kind_of_value_comes_back_exactly():
    cases = {
        "datetime": dt.datetime(2026, 3, 2, 10, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        "time": dt.time(23, 59, 59, 999999),
        "decimal": decimal.Decimal("1.10"),
        "binary": bytes(range(256)),
        "json": {"è": [1, 1.5, True, None, "Sant'Ambrogio"], "n": 2**70},
        "duration": dt.timedelta(days=-1, microseconds=7),
        "uuid": uuid.UUID("5b0c4e8e-7d7a-4c61-9f3e-2a6b1d9c8e10"),
    }
    for kind, value in cases.items():
        encode, decode = CODECS[kind]
        text = json.dumps(encode(value))
        assert identical(decode(json.loads(text)), value), kind
    # A lossy rule is caught: same value, another type or another precision.
    assert not identical({"a": 1}, {"a": True})
    assert not identical(decimal.Decimal("1.1"), decimal.Decimal("1.10"))
    assert not identical(cases["datetime"], cases["datetime"].astimezone(dt.UTC))


def test_backup_leaves_no_archive_when_a_value_would_not_come_back(live, monkeypatch, tmp_path):
    """A rule that loses data (here: times cut to the millisecond, as format version 1
    did) stops the backup: exit 1, one line, no file."""
    encode, decode = CODECS["datetime"]
    monkeypatch.setitem(
        CODECS,
        "datetime",
        (lambda v: encode(v.replace(microsecond=v.microsecond // 1000 * 1000)), decode),
    )
    path = tmp_path / "lossy.tar.gz"
    status, out, err = _run("backup", str(path))
    assert status == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("heeded backup: failed, no archive written: ")
    assert "would not be restored as it is" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_backup_leaves_no_archive_when_a_blob_would_lose_a_byte(live, monkeypatch, tmp_path):
    """Encrypted evidence is binary: it must come back whole, and the reason stays short."""
    from answers.services.inbound import inbound_receive

    stored = inbound_receive(raw="From: someone@elsewhere.example\r\n\r\nsì\r\n".encode(), now=LIVE)
    encode, decode = CODECS["binary"]
    monkeypatch.setitem(CODECS, "binary", (lambda v: encode(bytes(v)[:-1]), decode))
    path = tmp_path / "lossy.tar.gz"
    status, _, err = _run("backup", str(path))
    assert status == 1 and err.count("\n") == 1 and len(err) < 400
    assert err.startswith(
        "heeded backup: failed, no archive written: answers.inboundmessage row "
        f"{stored.message.pk}: raw_encrypted would not be restored as it is (b'"
    )
    assert "...)" in err
    assert not path.exists()


def test_backup_leaves_no_archive_when_the_written_ledger_does_not_verify(
    live, monkeypatch, tmp_path
):
    """Second wall: even if a lossy rule slipped past the value check, the chains are
    recomputed from the written files before the archive is kept."""
    encode, decode = CODECS["datetime"]
    monkeypatch.setitem(
        CODECS,
        "datetime",
        (lambda v: encode(v.replace(microsecond=v.microsecond // 1000 * 1000)), decode),
    )
    # _dump_table looks the comparison up in the package, where it was imported.
    monkeypatch.setattr(heeded.backup, "identical", lambda a, b: True)
    path = tmp_path / "lossy.tar.gz"
    status, _, err = _run("backup", str(path))
    assert status == 1
    assert re.fullmatch(
        r"heeded backup: failed, no archive written: The archive would not restore: its ledger "
        r"fails verification: FAILED: 1 of 2 clients failed verification \(\d+ events, 0 "
        r'anchors checked\); first: FAIL: client "Bravo Legal" \(id \d+\): event '
        f"{live_seq()}: hash mismatch: stored hash differs from the recomputed hash\n",
        err,
    )
    assert not path.exists() and not path.with_name(path.name + ".partial").exists()


def test_the_manifest_records_the_schema_the_columns_and_the_heads(live, tmp_path):
    path = tmp_path / "b.tar.gz"
    manifest = create_backup(path, now=LIVE)
    assert manifest["version"] == 2
    assert manifest["schema"] == release_schema()
    assert manifest["schema"]["ledger"] == [_latest_migration("ledger")]
    assert manifest["columns"]["ledger.event"]["at"] == "datetime"
    assert manifest["columns"]["answers.submission"]["payload_encrypted"] == "binary"
    assert manifest["columns"]["accounts.user_user_permissions"]["permission_id"] == "natural-key"
    assert manifest["created_at"] == "2026-03-02T09:17:42.123456+00:00"
    heads = {
        str(u): {"seq": s, "hash": h}
        for u, s, h in Head.objects.values_list("client__uuid", "seq", "hash")
    }
    assert manifest["ledger_heads"] == heads
    with tarfile.open(path) as tar:
        assert json.loads(tar.extractfile(MANIFEST).read()) == manifest


def _latest_migration(app: str) -> str:
    from django.db.migrations.loader import MigrationLoader

    leaves = [name for label, name in MigrationLoader(None).graph.leaf_nodes() if label == app]
    return leaves[0]


def test_a_users_permissions_are_restored_by_name_not_by_number(live, data_dir, tmp_path):
    """Permission ids are numbered afresh by every 'migrate'; the archive names them."""
    from django.contrib.auth.models import Permission

    ada = User.objects.get(username="ada")
    ada.user_permissions.add(Permission.objects.get(codename="view_event"))
    path = tmp_path / "b.tar.gz"
    create_backup(path, now=LIVE)
    _wipe_database()
    restore_archive(path)
    ada = User.objects.get(username="ada")
    assert list(ada.user_permissions.values_list("codename", flat=True)) == ["view_event"]


# --- refusals of the target -----------------------------------------------------------


def test_restore_into_a_database_that_is_not_migrated_says_so_in_one_line(live, tmp_path):
    path = tmp_path / "b.tar.gz"
    create_backup(path, now=LIVE)
    env = {**os.environ, "HEEDED_DATA_DIR": str(tmp_path / "fresh")}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "heeded.cli", "restore", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "heeded restore: refused: The database is not migrated: run 'heeded migrate' on it, "
        "then restore again.\n"
    )


def test_restore_into_a_database_it_cannot_reach_says_so_in_one_line(live, tmp_path):
    path = tmp_path / "b.tar.gz"
    create_backup(path, now=LIVE)
    env = {
        **os.environ,
        "HEEDED_DATA_DIR": str(tmp_path / "fresh"),
        # Port 1 on loopback: nothing listens there, the connection is refused at once.
        "DATABASE_URL": "postgres://heeded@127.0.0.1:1/heeded",
    }
    result = subprocess.run(
        [sys.executable, "-m", "heeded.cli", "restore", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        "heeded restore: refused: the database cannot be used: connection failed: "
    )
    assert result.stderr.count("\n") == 1


def test_restore_into_a_database_that_is_not_empty_says_so_in_one_line(live, tmp_path):
    path = tmp_path / "b.tar.gz"
    create_backup(path, now=LIVE)
    events = Event.objects.count()
    status, out, err = _run("restore", str(path))
    assert (status, out) == (1, "")
    assert err.startswith("heeded restore: refused: The database is not empty (it holds rows in ")
    assert err.count("\n") == 1
    assert Event.objects.count() == events


def test_restore_refuses_an_archive_of_another_schema(live, data_dir, tmp_path):
    path = tmp_path / "b.tar.gz"
    create_backup(path, now=LIVE)
    _wipe_database()
    older = tmp_path / "older.tar.gz"

    def downgrade(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        manifest = json.loads(data)
        manifest["schema"]["ledger"] = ["0001_initial"]
        return json.dumps(manifest).encode()

    _rewrite(path, older, downgrade)
    with pytest.raises(BackupError) as exc:
        restore_archive(older)
    assert str(exc.value) == (
        f"The archive was written at another schema (ledger is at {_latest_migration('ledger')}, "
        "the archive at 0001_initial): restore it with the release that wrote it, then upgrade."
    )
    assert not User.objects.exists()


def test_restore_refuses_an_archive_of_a_format_it_does_not_know(live, data_dir, tmp_path):
    path = tmp_path / "b.tar.gz"
    create_backup(path, now=LIVE)
    newer = tmp_path / "newer.tar.gz"

    def bump(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        return json.dumps({**json.loads(data), "version": 3}).encode()

    _rewrite(path, newer, bump)
    _wipe_database()
    with pytest.raises(BackupError) as exc:
        restore_archive(newer)
    assert str(exc.value) == (
        "The archive is a Heeded backup of format version 3; this release reads versions 1, 2: "
        "restore it with a newer release."
    )


# --- restore --check ------------------------------------------------------------------


def test_check_verifies_an_archive_without_touching_the_database(live, tmp_path):
    path = tmp_path / "b.tar.gz"
    manifest = create_backup(path, now=LIVE)
    events = Event.objects.count()
    status, out, err = _run("restore", "--check", str(path))
    assert (status, err) == (0, "")
    rows = sum(manifest["counts"].values())
    assert out == (
        f"ok: {path} (format version 2, written 2026-03-02T09:17:42.123456+00:00): {rows} rows "
        f"in {len(manifest['counts'])} tables, 0 evidence files; ledger ok: 2 clients, "
        f"{events} events, 0 anchors checked; 2 heads match the manifest\n"
    )
    assert Event.objects.count() == events


def test_check_refuses_an_archive_whose_chain_was_edited(live, tmp_path):
    path = tmp_path / "b.tar.gz"
    create_backup(path, now=LIVE)
    forged = tmp_path / "forged.tar.gz"
    bodies: dict[str, bytes] = {}

    def edit(name: str, data: bytes) -> bytes:
        if name == "db/ledger.event.jsonl":
            data = data.replace(b"Superseded by the Veeam project", b"Client asked to drop it")
            bodies[name] = data
        return data

    def reseal(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        manifest = json.loads(data)
        body = bodies["db/ledger.event.jsonl"]
        manifest["members"]["db/ledger.event.jsonl"]["sha256"] = hashlib.sha256(body).hexdigest()
        return json.dumps(manifest).encode()

    edited = tmp_path / "edited.tar.gz"
    _rewrite(path, edited, edit)
    _rewrite(edited, forged, reseal)
    status, out, err = _run("restore", "--check", str(forged))
    assert (status, out) == (1, "")
    assert re.fullmatch(
        r"heeded restore: check failed: The archive's ledger fails verification: FAILED: 1 of 2 "
        r"clients failed verification \(\d+ events, 0 anchors checked\); first: FAIL: client "
        rf'"Bravo Legal" \(id \d+\): event {live_seq()}: hash mismatch: stored hash differs '
        r"from the recomputed hash\n",
        err,
    )
    status, _, err = _run("restore", "--check", str(edited))
    assert status == 1
    assert err == (
        "heeded restore: check failed: db/ledger.event.jsonl does not match its hash in the "
        "manifest; refusing it.\n"
    )


def test_check_refuses_a_count_that_differs_from_the_manifest(live, tmp_path):
    path = tmp_path / "b.tar.gz"
    create_backup(path, now=LIVE)
    short = tmp_path / "short.tar.gz"

    def miscount(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        manifest = json.loads(data)
        manifest["counts"]["recommendations.recommendation"] += 1
        return json.dumps(manifest).encode()

    _rewrite(path, short, miscount)
    with pytest.raises(BackupError) as exc:
        check_archive(short)
    assert str(exc.value) == (
        "recommendations.recommendation: the manifest lists 4 rows but the archive holds 3."
    )


# --- format version 1 ---------------------------------------------------------------


def _write_v1(path: Path, now: dt.datetime) -> None:
    """An archive as format version 1 wrote it: Django's jsonl serializer, natural keys,
    many-to-many rows inside their parents' rows."""
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        (staging / "db").mkdir()
        counts, members = {}, {}
        for model in backed_up_models():
            if model._meta.auto_created:
                continue
            label = model._meta.label_lower
            rows = list(model._base_manager.order_by("pk"))
            body = staging / "db" / f"{label}.jsonl"
            with body.open("w", encoding="utf-8") as handle:
                serializers.serialize("jsonl", rows, stream=handle, use_natural_foreign_keys=True)
            counts[label] = len(rows)
            data = body.read_bytes()
            members[f"db/{label}.jsonl"] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
            }
        heads = {
            str(u): {"seq": s, "hash": h}
            for u, s, h in Head.objects.values_list("client__uuid", "seq", "hash")
        }
        manifest = {
            "format": "heeded-backup",
            "version": 1,
            "created_at": now.isoformat(),
            "database": "sqlite",
            "members": members,
            "counts": counts,
            "ledger_heads": heads,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest))
        with tarfile.open(path, "w:gz") as archive:
            archive.add(staging / MANIFEST, arcname=MANIFEST)
            for name in members:
                archive.add(staging / name, arcname=name)


def test_a_version_1_archive_with_whole_times_still_restores(archive, data_dir, tmp_path, now):
    (data_dir / "evidence" / "2025" / "signed.eml").unlink()
    # Whole times, as everything had before live actions: version 1 cut the rest.
    User.objects.update(date_joined=now)
    ada = User.objects.get(username="ada")
    ada.groups.add(Group.objects.create(name="Auditors of Acme"))
    old = tmp_path / "v1.tar.gz"
    _write_v1(old, now)
    before = logical_dump()
    assert _run("restore", "--check", str(old))[0] == 0
    _wipe_database()
    status, _, err = _run("restore", str(old))
    assert (status, err) == (0, "")
    assert _verify_exit() == 0
    assert logical_dump() == before


def test_a_version_1_archive_that_cut_an_event_time_is_refused_before_loading(
    live, data_dir, tmp_path
):
    old = tmp_path / "v1.tar.gz"
    _write_v1(old, LIVE)
    _wipe_database()
    status, _, err = _run("restore", str(old))
    assert status == 1
    assert err.startswith(
        "heeded restore: refused: The archive's ledger fails verification (format version 1 "
        "cut times to the millisecond; take a new backup of the original database with this "
        "release): FAILED: 1 of 2 clients"
    )
    assert not User.objects.exists()


# --- the demo -----------------------------------------------------------------------


def test_a_backup_of_the_demo_after_one_live_action_restores_and_verifies(
    data_dir, monkeypatch, tmp_path
):
    """The reported case, on a demo cut to one client to keep the suite fast (the full
    demo is timed by hand in docs/operations.md)."""
    monkeypatch.setattr(demo_content, "CLIENTS", demo_content.CLIENTS[:1])
    load_demo(now=LIVE - dt.timedelta(days=1))
    admin = User.objects.get(username="elena.ricci")
    awaiting = Recommendation.objects.filter(status="awaiting_response").order_by("pk").first()
    recommendation_withdraw(
        recommendation=awaiting, actor=admin, now=LIVE, reason="Sostituita dal progetto firewall"
    )
    before = logical_dump()
    path = tmp_path / "demo.tar.gz"
    status, out, _ = _run("backup", str(path))
    assert status == 0 and out.endswith(" rows, 1 ledger chains verified\n")
    _wipe_database()
    status, out, err = _run("restore", str(path))
    assert (status, err) == (0, "")
    assert _verify_exit() == 0
    assert logical_dump() == before


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_backup_and_restore_show_their_rows_on_a_terminal_only(
    data_dir, admin, manager, contact_a, contact_b, now, tmp_path
):
    report = tracker_import(source=SHEET, actor=admin, now=now)
    assert report.created == 3, report.errors
    path = tmp_path / "progress.tar.gz"
    screen = _Terminal()
    with heeded.backup.Progress(screen, "backup") as progress:
        manifest = create_backup(path, now=now, progress=progress)
    rows = sum(manifest["counts"].values())
    # The total is counted before the rows are written, and every row is counted once.
    assert progress.total == progress.done == rows
    assert f"backup: {rows:,}/{rows:,} (100%)" in screen.getvalue()
    # Not a terminal (a cron job, a pipe): the command's output is its one result line.
    _wipe_database()
    out, err = io.StringIO(), io.StringIO()
    call_command("restore", str(path), stdout=out, stderr=err)
    assert err.getvalue() == ""
    assert out.getvalue().startswith("restored ")
    _wipe_database()
    screen = _Terminal()
    with heeded.backup.Progress(screen, "restore") as progress:
        restore_archive(path, progress=progress)
    assert progress.total == progress.done == rows
    assert f"restore: {rows:,}/{rows:,} (100%)" in screen.getvalue()
