"""Reading a client's decision out of an e-mail reply, in English and Italian. Pure tests."""

from __future__ import annotations

import datetime as dt
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from answers.mail.replies import ParsedReply, html_to_text, parse_reply, reply_text

TODAY = dt.date(2026, 3, 2)


def parsed(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def plain(body: str, charset: str = "utf-8") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "alice@client.example"
    message.set_content(body, charset=charset)
    return parsed(message.as_bytes())


# --- reply_text --------------------------------------------------------------------------


def test_the_plain_part_is_preferred_to_the_html_part():
    message = EmailMessage()
    message.set_content("ACCEPT 2026-04-30 from the plain part\n")
    message.add_alternative("<p>REJECT from the html part</p>", subtype="html")
    assert reply_text(parsed(message.as_bytes())) == "ACCEPT 2026-04-30 from the plain part"


def test_an_html_only_reply_is_read_as_text_without_markup_scripts_or_quotes():
    message = EmailMessage()
    message.set_content(
        "<html><head><style>p{color:red}</style><title>REJECT</title></head><body>"
        "<div>RINVIO 30/09/2026<br>il budget arriva a settembre &amp; poi si vedr&agrave;</div>"
        "<script>alert('REJECT')</script>"
        "<blockquote>ACCEPT 2026-04-01 quoted</blockquote></body></html>",
        subtype="html",
    )
    text = reply_text(parsed(message.as_bytes()))
    assert text == "RINVIO 30/09/2026\nil budget arriva a settembre & poi si vedrà"
    assert parse_reply(text, today=TODAY) == ParsedReply(
        "deferred", dt.date(2026, 9, 30), "il budget arriva a settembre & poi si vedrà", None
    )


def test_html_to_text_never_returns_markup():
    assert html_to_text("<p>a &lt;b&gt; <img src=x onerror=y>c</p>") == "a <b> c"


def test_a_latin_1_reply_is_decoded():
    message = plain("RIFIUTO perché costa più di quanto previsto\n", charset="iso-8859-1")
    assert reply_text(message) == "RIFIUTO perché costa più di quanto previsto"


def test_an_unknown_charset_is_read_as_utf8_with_replacements():
    raw = (
        b"From: alice@client.example\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n"
        b"REJECT too costly \xff\r\n"
    )
    assert reply_text(parsed(raw)) == "REJECT too costly \ufffd"


def test_a_message_without_text_gives_empty_text():
    message = EmailMessage()
    message.set_content(b"\x00\x01", maintype="application", subtype="octet-stream")
    assert reply_text(parsed(message.as_bytes())) == ""


@pytest.mark.parametrize(
    "history",
    [
        "On Mon, 2 Mar 2026 at 09:00, Heeded <answers@msp.example> wrote:\n> REJECT x",
        "On Mon, 2 Mar 2026 at 09:00, Heeded Answers <\nanswers@msp.example> wrote:\nREJECT x",
        "Il giorno lun 2 mar 2026 alle ore 09:00 Heeded <answers@msp.example> ha scritto:\n"
        "REJECT x",
        "Il 02/03/2026 09:00, Heeded ha scritto:\nREJECT x",
        "-----Original Message-----\nFrom: Heeded\nREJECT x",
        "----- Messaggio originale -----\nDa: Heeded\nREJECT x",
        "From: Heeded <answers@msp.example>\nSent: Monday, March 2, 2026 9:00 AM\n"
        "To: Alice\nSubject: MFA\n\nREJECT x",
        "From: Heeded <answers@msp.example> Sent: Monday, March 2, 2026 9:00 AM To: Alice\n"
        "REJECT x",
        "Da: Heeded <answers@msp.example>\nInviato: lunedì 2 marzo 2026 09:00\nA: Alice\nREJECT x",
        "________________________________\nDa: Heeded <answers@msp.example>\n"
        "Data: lunedì 2 marzo 2026\nREJECT x",
        "-- \nAlice Rossi\nREJECT is not my job title",
    ],
)
def test_quoted_history_and_signatures_are_removed(history):
    message = plain(f"ACCEPT 2026-04-30\nwe start next month\n\n{history}\n")
    assert reply_text(message) == "ACCEPT 2026-04-30\nwe start next month"


def test_quoted_lines_are_removed_wherever_they_are():
    message = plain("> DEFER 2026-05-01 quoted\nREJECT not for us\n>> ACCEPT 2026-04-30\n")
    assert reply_text(message) == "REJECT not for us"


def test_a_from_line_in_the_clients_own_words_is_kept():
    message = plain("REJECT\nFrom: our side this is not needed.\n")
    assert reply_text(message) == "REJECT\nFrom: our side this is not needed."


# --- parse_reply ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ACCEPT 2026-04-30", ("accepted", dt.date(2026, 4, 30), "")),
        ("accept: 30/04/2026", ("accepted", dt.date(2026, 4, 30), "")),
        ("Accetto entro il 30/04/2026", ("accepted", dt.date(2026, 4, 30), "")),
        ("ACCETTO 1/5/26", ("accepted", dt.date(2026, 5, 1), "")),
        ("ACCETTO 30.04.2026", ("accepted", dt.date(2026, 4, 30), "")),
        ("ACCEPT by 30 April 2026", ("accepted", dt.date(2026, 4, 30), "")),
        (
            "ACCEPT April 30th, 2026 we start now",
            ("accepted", dt.date(2026, 4, 30), "we start now"),
        ),
        ("ACCEPT 30 Apr. 2026", ("accepted", dt.date(2026, 4, 30), "")),
        ("ACCETTO 1° aprile 2026", ("accepted", dt.date(2026, 4, 1), "")),
        ("ACCETTO il 15 giu 2026, grazie", ("accepted", dt.date(2026, 6, 15), "grazie")),
        ("ACCEPT 2026-03-02", ("accepted", dt.date(2026, 3, 2), "")),
        (
            "DEFER 2026-09-30 the budget arrives in September.",
            ("deferred", dt.date(2026, 9, 30), "the budget arrives in September."),
        ),
        (
            "defer until Monday, 28 September 2026 because of the audit",
            ("deferred", dt.date(2026, 9, 28), "because of the audit"),
        ),
        (
            "RINVIO al 30 settembre 2026 perché il budget\narriva a settembre\n\nMaria Rossi",
            ("deferred", dt.date(2026, 9, 30), "perché il budget arriva a settembre"),
        ),
        (
            "RINVIO: aspettiamo il nuovo firewall, fino al 31/12/26",
            ("deferred", dt.date(2026, 12, 31), "aspettiamo il nuovo firewall"),
        ),
        ("REJECT we accept this risk.", ("rejected", None, "we accept this risk.")),
        ("Rifiuto - costa troppo", ("rejected", None, "costa troppo")),
        (
            "REJECT we tried this on 2025-01-01 and it broke printing",
            ("rejected", None, "we tried this on 2025-01-01 and it broke printing"),
        ),
        (
            "Hello,\n\n*ACCEPT* 2026-04-30\n\nThanks, Alice",
            ("accepted", dt.date(2026, 4, 30), ""),
        ),
    ],
)
def test_a_complete_answer_is_read(text, expected):
    decision, date, reason = expected
    assert parse_reply(text, today=TODAY) == ParsedReply(decision, date, reason, None)


