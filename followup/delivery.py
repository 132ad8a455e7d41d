"""Delivery of the outbox: claim a due message, deliver it, record the attempt.

The three steps are deliberately apart:

- **claim** (one short transaction): a due row becomes ``sending``, leased to one
  worker until ``lease_until``, its ``attempts`` counter moved on. On PostgreSQL the
  candidates are locked with ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent
  workers split the queue instead of queueing behind each other; on SQLite (one
  writer at a time) each row is taken with a conditional UPDATE that succeeds only
  if the row is still in the state we read.
- **deliver** (no transaction, no locks held): the handler for the message's kind
  talks to the outside world, which can take seconds or time out.
- **record** (one short transaction): a ``DeliveryAttempt`` row, then the message is
  marked sent, scheduled for a retry with backoff, or given up (``failed``). The
  status update is conditional on the claim still being ours, so a worker that
  overran its lease cannot overwrite the result of the worker that took over.

A worker that dies between claim and record leaves the row ``sending``; once its
lease has passed another worker records the abandoned attempt and delivers it again
with the same payload, hence the same Message-ID / idempotency key.

While a row is ``sending``, ``next_attempt_at`` holds its lease expiry: "due" is then
one range condition on the partial index ``outbox_due`` for both states, and the
claim reads only due rows, however many messages are stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from typing import Any

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.core.mail.message import SafeMIMEMultipart
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from accounts.passwords import expand_reset_links
from followup.choices import OutboxKind, OutboxStatus
from followup.models import DeliveryAttempt, OutboxMessage
from lib import sealed
from lib.branding import mail_logo
from recommendations.mail import LOGO_CID

logger = logging.getLogger("heeded.outbox")

# Delay before the next try after attempt n (1-based) failed; the last value repeats.
# With the default of 8 attempts a message is retried for about 28 hours, enough to
# ride out a mail server's weekend maintenance window before it is given up.
BACKOFF = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=15),
    dt.timedelta(hours=1),
    dt.timedelta(hours=3),
    dt.timedelta(hours=12),
)


class Msg:
    """Stable error texts; staff read them in the deliveries list, tests assert them."""

    NO_HANDLER = "No delivery handler for {kind!r} messages in this version of Heeded."
    LEASE_EXPIRED = (
        "Worker {worker} stopped before recording the result of this attempt "
        "(its lease expired at {lease_until}); delivering again with the same Message-ID."
    )
    GAVE_UP_AFTER_CRASHES = (
        "Worker {worker} stopped during the last allowed attempt (its lease expired at "
        "{lease_until}); gave up."
    )
    CLAIM_LOST = (
        "This worker's lease had expired and another worker had taken the message over; "
        "this result was not applied to the message."
    )
    EMAIL_FIELD = "The e-mail payload needs {field}."
    EMAIL_NOT_ACCEPTED = "The e-mail backend accepted no message."
    NO_ATTACHMENT_SOURCE = "No attachment source {source!r} in this version of Heeded."
    ATTACHMENT_GONE = "Attachment {ref!r} no longer exists."


class DeliveryError(Exception):
    """A failed delivery that may succeed later (the message is retried)."""


class PermanentDeliveryError(DeliveryError):
    """A failed delivery that will never succeed (bad payload): give up at once."""


Handler = Callable[[OutboxMessage], None]

# One handler per outbox kind. A handler returns when the receiver accepted the
# message and raises otherwise; PermanentDeliveryError means "do not retry".
# Webhook and PSA handlers are added by their integrations with @handles(...); until
# then such messages fail visibly with Msg.NO_HANDLER (and are retried, so a worker of
# an older version does not give up messages a newer one could deliver).
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Register the delivery handler of an outbox kind."""

    def register(func: Handler) -> Handler:
        HANDLERS[OutboxKind(kind)] = func
        return func

    return register


