#!/usr/bin/env python3
"""Check the installed dependencies for known vulnerabilities with pip-audit.

Three outcomes, told apart plainly:

- every dependency audited, none vulnerable: "pip-audit: PASS", exit 0;
- a known vulnerability: the list, exit 1 (CI fails);
- the vulnerability service unreachable (no network, a registry mirror without
  PyPI's JSON API): "pip-audit: NOT RUN", the reason, exit 0 — a machine without
  the network must not fail CI, but the line never reads as a pass.

Run from the repository root: ``.venv/bin/python .ci/audit.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

PIP_AUDIT = Path(sys.executable).with_name("pip-audit")
TIMEOUT = 300


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "audit.json"
        try:
            done = subprocess.run(  # noqa: S603 (fixed arguments)
                [
                    str(PIP_AUDIT),
                    "--skip-editable",
                    "--progress-spinner",
                    "off",
                    "--format",
                    "json",
                    "--output",
                    str(report),
                ],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"pip-audit: NOT RUN ({exc})")
            return 0
        if not report.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"pip-audit: NOT RUN, the vulnerability service was not reached: {last[:300]}")
            return 0
        dependencies = json.loads(report.read_text(encoding="utf-8")).get("dependencies", [])

    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version"
            print(f"VULNERABLE {dep['name']} {dep.get('version')}: {vuln['id']} (fixed in {fixed})")
    if vulnerable:
        print(f"pip-audit: FAIL, {len(vulnerable)} vulnerable dependencies")
        return 1
    audited = len(dependencies) - len(skipped)
    if audited == 0:
        print(
            f"pip-audit: NOT RUN, none of {len(dependencies)} dependencies could be audited "
            f"(first reason: {skipped[0]['skip_reason'] if skipped else 'none listed'})"
        )
        return 0
    note = f", {len(skipped)} not auditable" if skipped else ""
    print(f"pip-audit: PASS, {audited} dependencies audited, no known vulnerability{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
