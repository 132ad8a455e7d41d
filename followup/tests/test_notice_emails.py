"""The e-mails a client and the MSP's staff receive: one per person a day, in their
language, branded, with one answer button, an HTML part built for mail clients, a
plain-text part that says the same, and (for clients) the ledger head as an anchor."""

from __future__ import annotations

import datetime as dt
import hashlib
import html as html_lib
import re
import struct
import zlib
from email import message_from_bytes

import pytest
from django.core import mail as django_mail
from django.core.management import call_command

from answers.services.portal import portal_code_request
from answers.services.recording import confirm_answer
from clients.models import ClientPolicy
from followup.delivery import deliver_due
from followup.models import FollowupStep, NoticeItem, OutboxMessage
from followup.sweep import act, plan, sweep
from ledger.models import Anchor, Event
from recommendations.deadlines import Step
from recommendations.models import Recommendation
from recommendations.services import (
    recommendation_create,
    recommendation_present,
    response_record,
)

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
BUTTON = 'style="display:inline-block;padding:12px 28px;'
URL = re.compile(r"https?://[^\s\"<>]+")
# Words of the English e-mails that must not survive in an Italian one.
ENGLISH = re.compile(
    r"\b(Dear|Hello|Severity|Critical|High|Medium|Low|Awaiting|Overdue|Reminder|"
    r"recommendations?|Answer|answer|due|Sent by|Keep this|When this|Reason|Next|"
    r"deferred|planned|please|Please|your|the)\b"
)


def _present(client, admin, now, *, title, severity, contact=None):
    rec = recommendation_create(
        client=client,
        actor=admin,
        now=now,
        title=title,
        body="Attivare la cifratura del disco; conservare la chiave di ripristino.",
        severity=severity,
        owner=admin,
        contact=contact,
    )
    return recommendation_present(recommendation=rec, actor=admin, now=now)


def _visible_text(html: str) -> str:
    """What a reader sees of an HTML part (tags gone, entities decoded)."""
    body = re.sub(r"(?s)<head>.*?</head>", " ", html)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _facts(text: str) -> set[str]:
    """The facts a part states: its links and its hashes."""
    return set(URL.findall(text)) | set(re.findall(r"\b[0-9a-f]{64}\b", text))


def _client_mails(prefix: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(idempotency_key__startswith=prefix).order_by("id"))


def _check_parts(payload: dict, *, language: str) -> None:
    text, html = payload["text"], payload["html"]
    # Built for Outlook and Gmail: tables and inline styles, nothing external, no script.
    assert f'<html lang="{language}"' in html
    for banned in ("<style", "<link", "<script", "class=", "javascript:"):
        assert banned not in html
    assert 'role="presentation"' in html
    # One clear answer button, and the same link in the text part.
    assert html.count(BUTTON) == 1
    button = re.search(r'<a href="([^"]+)"[^>]*' + re.escape(BUTTON), html)
    assert button is not None and button[1] in text
    # The same facts in both parts.
    assert _facts(text) == _facts(html_lib.unescape(html))
    for line in (" ".join(ln.split()) for ln in text.splitlines()):
        if line and not URL.fullmatch(line.split(": ")[-1]) and len(line) < 90:
            assert line.rstrip(":.") in _visible_text(html) or line.startswith(("--", "- ")), line


def _italian_throughout(payload: dict) -> None:
    for part in (payload["subject"], payload["text"], _visible_text(payload["html"])):
        bare = URL.sub(" ", part)
        bare = re.sub(r"heeded ledger verify[^\n]*", " ", bare)
        bare = re.sub(r"Cifrare i portatili|Bravo Legal|Bob Bianchi|Heeded", " ", bare)
        assert not ENGLISH.findall(bare), ENGLISH.findall(bare)