@dataclasses.dataclass(frozen=True)
class DeliveryResult:
    """What one attempt did, for the worker's log line and for tests."""

    message: OutboxMessage
    attempt: int
    worker: str
    ok: bool
    status: str
    error: str = ""
    next_attempt_at: dt.datetime | None = None
    claim_lost: bool = False

    def describe(self) -> str:
        m = self.message
        head = f"{m.kind} #{m.pk} attempt {self.attempt}"
        if self.claim_lost:
            return f"{'sent' if self.ok else 'failed'} {head} after losing the claim: {self.error}"
        if self.status == OutboxStatus.SENT:
            return f"sent {head} {m.payload.get('message_id', m.idempotency_key)}"
        if self.status == OutboxStatus.FAILED:
            return f"gave up {head}: {self.error}"
        retry_at = _stamp(self.next_attempt_at)
        return f"retry {head} failed, next try at {retry_at}: {self.error}"


def backoff_after(attempt: int) -> dt.timedelta:
    """The wait before retrying a message whose ``attempt``-th try (1-based) failed."""
    return BACKOFF[min(max(attempt, 1), len(BACKOFF)) - 1]


def due_messages(now: dt.datetime) -> QuerySet[OutboxMessage]:
    """Messages a worker may take at ``now``: pending and due, or sending with an
    expired lease (the worker that claimed them died), earliest first."""
    return (
        OutboxMessage.objects.filter(
            status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING], next_attempt_at__lte=now
        )
        .filter(Q(status=OutboxStatus.PENDING) | Q(lease_until__lt=now))
        .order_by("next_attempt_at", "id")
    )


def _sqlite_due(now: dt.datetime, limit: int) -> list[OutboxMessage]:
    """``due_messages(now)[:limit]`` read through the partial index ``outbox_due``.

    SQLite uses a partial index only when the query repeats the index's condition
    literally (a bound ``status IN (?, ?)`` cannot be proven to match), and without
    ANALYZE statistics it prefers ``outbox_status_created``, reading every pending row
    including those waiting for a retry. INDEXED BY pins the plan to what is due and
    makes SQLite raise an error, rather than scan, if the index ever stops matching.
    """
    at = connection.ops.adapt_datetimefield_value(now)
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    sql = (
        f"SELECT * FROM {table} INDEXED BY outbox_due "
        "WHERE status IN ('pending', 'sending') AND next_attempt_at <= %s "
        "AND (status = 'pending' OR lease_until < %s) "
        "ORDER BY next_attempt_at, id LIMIT %s"
    )
    return list(OutboxMessage.objects.raw(sql, [at, at, limit]))


# --- claim ----------------------------------------------------------------------


def claim_due(*, now: dt.datetime, worker: str, limit: int) -> list[OutboxMessage]:
    """Lease up to ``limit`` due messages to ``worker`` and return them, ``sending``.

    Rows abandoned by a dead worker get their lost attempt recorded first; a row whose
    lost attempt was the last allowed one is given up instead of returned.
    """
    claimed, _ = _claim(now=now, worker=worker, limit=limit)
    return claimed


