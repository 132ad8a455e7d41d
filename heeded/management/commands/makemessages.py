"""Django's ``makemessages`` without fuzzy matching, knowing the ``_l`` alias.

By default ``msgmerge`` guesses a translation for a new string from a similar old one
and marks it fuzzy ("Technician" would get the Italian of "Technicians"); those guesses
are more often wrong than right in a short UI catalog. Here a new or changed string
arrives empty, the catalog test names it, and it is translated on purpose.
"""

from __future__ import annotations

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]
    # ``_l`` is the project's short name for gettext_lazy where ``_`` is gettext.
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=_l"]
