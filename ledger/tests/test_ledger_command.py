"""``heeded ledger verify|head|anchor`` through call_command: output and exit codes
(0 ok, 1 a chain failed, 2 bad input)."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ledger.models import Anchor, Head
from ledger.services import anchor_record
from ledger.tests.helpers import append, delete_events, event, rewrite_head, set_data


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("ledger", *args, stdout=out)
    return out.getvalue()


def failing(*args: str) -> str:
    """Run a command that must exit with status 1; return what it printed."""
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("ledger", *args, stdout=out)
    assert exit_info.value.code == 1
    return out.getvalue()


def usage_error(*args: str) -> str:
    """Run a command that must be refused as bad input (status 2); return the message."""
    with pytest.raises(CommandError) as error:
        call_command("ledger", *args, stdout=io.StringIO())
    assert error.value.returncode == 2
    return str(error.value)


@pytest.fixture
def chain(client_a, client_b, now):
    append(client_a, 4, now=now)
    return client_a


def test_verify_prints_ok_with_the_counts(chain, now):
    anchor_record(client=chain, at=now, purpose="qbr-report")

    assert run("verify") == "ok: 2 clients, 6 events, 1 anchor checked\n"


def test_verify_of_one_client_by_id_slug_or_name(chain):
    for reference in (str(chain.pk), "acme-dental", "Acme Dental", "acme dental"):
        assert run("verify", "--client", reference) == "ok: 1 client, 5 events, 0 anchors checked\n"


def test_verify_exits_1_naming_the_client_the_event_and_the_reason(chain):
    set_data(chain, 3, {"n": 1, "note": "edited"})

    output = failing("verify")

    assert output.splitlines() == [
        f'FAIL: client "Acme Dental" (id {chain.pk}): event 3: '
        "hash mismatch: stored hash differs from the recomputed hash",
        "FAILED: 1 of 2 clients failed verification (3 events, 0 anchors checked)",
    ]


def test_verify_with_a_command_line_anchor_catches_a_cut_tail_and_rewritten_head(chain):
    kept = f"acme-dental:5:{event(chain, 5).hash}"
    delete_events(chain, from_seq=4, to_seq=5)
    rewrite_head(chain, 3)

    assert run("verify").startswith("ok:")
    output = failing("verify", "--anchor", kept)
    assert f'FAIL: client "Acme Dental" (id {chain.pk}): event 4: chain shorter than anchor' in (
        output
    )


def test_verify_accepts_several_anchors_and_upper_case_hashes(chain, client_b):
    first = f"{chain.pk}:2:{event(chain, 2).hash.upper()}"
    second = f"Bravo Legal:1:{event(client_b, 1).hash}"

    assert run("verify", "--anchor", first, "--anchor", second) == (
        "ok: 2 clients, 6 events, 2 anchors checked\n"
    )


def test_verify_reports_an_anchor_that_differs(chain):
    output = failing("verify", "--client", "acme-dental", "--anchor", "acme-dental:2:" + "0" * 64)

    assert "event 2: chain differs from anchor: command-line anchor has" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--client", "nobody"], "unknown client 'nobody'"),
        (["verify", "--anchor", "acme-dental:3"], "is not CLIENT:SEQ:HASH"),
        (["verify", "--anchor", "acme-dental:x:" + "a" * 64], "SEQ must be a whole number"),
        (["verify", "--anchor", "acme-dental:3:abc"], "HASH must be 64 hexadecimal digits"),
        (["verify", "--anchor", "nobody:3:" + "a" * 64], "unknown client 'nobody'"),
        (
            ["verify", "--client", "bravo-legal", "--anchor", "acme-dental:3:" + "a" * 64],
            "is for another client than --client",
        ),
        (["verify", "--chunk-size", "0"], "--chunk-size must be at least 1"),
        (["verify", "--chunk-size", "many"], "invalid int value"),
        (["head"], "the following arguments are required: --client"),
        (["head", "--client", "nobody"], "unknown client 'nobody'"),
        (["head", "--client", "  "], "no client given"),
    ],
)
def test_bad_input_is_a_usage_error_with_exit_status_2(chain, args, message):
    assert message in usage_error(*args)


def test_an_ambiguous_client_reference_asks_for_the_id(chain, client_b, admin, now):
    from clients.services import client_create

    client_create(name=str(client_b.pk), slug="numbered", actor=admin, now=now)

    assert "is ambiguous" in usage_error("head", "--client", str(client_b.pk))


def test_head_prints_seq_and_hash(chain):
    head = Head.objects.get(client=chain)

    assert run("head", "--client", "acme-dental") == f"5 {head.hash}\n"


def test_anchor_records_the_head_and_prints_it_for_verify(chain):
    printed = run("anchor", "--client", "acme-dental", "--purpose", "qbr-report").strip()

    head = Head.objects.get(client=chain)
    assert printed == f"acme-dental:5:{head.hash}"
    anchor = Anchor.objects.get(client=chain)
    assert (anchor.seq, anchor.hash, anchor.purpose) == (5, head.hash, "qbr-report")
    assert run("verify", "--anchor", printed).startswith("ok:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["anchor", "--client", "nobody", "--purpose", "x"], "unknown client 'nobody'"),
        (["anchor", "--client", "acme-dental", "--purpose", " "], "--purpose cannot be empty"),
        (["anchor", "--client", "acme-dental", "--purpose", "p" * 61], "longer than 60"),
        (
            ["anchor", "--client", "acme-dental", "--purpose", "x", "--reference", "r" * 201],
            "--reference is longer than 200",
        ),
        (["anchor", "--client", "acme-dental"], "required: --purpose"),
    ],
)
def test_a_refused_anchor_stores_nothing(chain, args, message):
    assert message in usage_error(*args)
    assert not Anchor.objects.exists()


@pytest.mark.parametrize("subcommand", [[], ["verify"], ["head"], ["anchor"]])
def test_each_subcommand_has_help(subcommand, capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command("ledger", *subcommand, "--help")

    assert exit_info.value.code == 0
    usage = capsys.readouterr().out.splitlines()[0]
    assert usage.startswith("usage: ")
    assert " ".join(["ledger", *subcommand, "[-h]"]) in usage


def test_without_a_subcommand_it_is_refused(chain):
    with pytest.raises(CommandError, match=re.escape("required: {verify,head,anchor}")):
        call_command("ledger", stdout=io.StringIO())


def test_verbose_verify_prints_every_client(chain, client_b):
    lines = run("verify", "--verbosity", "2").splitlines()

    assert lines == [
        f'ok: client "Acme Dental" (id {chain.pk}): 5 events, 0 anchors',
        f'ok: client "Bravo Legal" (id {client_b.pk}): 1 event, 0 anchors',
        "ok: 2 clients, 6 events, 0 anchors checked",
    ]