def _claim(
    *, now: dt.datetime, worker: str, limit: int
) -> tuple[list[OutboxMessage], list[DeliveryResult]]:
    lease_until = now + dt.timedelta(seconds=settings.HEEDED_OUTBOX_LEASE_SECONDS)
    max_attempts = settings.HEEDED_OUTBOX_MAX_ATTEMPTS
    claimed: list[OutboxMessage] = []
    given_up: list[DeliveryResult] = []
    with transaction.atomic():
        if connection.vendor == "sqlite":
            # The settings open SQLite transactions IMMEDIATE, so this one already holds
            # the write lock; the conditional updates below still check the state we
            # read, which keeps the claim correct under any transaction mode.
            candidates = _sqlite_due(now, limit)
        else:
            # Rows another worker is claiming right now are skipped, not waited for.
            candidates = list(due_messages(now).select_for_update(skip_locked=True)[:limit])
        for row in candidates:
            seen = OutboxMessage.objects.filter(
                pk=row.pk, status=row.status, attempts=row.attempts, claimed_by=row.claimed_by
            )
            if row.status == OutboxStatus.SENDING:
                if row.attempts >= max_attempts:
                    error = Msg.GAVE_UP_AFTER_CRASHES.format(
                        worker=row.claimed_by, lease_until=_stamp(row.lease_until)
                    )
                    if seen.update(
                        status=OutboxStatus.FAILED,
                        last_error=error,
                        next_attempt_at=None,
                        lease_until=None,
                    ):
                        _record_abandoned(row, now=now, error=error)
                        row.status, row.last_error = OutboxStatus.FAILED, error
                        row.next_attempt_at = row.lease_until = None
                        given_up.append(
                            DeliveryResult(
                                message=row,
                                attempt=row.attempts,
                                worker=worker,
                                ok=False,
                                status=OutboxStatus.FAILED,
                                error=error,
                            )
                        )
                    continue
                error = Msg.LEASE_EXPIRED.format(
                    worker=row.claimed_by, lease_until=_stamp(row.lease_until)
                )
                if not _take(seen, row, worker=worker, lease_until=lease_until, error=error):
                    continue
                _record_abandoned(row, now=now, error=error)
            elif not _take(seen, row, worker=worker, lease_until=lease_until, error=None):
                continue
            row.status = OutboxStatus.SENDING
            row.claimed_by = worker
            row.lease_until = row.next_attempt_at = lease_until
            row.attempts += 1
            claimed.append(row)
    return claimed, given_up


def _take(
    seen: QuerySet[OutboxMessage],
    row: OutboxMessage,
    *,
    worker: str,
    lease_until: dt.datetime,
    error: str | None,
) -> bool:
    """Lease the row if it is still as we read it; True when it is now ours."""
    fields: dict[str, Any] = {
        "status": OutboxStatus.SENDING,
        "claimed_by": worker,
        "lease_until": lease_until,
        "next_attempt_at": lease_until,
        "attempts": row.attempts + 1,
    }
    if error is not None:
        fields["last_error"] = error
        row.last_error = error
    return seen.update(**fields) == 1


def _record_abandoned(row: OutboxMessage, *, now: dt.datetime, error: str) -> None:
    """The attempt of a worker that died: it started when its lease began."""
    assert row.lease_until is not None
    started = row.lease_until - dt.timedelta(seconds=settings.HEEDED_OUTBOX_LEASE_SECONDS)
    DeliveryAttempt.objects.create(
        message=row,
        number=row.attempts,
        worker=row.claimed_by,
        started_at=min(started, now),
        finished_at=now,
        ok=False,
        error=error,
    )


def _stamp(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).isoformat() if value else "?"


# --- deliver and record -----------------------------------------------------------


def deliver_claimed(
    message: OutboxMessage,
    *,
    now: dt.datetime,
    worker: str,
    clock: Callable[[], float] = time.monotonic,
) -> DeliveryResult:
    """Deliver a message this worker has claimed, outside any transaction, and record
    the attempt. ``now`` is when the attempt starts; its end adds the time it took
    as measured by ``clock`` (monotonic seconds; tests pass their own)."""
    started = clock()
    error = ""
    permanent = False
    handler = HANDLERS.get(message.kind)
    try:
        if handler is None:
            raise DeliveryError(Msg.NO_HANDLER.format(kind=message.kind))
        handler(message)
    except PermanentDeliveryError as exc:
        error, permanent = str(exc), True
    except BadHeaderError as exc:
        error, permanent = f"BadHeaderError: {exc}", True
    except DeliveryError as exc:
        error = str(exc)
    except Exception as exc:
        # Whatever the receiver or the network throws (SMTP replies, refused
        # connections, timeouts, TLS errors) is this message's failure to record, not
        # a reason to stop the worker and leave the rest of the queue undelivered.
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    finished = now + dt.timedelta(seconds=clock() - started)
    return _record(
        message,
        worker=worker,
        started_at=now,
        finished_at=finished,
        error=error,
        permanent=permanent,
    )


