"""The PowerShell collector cannot run here: read it, and check that every field it
puts in the document is one the JSON Schema knows, at the level it belongs to, and
that it only ever looks at the local machine."""

from __future__ import annotations

import re
from pathlib import Path

from verification.jsonschema_lite import report_errors, report_schema

SCRIPT = Path(__file__).resolve().parents[1] / "collector" / "heeded-collector.ps1"


def script_text() -> str:
    return SCRIPT.read_text(encoding="utf-8")


def hashtables() -> dict[str, list[str]]:
    """{schema path: keys} of each ``[ordered]@{  # schema: <path>`` block."""
    found: dict[str, list[str]] = {}
    lines = script_text().splitlines()
    for i, line in enumerate(lines):
        marker = re.search(r"@\{\s*# schema: (\S+)", line)
        if not marker:
            continue
        indent = len(line) - len(line.lstrip())
        keys = []
        for body in lines[i + 1 :]:
            if body.strip() == "}" or (
                body.strip().startswith("}") and len(body) - len(body.lstrip()) <= indent
            ):
                break
            key = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", body)
            if key:
                keys.append(key.group(1))
        found[marker.group(1)] = keys
    return found


def schema_properties(path: str) -> set[str]:
    node = report_schema()
    if path != "(root)":
        for part in path.split("."):
            node = node["properties"][part.removesuffix("[]")]
            if part.endswith("[]"):
                node = node["items"]
    return set(node["properties"])


def test_the_script_builds_every_part_of_the_document():
    assert set(hashtables()) == {"(root)", "device", "hotfixes[]", "checks"}


def test_every_field_the_script_sets_is_one_the_schema_knows_at_that_level():
    for path, keys in hashtables().items():
        unknown = set(keys) - schema_properties(path)
        assert not unknown, f"{path}: {sorted(unknown)} not in endpoint-report-v1.json"


def test_the_script_sets_every_required_field():
    schema = report_schema()
    tables = hashtables()
    assert set(schema["required"]) <= set(tables["(root)"])
    assert set(schema["properties"]["device"]["required"]) <= set(tables["device"])
    assert set(schema["properties"]["hotfixes"]["items"]["required"]) <= set(tables["hotfixes[]"])


def test_the_schema_constant_the_script_sends_is_the_schemas():
    const = report_schema()["properties"]["schema"]["const"]
    assert f"schema            = '{const}'" in script_text()


def test_the_script_only_ever_looks_at_the_local_machine():
    text = script_text().lower()
    for remote in ("-computername", "-cimsession", "new-cimsession", "invoke-command", "-session"):
        assert remote not in text, remote


def test_the_script_has_a_dry_run_that_prints_instead_of_sending():
    text = script_text()
    assert "[switch]$DryRun" in text
    dry_run = text.index("if ($DryRun)")
    assert text.index("Invoke-RestMethod") > dry_run


def test_a_document_shaped_like_the_scripts_dry_run_passes_the_schema():
    # What -DryRun prints on a Windows 11 24H2 laptop (PowerShell 7, it-IT culture).
    document = {
        "schema": "heeded.endpoint-report/1",
        "collector_version": "1.0.0",
        "collected_at": "2026-03-02T09:58:41.0736115+01:00",
        "device": {
            "machine_guid": "5c1f3e2a-8d4b-4f6e-a9c7-2b0d1e3f4a5b",
            "computer_name": "PC-SEGRETERIA",
            "os_caption": "Microsoft Windows 11 Pro",
            "os_build": "10.0.26100.7623",
            "tags": ["workstations"],
        },
        "hotfixes": [
            {
                "hotfix_id": "KB5074109",
                "description": "Security Update",
                "installed_by": "NT AUTHORITY\\SYSTEM",
                "installed_on": "13/01/2026",
            },
            {
                "hotfix_id": "KB5054156",
                "description": "Update",
                "installed_by": "",
                "installed_on": None,
            },
        ],
        "checks": {
            "bitlocker_os_volume": None,
            "smb1_enabled": False,
            "defender_realtime": True,
            "firewall": {"Domain": True, "Private": True, "Public": False},
        },
    }
    assert report_errors(document) == []
