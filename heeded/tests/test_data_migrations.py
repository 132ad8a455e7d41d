"""Data migrations act on the database being migrated. `heeded migrate-to` migrates a
second database while the first stays the default: a RunPython step that reads or
writes through the default manager would change the source instead (it did, twice)."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings


def _runpython_functions(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "RunPython":
            for arg in node.args[:2]:
                if isinstance(arg, ast.Name):
                    names.add(arg.id)
    return names


def test_every_data_migration_uses_the_database_being_migrated():
    offenders = []
    for path in sorted(Path(settings.BASE_DIR).glob("*/migrations/0*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        wanted = _runpython_functions(tree)
        for node in tree.body:
            if (
                isinstance(node, ast.FunctionDef)
                and node.name in wanted
                and "schema_editor.connection" not in ast.unparse(node)
            ):
                offenders.append(f"{path.relative_to(settings.BASE_DIR)}: {node.name}")
    assert not offenders, (
        "use schema_editor.connection.alias (objects.using(db), save(using=db)) in: "
        + ", ".join(offenders)
    )