def _record(
    message: OutboxMessage,
    *,
    worker: str,
    started_at: dt.datetime,
    finished_at: dt.datetime,
    error: str,
    permanent: bool,
) -> DeliveryResult:
    number = message.attempts
    ok = not error
    fields: dict[str, Any] = {"lease_until": None}
    if ok:
        fields.update(status=OutboxStatus.SENT, sent_at=finished_at, next_attempt_at=None)
        fields["last_error"] = ""
    elif permanent or number >= settings.HEEDED_OUTBOX_MAX_ATTEMPTS:
        fields.update(status=OutboxStatus.FAILED, next_attempt_at=None, last_error=error)
    else:
        retry_at = finished_at + backoff_after(number)
        fields.update(status=OutboxStatus.PENDING, next_attempt_at=retry_at, last_error=error)
    with transaction.atomic():
        still_ours = (
            OutboxMessage.objects.filter(
                pk=message.pk, status=OutboxStatus.SENDING, claimed_by=worker, attempts=number
            ).update(**fields)
            == 1
        )
        note = "" if still_ours else Msg.CLAIM_LOST
        DeliveryAttempt.objects.create(
            message=message,
            number=number,
            worker=worker,
            started_at=started_at,
            finished_at=finished_at,
            ok=ok,
            error="\n".join(part for part in (error, note) if part),
        )
    if still_ours:
        for name, value in fields.items():
            setattr(message, name, value)
    result = DeliveryResult(
        message=message,
        attempt=number,
        worker=worker,
        ok=ok,
        status=fields["status"],
        error=error if still_ours else "\n".join(part for part in (error, note) if part),
        next_attempt_at=fields.get("next_attempt_at"),
        claim_lost=not still_ours,
    )
    log = logger.info if ok and still_ours else logger.warning
    log("outbox %s", result.describe())
    return result


def deliver_due(
    *,
    now: dt.datetime,
    worker: str,
    limit: int = 10,
    clock: Callable[[], float] = time.monotonic,
) -> list[DeliveryResult]:
    """Claim up to ``limit`` due messages and deliver them one after the other.

    ``now`` is the moment of the claim; each delivery starts at ``now`` plus the time
    the batch has taken so far. A message whose lease ran out while earlier ones were
    being delivered is put back untouched rather than sent: another worker may
    already have taken it over.
    """
    started = clock()
    claimed, results = _claim(now=now, worker=worker, limit=limit)
    for message in claimed:
        at = now + dt.timedelta(seconds=clock() - started)
        if message.lease_until is not None and at >= message.lease_until:
            _release(message, worker=worker, now=at)
            continue
        results.append(deliver_claimed(message, now=at, worker=worker, clock=clock))
    return results


def _release(message: OutboxMessage, *, worker: str, now: dt.datetime) -> None:
    """Undo a claim that was never acted on, as if it had not happened."""
    OutboxMessage.objects.filter(
        pk=message.pk, status=OutboxStatus.SENDING, claimed_by=worker, attempts=message.attempts
    ).update(
        status=OutboxStatus.PENDING,
        attempts=message.attempts - 1,
        lease_until=None,
        next_attempt_at=now,
    )


def deliver_one(*, now: dt.datetime, worker: str) -> bool:
    """Deliver the earliest due message, if any; True when there was work."""
    return bool(deliver_due(now=now, worker=worker, limit=1))


# --- attachments --------------------------------------------------------------------

# An e-mail payload names its attachments by reference ({"source": name, "id": …});
# the source that owns the file turns a reference into (filename, bytes, MIME type) at
# send time, so file bytes are never copied into the outbox. A source raises
# LookupError when the file is gone.
Attachment = tuple[str, bytes, str]
AttachmentSource = Callable[[dict[str, Any]], Attachment]
ATTACHMENT_SOURCES: dict[str, AttachmentSource] = {}


