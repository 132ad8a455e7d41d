"""Every write of verification: enrollment tokens, and inventories from the collector
or from files. Inventories go in set-based (one upsert, one delete per device) and a
report whose inventory did not change is recognised by its digest before any write
but the device's ``last_seen``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import operator
import re
import secrets
import zoneinfo
from collections.abc import Sequence
from itertools import chain
from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.permissions import Capability, require
from clients.models import Client
from ledger.actors import Actor, actor_label
from ledger.services import event_append
from lib.errors import ServiceError
from verification.choices import DeviceState, ReportOutcome, ReportSource, ReviewReason
from verification.hotfixes import day_first_in, kb_number, parse_installed_on
from verification.jsonschema_lite import report_errors, report_schema, validate
from verification.models import (
    Device,
    DeviceCompliance,
    DeviceRename,
    DeviceScoreDay,
    EndpointReport,
    EnrollmentToken,
    InstalledHotfix,
    ReviewItem,
)
from verification.signing import signature_verify, timestamp_check

# An unchanged inventory moves the device's last_seen at most this often.
LAST_SEEN_RESOLUTION = dt.timedelta(hours=1)
TOKEN_PREFIX = "hdc1"  # noqa: S105 - the visible prefix of every token, not a secret
# The longest tag staff may set on a device (the page and the API alike).
TAG_MAX_LENGTH = 40
TAG_MAX_COUNT = 20  # as many as a collector report may carry (endpoint-report-v1.json)


class Msg:
    NAME_REQUIRED = "Give the token a name (the RMM or site that will use it)."
    ALREADY_REVOKED = "This enrollment token is already revoked."
    ALREADY_RESOLVED = "This refused report was already reviewed."
    NOTE_REQUIRED = "Say what was decided (e.g. the cloned machine was re-imaged)."
    NOT_JSON = "The body is not UTF-8 JSON: {error}"
    TAG_TOO_LONG = gettext_noop("{tag} is longer than {limit} characters.")
    TOO_MANY_TAGS = gettext_noop("A device has at most {limit} tags.")
    OTHER_CLIENT = (
        "MachineGuid {guid} is already enrolled for another client; the report was kept "
        "for review and nothing was stored."
    )
    NAME_CLASH = (
        "MachineGuid {guid} is claimed by {new!r} but was renamed away from that name to "
        "{current!r}: two machines share one MachineGuid (a cloned image?). The report was "
        "kept for review and nothing was stored."
    )


class VerificationError(ServiceError):
    """A refused report, file or token change (a ServiceError like every refusal)."""

    # The enrollment token that signed a refused collector report (for the log).
    signed_by: int | None = None


class ReportInvalid(VerificationError):
    """A signed collector report that is not UTF-8 JSON or breaks the schema:
    ``errors`` are located sentences (``$.hotfixes[3].hotfix_id: must not be empty``)."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__(errors[0])
        self.errors = list(errors)


class ReportRefused(VerificationError):
    """The report's identity clashes; a ReviewItem was written instead."""

    code = "refused"


# --- Enrollment tokens -------------------------------------------------------------


