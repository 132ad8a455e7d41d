""".ci/audit.py tells a pass, a vulnerable dependency and an audit that could not run
apart, and fails CI only for the second."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

AUDIT = Path(__file__).resolve().parents[2] / ".ci" / "audit.py"


def _run(tmp_path: Path, report: dict | None, stderr: str = "") -> subprocess.CompletedProcess:
    """Run audit.py with a fake pip-audit beside a python that links to this one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python"
    python.symlink_to(sys.executable)
    fake = bin_dir / "pip-audit"
    body = "" if report is None else f"Path(out).write_text({json.dumps(json.dumps(report))})"
    fake.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import sys
            from pathlib import Path
            out = sys.argv[sys.argv.index("--output") + 1]
            {body}
            sys.stderr.write({stderr!r})
            sys.exit(1 if {report is None} else 0)
            """
        )
    )
    fake.chmod(0o755)
    return subprocess.run(
        [str(python), str(AUDIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": ""},
    )


def test_no_known_vulnerability_passes(tmp_path):
    done = _run(tmp_path, {"dependencies": [{"name": "django", "version": "5.2.19", "vulns": []}]})
    assert done.returncode == 0
    assert done.stdout.startswith("pip-audit: PASS, 1 dependencies audited")


def test_a_known_vulnerability_fails(tmp_path):
    report = {
        "dependencies": [
            {
                "name": "django",
                "version": "5.2.1",
                "vulns": [{"id": "PYSEC-2026-1", "fix_versions": ["5.2.19"]}],
            }
        ]
    }
    done = _run(tmp_path, report)
    assert done.returncode == 1
    assert "VULNERABLE django 5.2.1: PYSEC-2026-1 (fixed in 5.2.19)" in done.stdout
    assert "pip-audit: FAIL" in done.stdout


@pytest.mark.parametrize(
    ("report", "stderr"),
    [
        (None, "requests.exceptions.ConnectionError: Failed to resolve 'api.osv.dev'\n"),
        (
            {"dependencies": [{"name": "django", "skip_reason": "Dependency not found on PyPI"}]},
            "",
        ),
    ],
    ids=["service-unreachable", "nothing-auditable"],
)
def test_an_audit_that_could_not_run_says_so_and_does_not_fail(tmp_path, report, stderr):
    done = _run(tmp_path, report, stderr)
    assert done.returncode == 0
    assert done.stdout.startswith("pip-audit: NOT RUN")
    assert "PASS" not in done.stdout
