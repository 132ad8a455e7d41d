"""Password-reset links that are never stored: made when the e-mail is handed over.

The reset e-mail goes through the outbox (so a slow or failing mail server never
slows the page, and the page looks the same whether or not the address has an
account). A queued message holds ``[[heeded-reset:<uid>]]`` where the link's key
goes; at delivery ``expand_reset_links`` makes allauth's key for that user at that
moment. So the database and backups hold no usable reset key, and the link is valid
for ``PASSWORD_RESET_TIMEOUT`` from delivery.
"""

from __future__ import annotations

import re

from allauth.account import app_settings as allauth_settings
from allauth.account.utils import url_str_to_user_pk, user_pk_to_url_str

from accounts.models import User

PLACEHOLDER = re.compile(r"\[\[heeded-reset:(?P<uid>[0-9a-z]{1,13})\]\]")
# What a link holds when its user is gone or disabled: a key that never matches.
_NO_KEY = "invalid"


def reset_placeholder(user: User) -> str:
    """What a queued message holds in place of ``<uid>-<key>`` for ``user``."""
    return f"[[heeded-reset:{user_pk_to_url_str(user)}]]"


def _key_for(match: re.Match[str]) -> str:
    uid = match["uid"]
    try:
        user = User.objects.filter(pk=url_str_to_user_pk(uid), is_active=True).first()
    except (ValueError, OverflowError):
        user = None
    if user is None:
        return f"{uid}-{_NO_KEY}"
    generator = allauth_settings.PASSWORD_RESET_TOKEN_GENERATOR()
    return f"{uid}-{generator.make_token(user)}"


def expand_reset_links(text: str) -> str:
    """``text`` with every reset placeholder replaced by a fresh ``<uid>-<key>``."""
    if "[[heeded-reset:" not in text:
        return text
    return PLACEHOLDER.sub(_key_for, text)