def token_digest(raw: str) -> str:
    """The stored form of a raw token, and the HMAC key the collector signs with."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def enrollment_token_create(
    *, client: Client, name: str, actor: Actor, now: dt.datetime
) -> tuple[EnrollmentToken, str]:
    """A new token for ``client``; returns (token, raw). The raw value is never stored."""
    require(actor, Capability.WRITE)
    name = name.strip()
    if not name:
        raise VerificationError(Msg.NAME_REQUIRED, field="name")
    key_id = secrets.token_hex(6)
    raw = f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = EnrollmentToken.objects.create(
            client=client,
            name=name[:100],
            key_id=key_id,
            digest=token_digest(raw),
            created_at=now,
            created_by=actor_label(actor),
        )
        event_append(
            client=client,
            kind="verification.token_created",
            actor=actor_label(actor),
            at=now,
            data={"key_id": key_id, "name": token.name},
        )
    return token, raw


def enrollment_token_revoke(
    *, token: EnrollmentToken, actor: Actor, now: dt.datetime
) -> EnrollmentToken:
    require(actor, Capability.WRITE)
    if token.revoked_at is not None:
        raise VerificationError(Msg.ALREADY_REVOKED, field="token")
    with transaction.atomic():
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        event_append(
            client=token.client,
            kind="verification.token_revoked",
            actor=actor_label(actor),
            at=now,
            data={"key_id": token.key_id},
        )
    return token


# --- Inventories -------------------------------------------------------------------


class Hotfix(NamedTuple):
    """One Get-HotFix line as a report or a file gives it (a tuple: a report builds 150
    of them, and a frozen dataclass took twice as long to build)."""

    hotfix_id: str
    description: str = ""
    installed_by: str = ""
    installed_on_raw: str = ""
    # From the file's other dates (hotfixes.day_first_in); None: only unambiguous dates.
    day_first: bool | None = None


@dataclasses.dataclass(frozen=True)
class Inventory:
    """What one report says about one machine."""

    machine_guid: str
    computer_name: str
    hotfixes: Sequence[Hotfix]
    os_caption: str = ""
    os_build: str = ""
    tags: Sequence[str] | None = None
    checks: dict[str, Any] | None = None

    def digest(self) -> str:
        """Changes whenever something stored from the report would change: a report
        whose digest equals the device's is skipped before any write.

        This runs for every report, unchanged ones included, and is their main cost
        after the one read, so it stays at C speed: the hotfix fields are joined in the
        order the machine listed them (Get-HotFix lists a machine's updates in the same
        order each time; a reordered list costs one write that finds nothing to change)
        with a separator no single-line value holds, rather than formatted and sorted
        line by line."""
        hotfixes = self.hotfixes
        summary = hashlib.sha256(
            "\x1f".join(chain.from_iterable(map(_HOTFIX_FIELDS, hotfixes))).encode()
        )
        summary.update(bytes(map(_DAY_FIRST_CODE.__getitem__, map(_DAY_FIRST, hotfixes))))
        head = {
            "name": self.computer_name,
            "os": [self.os_caption, self.os_build],
            "tags": sorted(self.tags) if self.tags is not None else None,
            "checks": self.checks,
            "count": len(hotfixes),
        }
        summary.update(json.dumps(head, sort_keys=True, separators=(",", ":")).encode())
        return summary.hexdigest()


# What Inventory.digest reads of each hotfix (all strings), and day_first as one byte.
_HOTFIX_FIELDS = operator.attrgetter("hotfix_id", "description", "installed_by", "installed_on_raw")
_DAY_FIRST = operator.attrgetter("day_first")
_DAY_FIRST_CODE = {None: 0, False: 1, True: 2}


def inventory_from_document(document: dict[str, Any]) -> Inventory:
    """An Inventory from a report that passed endpoint-report-v1.json."""
    dev = document["device"]
    seen: dict[str, Hotfix] = {}
    # One machine writes every date in one culture: one unambiguous date settles all.
    day_first = day_first_in(item.get("installed_on") for item in document["hotfixes"])
    for item in document["hotfixes"]:
        hid = item["hotfix_id"].strip()
        seen.setdefault(
            hid.upper(),
            Hotfix(
                hotfix_id=hid,
                description=(item.get("description") or "")[:255],
                installed_by=(item.get("installed_by") or "")[:255],
                installed_on_raw=(item.get("installed_on") or "")[:100],
                day_first=day_first,
            ),
        )
    return Inventory(
        machine_guid=dev["machine_guid"].lower(),
        computer_name=dev["computer_name"].strip(),
        os_caption=dev.get("os_caption") or "",
        os_build=dev.get("os_build") or "",
        tags=dev.get("tags"),
        checks=document.get("checks"),
        hotfixes=list(seen.values()),
    )


# The root's collected_at member as the collector writes it (any spacing). In a document
# that passed endpoint-report-v1.json the first match is that member: every object of
# the schema is closed, and inside a string the quotes around a key are escaped.
_COLLECTED_AT = re.compile(rb'"collected_at"\s*:\s*"([^"\\]*)"')


def _fingerprint(body: bytes, match: re.Match[bytes]) -> str:
    view = memoryview(body)
    summary = hashlib.sha256(b"heeded.endpoint-report-body\x00")
    summary.update(view[: match.start()])
    summary.update(view[match.end() :])
    return summary.hexdigest()


@dataclasses.dataclass(frozen=True)
class ReportBody:
    """What the server knows of a collector body before parsing it."""

    # SHA-256 of the body without its collected_at (which changes every run): the same
    # machine sending the same inventory gives the same fingerprint, which the device
    # keeps as its inventory hash. Anything else that differs (a newer collector, a
    # reordered list) only costs one write that finds nothing to change. None when the
    # body has no collected_at to leave out.
    fingerprint: str | None
    document_hash: str  # one per distinct body: a repeat is the same bytes again
    collected_at: str | None  # the value left out of the fingerprint


def report_body(body: bytes) -> ReportBody:
    """The fingerprint and the document hash of a collector body, hashing it once.

    The document hash is SHA-256 over the fingerprint, where the left-out member sat
    and what it said. Two different bodies differ in what the fingerprint covers, in
    that place or in that member, so they share it only through a SHA-256 collision,
    as with hashing the whole body (which would cost a second pass over it). A body
    without collected_at (refused by the schema later) is hashed whole."""
    match = _COLLECTED_AT.search(body)
    if match is None:
        return ReportBody(None, hashlib.sha256(body).hexdigest(), None)
    fingerprint = _fingerprint(body, match)
    left_out = f"heeded.endpoint-report\x00{fingerprint}\x00{match.start()}\x00".encode()
    return ReportBody(
        fingerprint,
        hashlib.sha256(left_out + match.group()).hexdigest(),
        match.group(1).decode("utf-8", "replace"),
    )


def _refuse(
    *, client: Client, inv: Inventory, reason: str, detail: str, document: Any, now: dt.datetime
) -> ReportRefused:
    # Kept in its own transaction: the refusal must survive the caller's rollback.
    with transaction.atomic():
        ReviewItem.objects.create(
            client=client,
            machine_guid=inv.machine_guid,
            computer_name=inv.computer_name[:255],
            reason=reason,
            detail=detail,
            # What was refused, as received; a caller that had no document (a test, a
            # script) leaves what the inventory said.
            document=document
            if document is not None
            else {
                "machine_guid": inv.machine_guid,
                "computer_name": inv.computer_name,
                "hotfixes": [h.hotfix_id for h in inv.hotfixes],
            },
            received_at=now,
        )
        event_append(
            client=client,
            kind="verification.report_refused",
            actor="verification",
            at=now,
            data={"machine_guid": inv.machine_guid, "name": inv.computer_name, "reason": reason},
        )
    return ReportRefused(detail, field="device.machine_guid")


def _apply_checks(device: Device, checks: dict[str, Any] | None) -> None:
    checks = checks or {}
    bitlocker = checks.get("bitlocker_os_volume")
    device.bitlocker_on = None if bitlocker is None else bitlocker == "on"
    device.smb1_enabled = checks.get("smb1_enabled")
    device.defender_rtp_on = checks.get("defender_realtime")
    device.firewall = checks.get("firewall") or {}


_UPSERT = (
    "INSERT INTO {table} (device_id, hotfix_id, kb, flagged, description, installed_by, "
    "installed_on_raw, installed_on, first_seen, last_seen) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (device_id, hotfix_id) DO UPDATE SET kb = excluded.kb, "
    "flagged = excluded.flagged, description = excluded.description, "
    "installed_by = excluded.installed_by, installed_on_raw = excluded.installed_on_raw, "
    "installed_on = excluded.installed_on, last_seen = excluded.last_seen"
)


# A fleet lists the same few hundred KB ids on every machine: read each id once per
# process (kb_number is pure).
_kb_number = functools.lru_cache(maxsize=16_384)(kb_number)


def _write_hotfixes(
    device: Device, hotfixes: Sequence[Hotfix], now: dt.datetime, *, new: bool
) -> None:
    """The device's hotfix set becomes ``hotfixes``, touching only what changed: one
    SELECT of what is stored (none for a new device), one DELETE of what went away and
    one ``executemany`` of ``INSERT … ON CONFLICT DO UPDATE`` for what is new or
    different — the same statements for 3 hotfixes or 3,000. A row's ``last_seen`` is
    when it was last written; the device's ``last_seen`` is its last report."""
    stored: dict[str, tuple[str, str, str]] = {}
    if not new:
        rows = InstalledHotfix.objects.filter(device=device).values_list(
            "hotfix_id", "description", "installed_by", "installed_on_raw"
        )
        stored = {r[0]: (r[1], r[2], r[3]) for r in rows}
    wanted = {h.hotfix_id for h in hotfixes}
    gone = [hid for hid in stored if hid not in wanted]
    if gone:
        InstalledHotfix.objects.filter(device=device, hotfix_id__in=gone).delete()
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    # A machine's updates share a few install dates (patch Tuesdays): each raw date is
    # read and adapted once per upload, not once per hotfix.
    days: dict[tuple[str, bool | None], Any] = {}
    params = []
    for h in hotfixes:
        if stored.get(h.hotfix_id) == (h.description, h.installed_by, h.installed_on_raw):
            continue
        kb = _kb_number(h.hotfix_id)
        key = (h.installed_on_raw, h.day_first)
        if key not in days:
            day, _ = parse_installed_on(h.installed_on_raw, day_first=h.day_first)
            days[key] = ops.adapt_datefield_value(day)
        params.append(
            (
                device.pk,
                h.hotfix_id,
                kb,
                kb is None,
                h.description,
                h.installed_by,
                h.installed_on_raw,
                days[key],
                stamp,
                stamp,
            )
        )
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(_UPSERT.format(table=InstalledHotfix._meta.db_table), params)


