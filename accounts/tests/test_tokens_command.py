"""`heeded token create|list|revoke`: the token once on stdout, clear errors, exit codes."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from accounts.models import ApiToken
from accounts.tokens import token_create, token_hash
from heeded.cli import main


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def frozen_clock(now):
    with time_machine.travel(now, tick=False):
        yield


def test_create_prints_the_token_alone_on_stdout(admin, now):
    out, err = run("create", "ada", "--name", "rmm")

    raw = out.strip()
    token = ApiToken.objects.get()
    assert out == raw + "\n"
    assert token.key_hash == token_hash(raw)
    assert (token.user, token.name, token.created_at) == (admin, "rmm", now)
    assert f"Created token {token.prefix}… ('rmm') for ada" in err
    assert "shown once" in err
    assert raw not in err


def test_create_names_the_token_cli_by_default(admin):
    run("create", "ada")

    assert ApiToken.objects.get().name == "cli"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "nobody"), "No user named 'nobody'."),
        (("create", "ada", "--name", " "), "A token needs a name"),
        (("list", "nobody"), "No user named 'nobody'."),
        (("revoke", "hd_unknown"), "No token matches 'hd_unknown'"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(admin, args, message):
    with pytest.raises(CommandError) as caught:
        run(*args)

    assert str(caught.value).startswith(message)
    assert not ApiToken.objects.exists()


def test_create_refuses_a_disabled_account(technician):
    technician.is_active = False
    technician.save()

    with pytest.raises(CommandError, match="The account 'tess' is disabled"):
        run("create", "tess")
    assert not ApiToken.objects.exists()


def test_list_shows_prefix_name_use_and_status(admin, now):
    live, _ = token_create(user=admin, name="rmm", now=now)
    gone, _ = token_create(user=admin, name="psa", now=now - dt.timedelta(days=3))
    ApiToken.objects.filter(pk=gone.pk).update(revoked_at=now)
    ApiToken.objects.filter(pk=live.pk).update(last_used_at=now)

    out, _ = run("list", "ada")

    header, first, second = out.splitlines()
    assert header.split() == ["PREFIX", "NAME", "CREATED", "LAST", "USED", "STATUS"]
    assert first.startswith(live.prefix) and "rmm" in first and first.endswith("active")
    assert "2026-03-02 10:00 CET" in first
    assert second.startswith(gone.prefix) and "revoked 2026-03-02 10:00 CET" in second


def test_list_says_when_there_is_nothing(admin):
    out, err = run("list", "ada")

    assert out == ""
    assert err.strip() == "ada has no tokens."


def test_revoke_by_prefix_then_again(admin, now):
    token, _ = token_create(user=admin, name="rmm", now=now)

    first, _ = run("revoke", token.prefix)
    second, _ = run("revoke", token.prefix)

    assert first.strip() == f"Revoked token {token.prefix}… ('rmm') of ada."
    assert "was already revoked on 2026-03-02 10:00 CET" in second
    assert ApiToken.objects.get().revoked_at == now


def test_revoke_by_the_whole_token(admin, now):
    token, raw = token_create(user=admin, name="rmm", now=now)

    run("revoke", raw)

    token.refresh_from_db()
    assert token.revoked_at == now


@pytest.mark.django_db(transaction=True)
def test_the_heeded_command_exits_non_zero_on_an_error(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["heeded", "token", "create", "nobody"])

    assert caught.value.code == 1
    assert "No user named 'nobody'." in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_the_heeded_command_needs_an_action(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["heeded", "token"])

    assert caught.value.code == 2
    assert "ACTION" in capsys.readouterr().err
