"""The PowerShell collector cannot run here: read it, and check that every field it
puts in the document is one the JSON Schema knows, at the level it belongs to, and
that it only ever looks at the local machine."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

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


def _breakages() -> list[tuple[str, Any]]:
    """One way to break each keyword the schema uses, at each level it is used."""
    from verification.tests.conftest import document

    def changed(edit: Any) -> Any:
        doc = document()
        edit(doc)
        return doc

    long = "x" * 300
    return [
        ("valid", document()),
        ("valid, nulls", changed(lambda d: d["hotfixes"][0].update(installed_on=None))),
        ("const", changed(lambda d: d.update(schema="heeded.endpoint-report/2"))),
        ("required at the root", changed(lambda d: d.pop("hotfixes"))),
        ("required in an item", changed(lambda d: d["hotfixes"][0].pop("hotfix_id"))),
        ("closed root", changed(lambda d: d.update(extra=1))),
        ("closed item", changed(lambda d: d["hotfixes"][1].update(InstalledOn="x"))),
        ("closed nested", changed(lambda d: d["checks"]["firewall"].update(Other=True))),
        ("type of a string", changed(lambda d: d["device"].update(computer_name=7))),
        ("a bool is not a string", changed(lambda d: d["device"].update(os_build=True))),
        ("a number is not a boolean", changed(lambda d: d["checks"].update(smb1_enabled=0))),
        ("null where not allowed", changed(lambda d: d["device"].update(machine_guid=None))),
        ("type of an array", changed(lambda d: d.update(hotfixes={}))),
        ("type of an object", changed(lambda d: d.update(device=[]))),
        ("minLength", changed(lambda d: d["hotfixes"][1].update(hotfix_id=""))),
        ("maxLength", changed(lambda d: d["hotfixes"][1].update(description=long))),
        ("pattern", changed(lambda d: d.update(collected_at="2026-03-02 09:00"))),
        ("enum", changed(lambda d: d["checks"].update(bitlocker_os_volume="maybe"))),
        ("maxItems", changed(lambda d: d["device"].update(tags=["t"] * 21))),
        ("items", changed(lambda d: d["device"].update(tags=["ok", ""]))),
        ("not an object at all", [document()]),
    ]


@pytest.mark.parametrize(("case", "doc"), _breakages(), ids=[c for c, _ in _breakages()])
def test_the_quick_yes_or_no_agrees_with_the_located_errors(case, doc):
    from verification.jsonschema_lite import _report_conforms, validate

    errors = validate(doc, report_schema())

    assert _report_conforms()(doc) == (errors == [])
    assert report_errors(doc) == errors
    assert (errors == []) == case.startswith("valid")