@pytest.mark.parametrize(
    ("text", "decision", "error"),
    [
        (
            "Thanks, we will think about it.",
            None,
            "The reply does not start a line with ACCEPT, DEFER or REJECT "
            "(or ACCETTO, RINVIO, RIFIUTO).",
        ),
        (
            "I ACCEPT 2026-04-30",
            None,
            "The reply does not start a line with ACCEPT, DEFER or REJECT "
            "(or ACCETTO, RINVIO, RIFIUTO).",
        ),
        (
            "ACCEPTED 2026-04-30",
            None,
            "The reply does not start a line with ACCEPT, DEFER or REJECT "
            "(or ACCETTO, RINVIO, RIFIUTO).",
        ),
        (
            "ACCEPT 2026-04-30\nREJECT too costly",
            None,
            "The reply names more than one decision (ACCEPT, REJECT); send one.",
        ),
        (
            "ACCEPT",
            "accepted",
            "ACCEPT needs a planned implementation date, e.g. ACCEPT 2026-04-01.",
        ),
        (
            "accetto volentieri",
            "accepted",
            "ACCETTO needs a planned implementation date, e.g. ACCETTO 2026-04-01.",
        ),
        (
            "ACCEPT 2026-03-01",
            "accepted",
            "The planned implementation date 2026-03-01 is in the past.",
        ),
        ("ACCEPT 31/02/2027", "accepted", "31/02/2027 is not a valid date."),
        ("ACCEPT 2026-13-01", "accepted", "2026-13-01 is not a valid date."),
        (
            "ACCEPT 30 April",
            "accepted",
            "ACCEPT needs a planned implementation date, e.g. ACCEPT 2026-04-01.",
        ),
        (
            "DEFER",
            "deferred",
            "DEFER needs a date and a reason, e.g. DEFER 2026-06-01 the budget arrives next "
            "quarter.",
        ),
        (
            "RINVIO perché non abbiamo budget",
            "deferred",
            "RINVIO needs a date, e.g. RINVIO 2026-06-01 the budget arrives next quarter.",
        ),
        (
            "DEFER 2026-09-30",
            "deferred",
            "DEFER needs a reason after the date, e.g. DEFER 2026-06-01 the budget arrives next "
            "quarter.",
        ),
        (
            "DEFER 2026-03-02 wait",
            "deferred",
            "The deferral date 2026-03-02 must be after today (2026-03-02).",
        ),
        ("REJECT", "rejected", "REJECT needs a reason, e.g. REJECT we accept this risk."),
        ("RIFIUTO.", "rejected", "RIFIUTO needs a reason, e.g. RIFIUTO we accept this risk."),
    ],
)
def test_an_incomplete_answer_says_what_is_missing(text, decision, error):
    result = parse_reply(text, today=TODAY)
    assert (result.decision, result.error) == (decision, error)


