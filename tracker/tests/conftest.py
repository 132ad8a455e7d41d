from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


@pytest.fixture
def messy() -> bytes:
    return (FIXTURES / "messy.csv").read_bytes()


@pytest.fixture
def world(admin, manager, contact_a, contact_b):
    """Both clients with a decision maker each, and the staff the sheets name."""
    return {"admin": admin, "manager": manager}