@pytest.mark.parametrize("language", ["en", "it"])
def test_every_client_email_says_the_same_in_both_parts_with_one_button(
    client_a, client_b, contact_a, contact_b, admin, now, language
):
    client, contact = (client_a, contact_a) if language == "en" else (client_b, contact_b)
    one = _present(client, admin, now, title="Cifrare i portatili", severity="medium")
    _present(client, admin, now, title="Cifrare i portatili (server)", severity="low")
    sweep(now=now + 16 * DAY + dt.timedelta(microseconds=417))
    later = now + 17 * DAY
    response = response_record(
        recommendation=Recommendation.objects.get(pk=one.pk),
        decision="deferred",
        channel="phone",
        now=later,
        recorded_by=admin,
        responder=contact,
        justification="Budget D'Angelo & Società: prossimo trimestre",
        deferred_until=(later + 60 * DAY).date(),
    )
    confirm_answer(
        contact=contact,
        responses=[response],
        proposals=[],
        reference=f"test:{response.pk}",
        recommendation_id=one.pk,
        now=later,
    )
    assert portal_code_request(email=contact.email, now=later) == 1

    kinds = {
        "present": _client_mails("present:"),
        "notice": _client_mails("followup:client:"),
        "receipt": _client_mails("answer-confirmation:"),
        "sign-in": _client_mails("portal-sign-in:"),
    }
    assert {k: len(v) for k, v in kinds.items()} == {
        "present": 2,
        "notice": 1,
        "receipt": 1,
        "sign-in": 1,
    }
    for kind, messages in kinds.items():
        for message in messages:
            payload = message.payload
            _check_parts(payload, language=language)
            if language == "it":
                _italian_throughout(payload)
            # The head it quotes is an anchor of this client's ledger.
            (digest,) = set(re.findall(r"--anchor \S+:(\d+):([0-9a-f]{64})", payload["text"]))
            assert Anchor.objects.filter(client=client, seq=int(digest[0]), hash=digest[1]), kind
    notice = kinds["notice"][0].payload
    labels = {"en": ("Severity: Medium", "MEDIUM (1)"), "it": ("Gravità: Media", "MEDIA (1)")}
    present_texts = " ".join(m.payload["text"] for m in kinds["present"])
    assert labels[language][0] in present_texts
    assert labels[language][1] in notice["text"]
    if language == "it":
        assert "Gravità: Medium" not in present_texts
        assert re.search(r"\d+ (marzo|aprile) 2026", notice["text"])


def test_a_notice_is_recorded_in_the_ledger_with_the_head_it_carries(presented, now):
    sweep(now=now + 8 * DAY)
    (message,) = _client_mails("followup:client:")
    event = Event.objects.get(kind="followup.notice", data__audience="client")
    head = event.data["ledger_head"]
    anchor = Anchor.objects.get(reference=message.idempotency_key)
    assert (anchor.seq, anchor.hash, anchor.purpose) == (head["seq"], head["hash"], "client e-mail")
    assert anchor.hash in message.payload["text"] and anchor.hash in message.payload["html"]
    sealed_html = message.payload["html"]
    assert event.data["message_sha256"] and "[[heeded-token:answer-link:" in sealed_html