@dataclasses.dataclass(frozen=True)
class IngestResult:
    outcome: str  # accepted, unchanged, repeat
    # None for a repeat, and for an unchanged report answered from one read (its
    # ``device_id`` says which device): loading the row would cost more than the read.
    device: Device | None
    report: EndpointReport | None
    known_device_id: int | None = None
    # How many hotfixes the report listed (collector_report_receive sets it).
    hotfix_count: int | None = None

    @property
    def device_id(self) -> int | None:
        return self.device.pk if self.device is not None else self.known_device_id


def inventory_record(
    *,
    client: Client,
    inventory: Inventory,
    document_hash: str,
    source: str,
    now: dt.datetime,
    token: EnrollmentToken | None = None,
    document: Any = None,
    inventory_hash: str | None = None,
) -> IngestResult:
    """Record one machine's inventory for ``client``.

    ``inventory_hash`` is the inventory's digest when the caller has a cheaper one
    than ``Inventory.digest()`` (the collector's ``ReportBody.fingerprint``); it is what
    the device keeps and what the next report is compared with.

    A document already received for this client (same ``document_hash``) changes
    nothing and answers ``repeat``. A MachineGuid of another client, or a name that
    was renamed away coming back, is refused (ReportRefused) and kept as a ReviewItem.
    """
    inv = inventory
    # The common case, a machine reporting what it reported less than an hour ago:
    # one indexed read and one hash compare, no transaction and no write. Plain SQL:
    # building the ORM query would cost more than everything else this path does.
    known = _known_device(client, inv.machine_guid, document_hash, now - LAST_SEEN_RESOLUTION)
    if known is not None:
        device_id, stored_hash, fresh, repeat = known
        if repeat:
            return IngestResult("repeat", None, None)
        if fresh and stored_hash == (inventory_hash or inv.digest()):
            return IngestResult(ReportOutcome.UNCHANGED, None, None, known_device_id=device_id)
    elif EndpointReport.objects.filter(client=client, document_hash=document_hash).exists():
        return IngestResult("repeat", None, None)
    return _record_once(
        client, inv, inventory_hash or inv.digest(), document_hash, source, now, token, document
    )


