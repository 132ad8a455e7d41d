"""The evidence pack: one zip that proves a client's history to someone who does not
trust Heeded (docs/evidence.md).

    manifest.json         what the pack is, the head, the anchors, SHA-256 of every file
    events.jsonl          the client's whole chain, one event per line (body + hashes)
    evidence/…            the raw evidence, decrypted: e-mails (.eml), web answers (.json)
    summary.pdf           the QBR of the current quarter, in the client's language
    verify.py             a standalone verifier (stock Python 3)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from pathlib import Path

from django.db import transaction

from answers.models import InboundMessage, Submission
from clients.models import Client
from ledger.models import Anchor, Event
from ledger.services import anchor_record
from lib.canonical import canonical_json
from lib.crypto import decrypt
from reports import render
from reports.periods import current_quarter
from reports.selectors import qbr_for

VERIFIER = Path(__file__).with_name("evidence_verify.py")
EVIDENCE_ANCHOR_PURPOSE = "evidence pack"
# A fixed time for every zip entry: the same content gives the same zip bytes.
ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def _event_line(event: Event, client_uuid: str) -> bytes:
    record = dict(event.body(client_uuid))
    record["prev_hash"] = event.prev_hash
    record["hash"] = event.hash
    return canonical_json(record) + b"\n"


def evidence_pack_build(
    *, client: Client, now: dt.datetime, recommendation_id: int | None = None
) -> tuple[bytes, Anchor]:
    """Build the pack; record the head it carries as an anchor. Returns (zip, anchor).

    The chain is always the client's whole chain (a part of a chain cannot be
    verified); ``recommendation_id`` limits the raw evidence to that recommendation.
    """
    uuid = str(client.uuid)
    files: dict[str, bytes] = {}
    with transaction.atomic():
        anchor = anchor_record(
            client=client,
            at=now,
            purpose=EVIDENCE_ANCHOR_PURPOSE,
            reference=f"recommendation {recommendation_id}" if recommendation_id else "client",
        )
        events = Event.objects.filter(client=client, seq__lte=anchor.seq).order_by("seq")
        files["events.jsonl"] = b"".join(
            _event_line(e, uuid) for e in events.iterator(chunk_size=2000)
        )
        anchors = list(
            Anchor.objects.filter(client=client, seq__lte=anchor.seq)
            .order_by("seq", "id")
            .values("seq", "hash", "purpose", "created_at")
        )
        inbound = InboundMessage.objects.filter(client=client)
        submissions = Submission.objects.filter(recommendation__client=client)
        if recommendation_id is not None:
            inbound = inbound.filter(recommendation_id=recommendation_id)
            submissions = submissions.filter(recommendation_id=recommendation_id)
        for message in inbound.order_by("id"):
            files[f"evidence/email-{message.pk}.eml"] = decrypt(bytes(message.raw_encrypted))
        for submission in submissions.order_by("id"):
            files[f"evidence/answer-{submission.pk}.json"] = decrypt(
                bytes(submission.payload_encrypted)
            )
        qbr = qbr_for(client, current_quarter(now.astimezone(client.tz).date()), now=now)
        qbr.head = type(qbr.head)(seq=anchor.seq, hash=anchor.hash)
        files["summary.pdf"] = render.html_to_pdf(render.qbr_document(qbr))
        files["verify.py"] = VERIFIER.read_bytes()
    manifest = {
        "format": "heeded-evidence-pack/1",
        "client": {"uuid": uuid, "name": client.name, "slug": client.slug},
        "recommendation": recommendation_id,
        "created_at": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "head": {"seq": anchor.seq, "hash": anchor.hash},
        "anchors": [
            {
                "seq": a["seq"],
                "hash": a["hash"],
                "purpose": a["purpose"],
                "created_at": a["created_at"].astimezone(dt.UTC).isoformat(),
            }
            for a in anchors
        ],
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    files["manifest.json"] = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            pack.writestr(info, files[name])
    return out.getvalue(), anchor
