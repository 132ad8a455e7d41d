"""``heeded token create USER [--name NAME]`` / ``token list USER`` / ``token revoke PREFIX``.

``create`` writes the token alone on stdout, so a script can capture it
(``TOKEN=$(heeded token create rmm-bot --name rmm)``); everything meant for people
goes to stderr.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import User
from accounts.tokens import token_create, token_find, token_list_for, token_revoke


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "-"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def _messages(exc: ValidationError) -> str:
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Create, list and revoke API tokens (only the hash of a token is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        create = actions.add_parser("create", help="create a token and print it (shown once)")
        create.add_argument("username", metavar="USER")
        create.add_argument("--name", default="cli", help="what the token is for (default: cli)")
        listing = actions.add_parser("list", help="list a user's tokens")
        listing.add_argument("username", metavar="USER")
        revoke = actions.add_parser("revoke", help="revoke a token by its prefix or whole text")
        revoke.add_argument("prefix", metavar="PREFIX")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(self._user(options["username"]), options["name"])
        elif action == "list":
            self._list(self._user(options["username"]))
        else:
            self._revoke(options["prefix"])

    def _user(self, username: str) -> User:
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None

    def _create(self, user: User, name: str) -> None:
        try:
            token, raw = token_create(user=user, name=name, now=timezone.now())
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        self.stderr.write(
            f"Created token {token.prefix}… ({token.name!r}) for {user.get_username()}. "
            "It is shown once, below; store it now."
        )
        self.stdout.write(raw)

    def _list(self, user: User) -> None:
        tokens = list(token_list_for(user))
        if not tokens:
            self.stderr.write(f"{user.get_username()} has no tokens.")
            return
        self.stdout.write(f"{'PREFIX':<13} {'NAME':<24} {'CREATED':<22} {'LAST USED':<22} STATUS")
        for token in tokens:
            status = f"revoked {_when(token.revoked_at)}" if token.revoked_at else "active"
            self.stdout.write(
                f"{token.prefix:<13} {token.name[:24]:<24} {_when(token.created_at):<22} "
                f"{_when(token.last_used_at):<22} {status}"
            )

    def _revoke(self, prefix: str) -> None:
        try:
            token = token_find(prefix)
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        owner = token.user.get_username()
        if token.revoked_at is not None:
            self.stdout.write(
                f"Token {token.prefix}… of {owner} was already revoked on "
                f"{_when(token.revoked_at)}."
            )
            return
        token_revoke(token=token, now=timezone.now())
        self.stdout.write(f"Revoked token {token.prefix}… ({token.name!r}) of {owner}.")