def _record_once(
    client: Client,
    inv: Inventory,
    digest: str,
    document_hash: str,
    source: str,
    now: dt.datetime,
    token: EnrollmentToken | None,
    document: Any,
) -> IngestResult:
    """Record an inventory already known to be neither a repeat nor a fresh unchanged
    one (a document sent twice at once is still caught here)."""
    try:
        return _record_or_clash(client, inv, digest, document_hash, source, now, token, document)
    except IntegrityError:
        # The same document, sent twice at once: the second lost the race on
        # report_once_per_client and its whole transaction rolled back.
        if EndpointReport.objects.filter(client=client, document_hash=document_hash).exists():
            return IngestResult("repeat", None, None)
        raise


_KNOWN_DEVICE_SQL = (
    f"SELECT d.id, d.inventory_hash, "
    f"CASE WHEN d.last_seen > %s AND NOT d.counted_stale THEN 1 ELSE 0 END, "
    f"CASE WHEN EXISTS (SELECT 1 FROM {EndpointReport._meta.db_table} r "
    f"WHERE r.client_id = %s AND r.document_hash = %s) THEN 1 ELSE 0 END "
    f"FROM {Device._meta.db_table} d WHERE d.machine_guid = %s AND d.client_id = %s"
)


def _known_device(
    client: Client, machine_guid: str, document_hash: str, seen_after: dt.datetime
) -> tuple[int, str, bool, bool] | None:
    """(id, inventory hash, seen after ``seen_after`` and not stale, document already
    received) of the client's device with this MachineGuid, or None."""
    seen = connection.ops.adapt_datetimefield_value(seen_after)
    with connection.cursor() as cursor:
        cursor.execute(_KNOWN_DEVICE_SQL, [seen, client.pk, document_hash, machine_guid, client.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    return int(row[0]), str(row[1]), bool(row[2]), bool(row[3])


_RECEIVE_SQL = (
    f"SELECT t.id, t.digest, CASE WHEN t.revoked_at IS NULL THEN 0 ELSE 1 END, d.id, "
    f"CASE WHEN d.last_seen > %s AND NOT d.counted_stale THEN 1 ELSE 0 END, "
    f"CASE WHEN EXISTS (SELECT 1 FROM {EndpointReport._meta.db_table} r "
    f"WHERE r.client_id = t.client_id AND r.document_hash = %s) THEN 1 ELSE 0 END "
    f"FROM {EnrollmentToken._meta.db_table} t "
    f"LEFT JOIN {Device._meta.db_table} d "
    f"ON d.client_id = t.client_id AND d.inventory_hash = %s "
    f"WHERE t.key_id = %s"
)
_RECEIVE_SQL_QMARK = _RECEIVE_SQL.replace("%s", "?")


@functools.lru_cache(maxsize=8)
def _fresh_after_at(vendor: str, second: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(second - LAST_SEEN_RESOLUTION)


def _fresh_after(vendor: str, now: dt.datetime) -> Any:
    # Adapted once per second (a device last seen up to a second "too early" is still
    # fresh: its last_seen moves at the next report instead).
    return _fresh_after_at(vendor, now.replace(microsecond=0))


def _receive_read(now: dt.datetime, params: list[Any]) -> tuple[Any, ...] | None:
    """The one read of ``_RECEIVE_SQL`` (``params`` after the freshness bound). On the
    driver's own connection: Django's cursor wrapper and its connection proxy cost
    more than the indexed read itself at thousands of reports a second. The checks
    Django's cursor makes first (health check, connect) are made here too, and a
    driver error is translated as Django's would be. Through Django's cursor when
    queries are being logged (DEBUG, tests counting queries), so it is seen and
    counted."""
    db = connections[DEFAULT_DB_ALIAS]
    params = [_fresh_after(db.vendor, now), *params]
    row: tuple[Any, ...] | None
    if db.queries_logged:
        with db.cursor() as cursor:
            cursor.execute(_RECEIVE_SQL, params)
            row = cursor.fetchone()
        return row
    db.close_if_health_check_failed()
    db.ensure_connection()
    try:
        if db.vendor == "sqlite":
            row = db.connection.execute(_RECEIVE_SQL_QMARK, params).fetchone()
        else:
            with db.connection.cursor() as cursor:
                cursor.execute(_RECEIVE_SQL, params)
                row = cursor.fetchone()
    except Exception:
        with db.wrap_database_errors:
            raise
        raise
    return row


def _hotfix_count(body: bytes) -> int:
    # For a body already accepted once (up to collected_at): every hotfix item has one
    # hotfix_id key, no other object of the closed schema has one, and inside a string
    # the quotes around it would be escaped.
    return body.count(b'"hotfix_id"')


def collector_report_receive(
    *, key_id: str, timestamp: str, signature: str, body: bytes, now: dt.datetime
) -> IngestResult:
    """Receive one signed collector report, as ``POST /api/v1/endpoint-reports`` got it.

    The common case, a machine sending what it sent less than an hour ago, costs one
    pass of SHA-256 over the body (``report_body``), one indexed read of the token
    together with the client's device whose last fingerprint is this one, the HMAC,
    and a check of the new ``collected_at``: no parsing, no transaction, no write. A
    body equal, up to its ``collected_at``, to one the device's inventory came from
    is valid and says nothing new, so it is answered ``unchanged`` (``repeat`` when it
    is the very document received before) without reading it. Anything else is
    parsed, checked against endpoint-report-v1.json and goes to ``inventory_record``.

    SignatureError (signing.py) for a missing, stale or wrong signature or a revoked
    token; ReportInvalid for a body that is not a valid report; ReportRefused for an
    identity clash (kept for review). The last two carry ``signed_by``."""
    timestamp_check(key_id=key_id, timestamp=timestamp, signature=signature, now=now)
    parts = report_body(body)
    row = _receive_read(now, [parts.document_hash, parts.fingerprint, key_id])
    # No such key id: the same HMAC against nothing, then the same refusal.
    token_id, digest, revoked, device_id, fresh, repeat = row or (None, None, 0, None, 0, 0)
    signature_verify(
        digest=digest, revoked=bool(revoked), timestamp=timestamp, signature=signature, body=body
    )
    assert token_id is not None  # signature_verify refused an unknown key id
    if repeat:
        return IngestResult("repeat", None, None, hotfix_count=_hotfix_count(body))
    if (
        device_id is not None
        and fresh
        and parts.collected_at is not None
        and not validate(parts.collected_at, report_schema()["properties"]["collected_at"])
    ):
        return IngestResult(
            ReportOutcome.UNCHANGED,
            None,
            None,
            known_device_id=int(device_id),
            hotfix_count=_hotfix_count(body),
        )
    try:
        document = _report_document(body)
        inventory = inventory_from_document(document)
        token = EnrollmentToken.objects.select_related("client").get(pk=token_id)
        # Not a repeat (read above), and not unchanged within the hour: a device whose
        # last fingerprint is this body's was found above, so from here on it is
        # stale, an hour old, changed or new, and inventory_record's own first read
        # would find nothing to skip.
        result = _record_once(
            token.client,
            inventory,
            parts.fingerprint or inventory.digest(),
            parts.document_hash,
            ReportSource.COLLECTOR,
            now,
            token,
            document,
        )
    except VerificationError as exc:
        exc.signed_by = token_id
        raise
    return dataclasses.replace(result, hotfix_count=len(document["hotfixes"]))


def _report_document(body: bytes) -> dict[str, Any]:
    """The parsed report, or ReportInvalid with every way it breaks the schema."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReportInvalid([Msg.NOT_JSON.format(error=exc)]) from None
    problems = report_errors(document)
    if problems:
        raise ReportInvalid(problems)
    assert isinstance(document, dict)  # the schema's root is an object
    return document


def _record_or_clash(
    client: Client,
    inv: Inventory,
    digest: str,
    document_hash: str,
    source: str,
    now: dt.datetime,
    token: EnrollmentToken | None,
    document: Any,
) -> IngestResult:
    with transaction.atomic():
        device = Device.objects.select_for_update().filter(machine_guid=inv.machine_guid).first()
        if device is not None and device.client_id != client.pk:
            clash = Msg.OTHER_CLIENT.format(guid=inv.machine_guid)
            reason = ReviewReason.OTHER_CLIENT
        elif (
            device is not None
            and device.computer_name.lower() != inv.computer_name.lower()
            and device.renames.filter(old_name__iexact=inv.computer_name).exists()
        ):
            clash = Msg.NAME_CLASH.format(
                guid=inv.machine_guid, new=inv.computer_name, current=device.computer_name
            )
            reason = ReviewReason.NAME_CLASH
        else:
            clash = ""
        if not clash:
            return _record(client, device, inv, digest, document_hash, source, now, token)
    raise _refuse(client=client, inv=inv, reason=reason, detail=clash, document=document, now=now)


def _record(
    client: Client,
    device: Device | None,
    inv: Inventory,
    digest: str,
    document_hash: str,
    source: str,
    now: dt.datetime,
    token: EnrollmentToken | None,
) -> IngestResult:
    if device is None:
        device = Device(
            client=client,
            machine_guid=inv.machine_guid,
            computer_name=inv.computer_name[:255],
            first_seen=now,
            last_seen=now,
        )
        event_append(
            client=client,
            kind="verification.device_enrolled",
            actor="verification",
            at=now,
            data={"machine_guid": inv.machine_guid, "name": inv.computer_name, "source": source},
        )
    unchanged = bool(device.pk) and device.inventory_hash == digest
    if unchanged and not device.counted_stale and now - device.last_seen < LAST_SEEN_RESOLUTION:
        # Seen less than an hour ago with the same inventory: nothing to write at all
        # (staleness is counted in days), so a fleet reporting often costs only reads.
        return IngestResult(ReportOutcome.UNCHANGED, device, None)
    if unchanged:
        if device.counted_stale:
            # Back from stale: the verify pass must count it again.
            Device.objects.filter(pk=device.pk).update(
                last_seen=now, counted_stale=False, needs_evaluation=True
            )
        else:
            Device.objects.filter(pk=device.pk).update(last_seen=now)
        device.last_seen = now
    else:
        if device.pk and device.computer_name != inv.computer_name:
            DeviceRename.objects.create(
                device=device, at=now, old_name=device.computer_name, new_name=inv.computer_name
            )
            event_append(
                client=client,
                kind="verification.device_renamed",
                actor="verification",
                at=now,
                data={
                    "machine_guid": inv.machine_guid,
                    "from": device.computer_name,
                    "to": inv.computer_name,
                },
            )
        device.computer_name = inv.computer_name[:255]
        # A file says nothing of the OS: keep what the collector last reported.
        device.os_caption = inv.os_caption[:255] or device.os_caption
        device.os_build = inv.os_build[:64] or device.os_build
        if inv.tags is not None:
            device.tags = sorted({t.strip().lower() for t in inv.tags})
        if inv.checks is not None or source == ReportSource.COLLECTOR:
            _apply_checks(device, inv.checks)
        device.last_seen = now
        device.inventory_hash = digest
        device.needs_evaluation = True
        device.counted_stale = False
        device.hotfixes_known = True
        new = device.pk is None
        device.save()
        _write_hotfixes(device, inv.hotfixes, now, new=new)
    report = EndpointReport.objects.create(
        client=client,
        device=device,
        token=token,
        source=source,
        document_hash=document_hash,
        received_at=now,
        outcome=ReportOutcome.UNCHANGED if unchanged else ReportOutcome.ACCEPTED,
        hotfix_count=len(inv.hotfixes),
    )
    if token is not None:
        EnrollmentToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return IngestResult(report.outcome, device, report)


def device_tags_set(
    *, device: Device, tags: Sequence[str], actor: Actor, now: dt.datetime
) -> Device:
    """Staff set a device's tags (the scope of rules such as ``on devices tagged x``):
    trimmed, lower-cased, blanks dropped; a tag past TAG_MAX_LENGTH, or more than
    TAG_MAX_COUNT of them, is refused."""
    require(actor, Capability.WRITE)
    clean = sorted({t.strip().lower() for t in tags if t.strip()})
    if len(clean) > TAG_MAX_COUNT:
        raise VerificationError(_(Msg.TOO_MANY_TAGS).format(limit=TAG_MAX_COUNT), field="tags")
    too_long = [t for t in clean if len(t) > TAG_MAX_LENGTH]
    if too_long:
        message = _(Msg.TAG_TOO_LONG).format(tag=too_long[0][:60], limit=TAG_MAX_LENGTH)
        raise VerificationError(message, field="tags")
    with transaction.atomic():
        device.tags = clean
        device.needs_evaluation = True
        device.save(update_fields=["tags", "needs_evaluation"])
        event_append(
            client=device.client,
            kind="verification.device_tagged",
            actor=actor_label(actor),
            at=now,
            data={"machine_guid": device.machine_guid, "tags": clean},
        )
    return device


def review_item_resolve(
    *, item: ReviewItem, note: str, actor: Actor, now: dt.datetime
) -> ReviewItem:
    """Staff close a refused report after judging it; what they decided is a ledger
    event (the refused document itself stays as it was received)."""
    require(actor, Capability.WRITE)
    note = note.strip()
    if not note:
        raise VerificationError(Msg.NOTE_REQUIRED, field="note")
    with transaction.atomic():
        if not ReviewItem.objects.filter(pk=item.pk, resolved_at=None).update(resolved_at=now):
            raise VerificationError(Msg.ALREADY_RESOLVED, field="item")
        item.resolved_at = now
        event_append(
            client=item.client,
            kind="verification.review_resolved",
            actor=actor_label(actor),
            at=now,
            data={
                "machine_guid": item.machine_guid,
                "name": item.computer_name,
                "reason": item.reason,
                "note": note[:1000],
            },
        )
    return item


def file_device_guid(*, client: Client, computer_name: str) -> str:
    """The MachineGuid a file's machine is recorded under: the device of that name the
    client already has, or a stand-in (``file:<client>:<name>``) until the collector
    reports the real one."""
    existing = (
        Device.objects.filter(client=client, computer_name__iexact=computer_name)
        .order_by("-last_seen")
        .values_list("machine_guid", flat=True)
        .first()
    )
    return existing or f"file:{client.pk}:{computer_name.lower()}"[:64]


# --- Device compliance history ------------------------------------------------------


def device_score_history_take(*, now: dt.datetime) -> int:
    """Write each client's device compliance for the day that ended last in its own
    time zone (yesterday on its calendar at ``now``), once: a day already written is
    left as it is, so the job may run any number of times. Returns how many rows it
    wrote. Clients without a device get no row.

    Run by the worker after the client's local midnight, the row holds the figures the
    verify pass left at the end of that day. Three queries when there is something to
    write (clients, days already written, one aggregate), two when there is not."""
    due: dict[int, dt.date] = {}
    for client_id, time_zone in (
        Client.objects.filter(Exists(Device.objects.filter(client=OuterRef("pk"))))
        .values_list("pk", "time_zone")
        .order_by("pk")
    ):
        due[client_id] = now.astimezone(zoneinfo.ZoneInfo(time_zone)).date() - dt.timedelta(days=1)
    done = set(
        DeviceScoreDay.objects.filter(client_id__in=list(due), day__in=set(due.values()))
        .values_list("client_id", "day")
        .order_by()
    )
    missing = {pk: day for pk, day in due.items() if (pk, day) not in done}
    if not missing:
        return 0
    totals = {
        row["device__client_id"]: row
        for row in DeviceCompliance.objects.filter(device__client_id__in=list(missing))
        .order_by()
        .values("device__client_id")
        .annotate(
            evaluated=Count("id"), compliant=Count("id", filter=Q(state=DeviceState.COMPLIANT))
        )
    }
    rows = [
        DeviceScoreDay(
            client_id=pk,
            day=day,
            compliant=totals.get(pk, {}).get("compliant", 0),
            evaluated=totals.get(pk, {}).get("evaluated", 0),
            taken_at=now,
        )
        for pk, day in missing.items()
    ]
    # Two workers at once: the unique (client, day) keeps the first row.
    DeviceScoreDay.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return len(rows)