def test_the_notice_button_answers_with_a_token_made_only_at_delivery(
    client, presented, contact_a, now, time_machine
):
    time_machine.move_to(now + 8 * DAY + dt.timedelta(minutes=5), tick=False)
    sweep(now=now + 8 * DAY)
    django_mail.outbox.clear()
    while deliver_due(now=now + 8 * DAY + dt.timedelta(seconds=1), worker="t", limit=20):
        pass
    (sent,) = [
        m
        for m in django_mail.outbox
        if "X-Heeded-Followup" in m.extra_headers and m.to == [contact_a.email]
    ]
    html = sent.alternatives[0][0]
    tokens = set(re.findall(r"/answer/([A-Za-z0-9_-]{20,})/", sent.body))
    assert len(tokens) == 1 and tokens == set(re.findall(r"/answer/([A-Za-z0-9_-]{20,})/", html))
    (token,) = tokens
    stored = " ".join(str(m.payload) for m in OutboxMessage.objects.all())
    assert token not in stored
    from answers.models import AnswerLink

    link = AnswerLink.objects.get(token_sha256=hashlib.sha256(token.encode()).hexdigest())
    assert list(link.recommendations.all()) == [presented]
    page = client.get(f"/answer/{token}/")
    assert page.status_code == 200 and presented.title in page.content.decode()


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"\x00\xff\xff\xff"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_the_logo_travels_inline_with_the_html(presented, now, settings, tmp_path):
    logo = tmp_path / "msp.png"
    logo.write_bytes(_png())
    settings.HEEDED_MSP_LOGO = logo
    settings.HEEDED_MSP_NAME = "Rossi & Figli IT"
    settings.HEEDED_MSP_COLOUR = "#0b6e4f"
    sweep(now=now + 8 * DAY)
    django_mail.outbox.clear()
    while deliver_due(now=now + 8 * DAY + dt.timedelta(seconds=1), worker="t", limit=20):
        pass
    sent = next(
        m
        for m in django_mail.outbox
        if m.to == ["alice@acme-dental.example"] and "X-Heeded-Followup" in m.extra_headers
    )
    parsed = message_from_bytes(sent.message().as_bytes())
    assert parsed.get_content_type() == "multipart/related"
    images = [p for p in parsed.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == "<heeded-logo>"
    html = sent.alternatives[0][0]
    assert 'src="cid:heeded-logo"' in html and "#0b6e4f" in html
    assert "Rossi &amp; Figli IT" in html and "Rossi & Figli IT" in sent.body


def test_each_person_is_told_at_most_once_a_day_and_the_rest_waits_a_day(
    client_a, contact_a, admin, now
):
    _present(client_a, admin, now, title="First", severity="critical", contact=contact_a)
    _present(client_a, admin, now + DAY / 2, title="Second", severity="critical", contact=contact_a)
    # 9 March 09:00 UTC: the first is overdue; 21:00 the second (same day in Rome).
    sweep(now=now + 7 * DAY)
    sweep(now=now + 7 * DAY + DAY / 2)
    assert [m.payload["to"] for m in _client_mails("followup:client:")] == [[contact_a.email]]
    staff = _client_mails("followup:staff:")
    assert len(staff) == 1
    waiting = NoticeItem.objects.filter(message__isnull=True)
    assert {i.step.recommendation.title for i in waiting} == {"Second"}
    assert {i.audience for i in waiting} == {"client", "staff"}
    # A re-run of the same moments sends nothing again.
    sweep(now=now + 7 * DAY)
    sweep(now=now + 7 * DAY + DAY / 2)
    assert len(_client_mails("followup:")) == 2
    # The next morning the second goes out, alone.
    sweep(now=now + 8 * DAY)
    notices = _client_mails("followup:client:")
    assert len(notices) == 2 and "Second" in notices[1].payload["text"]
    assert "First" not in notices[1].payload["text"]
    assert not NoticeItem.objects.filter(message__isnull=True).exists()
    assert not FollowupStep.objects.filter(notified_at__isnull=True).exists()


def test_a_sweep_stopped_after_planning_loses_nothing_and_sends_nothing_twice(
    presented, contact_a, now
):
    at = now + 8 * DAY
    act(now=at)
    plan(now=at)  # the worker dies here: items planned, no message queued
    assert NoticeItem.objects.filter(message__isnull=True).count() == 2
    assert not _client_mails("followup:")
    sweep(now=at + dt.timedelta(minutes=1))
    sweep(now=at + dt.timedelta(minutes=2))
    assert [m.payload["to"] for m in _client_mails("followup:")] == [
        [contact_a.email],
        ["ada@msp.example"],
    ]
    assert FollowupStep.objects.get().notified_at == at + dt.timedelta(minutes=1)
    assert Event.objects.filter(kind="followup.notice").count() == 2


def test_a_clients_quiet_setting_holds_low_severity_for_its_weekly_day(
    client_a, contact_a, admin, now
):
    ClientPolicy.objects.create(
        client=client_a, tier="Bronze", weekly_severities="low", weekly_weekday=0
    )
    low = _present(client_a, admin, now, title="Low item", severity="low", contact=contact_a)
    steps_at = []
    for day in range(0, 29):
        at = now + day * DAY
        for action in sweep(now=at):
            if action.text.startswith(Step.REMINDER_1):
                steps_at.append(at)
    (reminded,) = steps_at
    assert reminded.weekday() != 0  # the reminder fell on a weekday other than Monday
    (notice,) = [m for m in _client_mails("followup:client:") if "Low item" in m.payload["text"]]
    assert notice.created_at.weekday() == 0
    assert dt.timedelta(0) < notice.created_at - reminded < 7 * DAY
    assert low.pk


def test_the_policy_command_sets_the_quiet_settings(client_a, admin):
    from io import StringIO

    out = StringIO()
    call_command(
        "policy", "set", client_a.slug, "--as", "ada", "--tier", "Bronze",
        "--weekly", "low", "--weekly", "medium", "--weekly-weekday", "4", stdout=out,
    )  # fmt: skip
    assert out.getvalue().rstrip().endswith("; medium, low notices weekly on Friday")
    policy = ClientPolicy.objects.get(client=client_a)
    assert (policy.weekly_severities, policy.weekly_weekday) == ("medium,low", 4)
    with pytest.raises(Exception, match="weekly_severities: Unknown severity 'urgent'"):
        call_command(
            "policy", "set", client_a.slug, "--as", "ada", "--tier", "B", "--weekly", "urgent"
        )
    call_command("policy", "set", client_a.slug, "--as", "ada", "--tier", "B", "--weekly", "none")
    assert ClientPolicy.objects.get(client=client_a).weekly_severities == ""


def test_staff_get_one_daily_message_across_their_clients(
    client_a, client_b, contact_a, contact_b, admin, now
):
    _present(client_a, admin, now, title="A item", severity="critical", contact=contact_a)
    _present(client_b, admin, now, title="B item", severity="critical", contact=contact_b)
    sweep(now=now + 8 * DAY)
    (staff,) = _client_mails("followup:staff:")
    assert staff.payload["to"] == ["ada@msp.example"]
    assert "Acme Dental: A item" in staff.payload["text"]
    assert "Bravo Legal: B item" in staff.payload["text"]
    assert staff.payload["subject"] == "Follow-up today: 2 items (2 clients)"
    events = Event.objects.filter(kind="followup.notice", data__audience="staff")
    assert sorted(e.client.name for e in events) == ["Acme Dental", "Bravo Legal"]
