"""Test-only helpers; the app is installed by ``heeded.settings_test`` only."""

import pytest
from django.db import connections

requires_postgres = pytest.mark.skipif(
    connections["default"].vendor != "postgresql",
    reason="needs PostgreSQL: make test runs the suite again on it when TEST_POSTGRES_URL is set",
)
