#!/usr/bin/env python
"""Same as the ``heeded`` command, for those used to Django's manage.py."""

from heeded.cli import main

if __name__ == "__main__":
    main()
