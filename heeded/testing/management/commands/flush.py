"""Test-only ``flush`` that can empty the append-only ledger.

Django's TransactionTestCase (and pytest-django's transactional_db and live_server)
empty every table after each test with ``flush``. The ledger's triggers refuse that,
so this command, installed only by ``heeded.settings_test``, lifts them for the
duration of the flush and puts them back.
"""

from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections

from ledger import triggers


class Command(FlushCommand):
    def handle(self, **options):
        connection = connections[options["database"]]
        triggers.remove(connection)
        try:
            return super().handle(**options)
        finally:
            triggers.install(connection)