def attachment_source(name: str) -> Callable[[AttachmentSource], AttachmentSource]:
    """Register the resolver of an attachment reference kind."""

    def register(func: AttachmentSource) -> AttachmentSource:
        ATTACHMENT_SOURCES[name] = func
        return func

    return register


def _attachments(payload: dict[str, Any]) -> list[Attachment]:
    files = []
    for ref in payload.get("attachments") or []:
        source = ATTACHMENT_SOURCES.get(str(ref.get("source")))
        if source is None:
            # Retried, like a kind without handler: a newer worker may know it.
            raise DeliveryError(Msg.NO_ATTACHMENT_SOURCE.format(source=ref.get("source")))
        try:
            files.append(source(ref))
        except LookupError:
            raise PermanentDeliveryError(Msg.ATTACHMENT_GONE.format(ref=ref)) from None
    return files


# --- handlers ---------------------------------------------------------------------


def _email_payload(payload: dict[str, Any]) -> dict[str, Any]:
    to = payload.get("to")
    if not isinstance(to, list) or not to or not all(isinstance(a, str) and a for a in to):
        raise PermanentDeliveryError(Msg.EMAIL_FIELD.format(field="at least one recipient"))
    for field in ("subject", "text", "message_id"):
        if not isinstance(payload.get(field), str) or not payload[field]:
            raise PermanentDeliveryError(Msg.EMAIL_FIELD.format(field=f"a {field}"))
    return payload


class _BrandedEmail(EmailMultiAlternatives):
    """An e-mail whose HTML may show inline parts (the logo) beside files attached.

    The parts nest as RFC 2387 and 2046 want them, so every client shows the logo in the
    HTML and lists only the files as attachments::

        multipart/mixed            (only when files are attached)
          multipart/related        (only when there are inline parts)
            multipart/alternative  text/plain, text/html
            image/png              Content-ID: <heeded-logo>
          application/pdf          the files
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inline_parts: list[MIMEBase] = []

    def _create_alternatives(self, msg: Any) -> Any:
        msg = super()._create_alternatives(msg)
        if not self.inline_parts:
            return msg
        related = SafeMIMEMultipart(
            _subtype="related", encoding=self.encoding or settings.DEFAULT_CHARSET
        )
        related.attach(msg)
        for part in self.inline_parts:
            related.attach(part)
        return related


@handles(OutboxKind.EMAIL)
def send_email(message: OutboxMessage) -> None:
    """Send through Django's configured backend (SMTP in production) with the
    Message-ID fixed at queueing time, so a retry is recognisably the same mail."""
    payload = _email_payload(message.payload)
    headers = {str(k): str(v) for k, v in (payload.get("headers") or {}).items()}
    headers["Message-ID"] = payload["message_id"]
    # Answer, sign-in and password-reset tokens are made only here, never stored
    # (lib.sealed, accounts.passwords).
    email = _BrandedEmail(
        subject=payload["subject"],
        body=expand_reset_links(sealed.expand(payload["text"])),
        from_email=payload.get("from") or settings.DEFAULT_FROM_EMAIL,
        to=payload["to"],
        reply_to=payload.get("reply_to") or None,
        headers=headers,
    )
    if payload.get("html"):
        html = expand_reset_links(sealed.expand(payload["html"]))
        email.attach_alternative(html, "text/html")
        logo = mail_logo()
        if logo is not None and f"cid:{LOGO_CID}" in html:
            # The logo as an inline part: mail clients show it without loading
            # anything from the web (Gmail drops data: URIs, Outlook blocks remote images).
            content, mime = logo
            image = MIMEImage(content, _subtype=mime.split("/", 1)[1])
            image.add_header("Content-ID", f"<{LOGO_CID}>")
            image.add_header(
                "Content-Disposition", "inline", filename=f"logo.{image.get_content_subtype()}"
            )
            email.inline_parts.append(image)
    for filename, content, mimetype in _attachments(payload):
        email.attach(filename, content, mimetype)
    if email.send(fail_silently=False) != 1:
        raise DeliveryError(Msg.EMAIL_NOT_ACCEPTED)