def test_a_whole_reply_from_bytes_to_decision():
    raw = (
        b"From: Maria Rossi <maria@client.example>\r\n"
        b"Subject: Re: Attivare MFA\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"RINVIO 31/10/2026 aspettiamo il rinnovo delle licenze\r\n\r\n"
        b"Il giorno lun 2 mar 2026 alle ore 09:00 Heeded <answers@msp.example> ha =\r\n"
        b"scritto:\r\n"
        b"> Rispondete ACCETTO, RINVIO o RIFIUTO.\r\n"
    )
    result = parse_reply(reply_text(parsed(raw)), today=TODAY)
    assert result == ParsedReply(
        "deferred", dt.date(2026, 10, 31), "aspettiamo il rinnovo delle licenze", None
    )


def test_a_gmail_style_html_reply_keeps_only_the_new_text():
    message = EmailMessage()
    message.set_content(
        '<div dir="ltr">ACCEPT 2026-04-30</div><br><div class="gmail_quote">'
        '<div dir="ltr" class="gmail_attr">On Mon, 2 Mar 2026 at 09:00, Heeded &lt;'
        "answers@msp.example&gt; wrote:<br></div>"
        '<blockquote class="gmail_quote">Reply REJECT with a reason.</blockquote></div>',
        subtype="html",
    )
    assert reply_text(parsed(message.as_bytes())) == "ACCEPT 2026-04-30"


def test_an_outlook_style_html_reply_keeps_only_the_new_text():
    message = EmailMessage()
    message.set_content(
        "<div>RIFIUTO abbiamo gi&agrave; un altro prodotto</div><hr>"
        '<div id="divRplyFwdMsg"><b>Da:</b> Heeded &lt;answers@msp.example&gt;<br>'
        "<b>Inviato:</b> luned&igrave; 2 marzo 2026 09:00<br><b>Oggetto:</b> MFA</div>"
        "<div>Rispondete ACCETTO con una data.</div>",
        subtype="html",
    )
    text = reply_text(parsed(message.as_bytes()))
    assert text == "RIFIUTO abbiamo già un altro prodotto"
    assert parse_reply(text, today=TODAY).reason == "abbiamo già un altro prodotto"


def test_an_html_body_with_inline_images_is_read():
    message = EmailMessage()
    message.set_content("<p>REJECT no budget</p>", subtype="html")
    message.add_related(b"PNG", maintype="image", subtype="png", cid="<logo>")
    assert reply_text(parsed(message.as_bytes())) == "REJECT no budget"


def test_an_attached_text_file_is_not_read_as_the_reply():
    message = EmailMessage()
    message.set_content("see the attachment")
    message.add_attachment(
        b"ACCEPT 2026-04-30", maintype="text", subtype="plain", filename="answer.txt"
    )
    text = reply_text(parsed(message.as_bytes()))
    assert text == "see the attachment"
    assert parse_reply(text, today=TODAY).decision is None
