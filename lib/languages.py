"""The languages Heeded speaks to clients: a client reads one, a catalog text is
written in one or more. Kept in ``lib`` so that the catalog (which holds texts) and
the clients app (which holds who reads which) name them the same way without
importing each other."""

from django.db import models


class Language(models.TextChoices):
    EN = "en", "English"
    IT = "it", "Italiano"


# The language every catalog text has; the others are optional translations.
BASE_LANGUAGE = Language.EN
