"""The evidence pack and its standalone verifier: it passes on an untouched pack and
fails, naming what, on any change."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile

import pytest
from django.core.management import CommandError, call_command

from ledger.models import Anchor, Head

from .conftest import REPORT_NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def pack(scene, client_a, tmp_path, time_machine):
    time_machine.move_to(REPORT_NOW, tick=False)
    path = tmp_path / "acme.zip"
    call_command("evidence-pack", "--client", "acme-dental", "--output", str(path))
    folder = tmp_path / "acme"
    with zipfile.ZipFile(path) as z:
        z.extractall(folder)
    return path, folder


def verify(target, *anchors: str):
    args = [sys.executable, "-I", str(target / "verify.py" if target.is_dir() else "verify.py")]
    result = subprocess.run(
        [*args, *[part for a in anchors for part in ("--anchor", a)]],
        cwd=target if target.is_dir() else target.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, result.stdout.strip()


def rewrite(folder, name, data: bytes, *, fix_manifest: bool) -> None:
    (folder / name).write_bytes(data)
    if fix_manifest:
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["files"][name] = hashlib.sha256(data).hexdigest()
        (folder / "manifest.json").write_text(json.dumps(manifest))


def events(folder) -> list[bytes]:
    return (folder / "events.jsonl").read_bytes().splitlines(keepends=True)


def test_an_untouched_pack_verifies_with_a_stock_python(pack, client_a):
    path, folder = pack
    head = Head.objects.get(client=client_a)
    code, out = verify(folder)
    assert code == 0, out
    assert out.startswith("ok: ")
    assert f"head {head.seq}:{head.hash}" in out
    names = set(zipfile.ZipFile(path).namelist())
    assert {"manifest.json", "events.jsonl", "summary.pdf", "verify.py"} <= names
    assert Anchor.objects.get(client=client_a, purpose="evidence pack").seq == head.seq
    # The reports' own anchor, given on the command line as printed on a QBR.
    code, out = verify(folder, f"acme-dental:{head.seq}:{head.hash}")
    assert code == 0, out


def test_a_changed_file_is_named(pack):
    _, folder = pack
    (folder / "summary.pdf").write_bytes(b"%PDF-1.7 forged")
    assert verify(folder) == (
        1,
        "FAIL: file summary.pdf: SHA-256 differs from the manifest (changed)",
    )


def test_an_added_file_is_named(pack):
    _, folder = pack
    (folder / "evidence").mkdir(exist_ok=True)
    (folder / "evidence" / "late.eml").write_bytes(b"From: someone\n\nI never said that")
    assert verify(folder) == (1, "FAIL: file evidence/late.eml: not in the manifest (added)")


def test_an_edited_event_fails_even_with_a_recomputed_manifest(pack):
    _, folder = pack
    lines = events(folder)
    third = json.loads(lines[2])
    third["actor"] = "staff:someone-else"
    lines[2] = json.dumps(third, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    rewrite(folder, "events.jsonl", b"".join(lines), fix_manifest=True)
    assert verify(folder) == (1, "FAIL: event 3: hash mismatch")


def test_events_in_another_order_fail(pack):
    _, folder = pack
    lines = events(folder)
    lines[3], lines[4] = lines[4], lines[3]
    rewrite(folder, "events.jsonl", b"".join(lines), fix_manifest=True)
    assert verify(folder) == (1, "FAIL: event 4: gap")


def test_events_cut_from_the_end_fail_against_an_anchor_given_on_the_command_line(pack, client_a):
    _, folder = pack
    head = Head.objects.get(client=client_a)
    lines = events(folder)[:-3]
    rewrite(folder, "events.jsonl", b"".join(lines), fix_manifest=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    last = json.loads(lines[-1])
    # Whoever cut the chain also rewrote the head and the anchors of the manifest...
    manifest["head"] = {"seq": last["seq"], "hash": last["hash"]}
    manifest["anchors"] = []
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert verify(folder)[0] == 0
    # ...but not the hash printed on the client's last report.
    assert verify(folder, f"{head.seq}:{head.hash}") == (
        1,
        f"FAIL: event {head.seq - 2}: chain shorter than anchor",
    )


def test_the_zip_itself_can_be_verified(pack, tmp_path):
    path, folder = pack
    result = subprocess.run(
        [sys.executable, "-I", str(folder / "verify.py"), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "pack.tar"], "--output: expected a .zip file name, got 'pack.tar'"),
        (
            ["--recommendation", "999999"],
            "--recommendation: '999999' is not a recommendation of Acme Dental",
        ),
    ],
)
def test_bad_arguments_exit_2(client_a, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    options = {"--client": "acme-dental", "--output": "pack.zip"}
    options.update(dict(zip(args[::2], args[1::2], strict=True)))
    with pytest.raises(CommandError) as caught:
        call_command("evidence-pack", *[p for pair in options.items() for p in pair])
    assert (str(caught.value), caught.value.returncode) == (message, 2)
    assert not Anchor.objects.exists()
