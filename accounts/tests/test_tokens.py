"""accounts.tokens: a token is shown once, stored only as its hash, found by its prefix."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core.exceptions import ValidationError

from accounts.models import ApiToken
from accounts.tokens import (
    PREFIX_LENGTH,
    Msg,
    token_create,
    token_find,
    token_list_for,
    token_revoke,
)


def test_a_new_token_is_stored_only_as_its_hash(admin, now):
    token, raw = token_create(user=admin, name=" rmm ", now=now)

    assert raw.startswith("hd_")
    assert len(raw) == 3 + 43
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:PREFIX_LENGTH]
    assert token.name == "rmm"
    assert (token.created_at, token.last_used_at, token.revoked_at) == (now, None, None)
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert raw not in {str(value) for value in stored.values()}


def test_two_tokens_never_share_text(admin, now):
    first = token_create(user=admin, name="a", now=now)[1]
    second = token_create(user=admin, name="a", now=now)[1]

    assert first != second


@pytest.mark.parametrize(
    ("name", "message"),
    [("", Msg.NAME_REQUIRED), ("   ", Msg.NAME_REQUIRED), ("x" * 101, Msg.NAME_TOO_LONG)],
)
def test_a_token_needs_a_reasonable_name(admin, now, name, message):
    with pytest.raises(ValidationError) as caught:
        token_create(user=admin, name=name, now=now)

    assert caught.value.message_dict == {"name": [message]}
    assert not ApiToken.objects.exists()


def test_a_disabled_account_gets_no_token(technician, now):
    technician.is_active = False
    technician.save()

    with pytest.raises(ValidationError) as caught:
        token_create(user=technician, name="rmm", now=now)

    assert caught.value.message_dict == {"user": [Msg.USER_DISABLED.format(username="tess")]}
    assert not ApiToken.objects.exists()


def test_a_token_is_found_by_its_prefix_or_its_whole_text(admin, now):
    token, raw = token_create(user=admin, name="rmm", now=now)

    assert token_find(token.prefix) == token
    assert token_find(f"  {raw} ") == token


@pytest.mark.parametrize("text", ["hd_nothing", "", "hd_" + "x" * 43])
def test_an_unknown_token_is_reported_without_echoing_it(admin, now, text):
    token_create(user=admin, name="rmm", now=now)

    with pytest.raises(ValidationError) as caught:
        token_find(text)

    (message,) = caught.value.messages
    shown = text[:PREFIX_LENGTH] + ("…" if len(text) > PREFIX_LENGTH else "")
    assert message == Msg.NOT_FOUND.format(prefix=shown)
    assert "x" * 20 not in message


def test_a_shorter_prefix_than_the_stored_one_matches_nothing(admin, now):
    token, _ = token_create(user=admin, name="rmm", now=now)

    with pytest.raises(ValidationError):
        token_find(token.prefix[:5])


def test_a_prefix_shared_by_two_tokens_is_ambiguous(admin, manager, now):
    for user, digest in ((admin, "a" * 64), (manager, "b" * 64)):
        ApiToken.objects.create(
            user=user, name="x", prefix="hd_abcdefghi", key_hash=digest, created_at=now
        )

    with pytest.raises(ValidationError) as caught:
        token_find("hd_abcdefghi")

    assert caught.value.messages == [Msg.AMBIGUOUS_PREFIX.format(prefix="hd_abcdefghi")]


def test_revoking_twice_keeps_the_first_date(admin, now):
    token, _ = token_create(user=admin, name="rmm", now=now)

    token_revoke(token=token, now=now)
    later = token_revoke(token=token, now=now + dt.timedelta(days=1))

    assert later.revoked_at == now
    assert ApiToken.objects.get(pk=token.pk).revoked_at == now


def test_the_list_holds_only_the_users_tokens_newest_first(admin, manager, now):
    old, _ = token_create(user=admin, name="old", now=now)
    new, _ = token_create(user=admin, name="new", now=now + dt.timedelta(hours=1))
    token_create(user=manager, name="theirs", now=now)

    assert list(token_list_for(admin)) == [new, old]
