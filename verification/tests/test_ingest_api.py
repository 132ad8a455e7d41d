"""POST /api/v1/endpoint-reports: signed, idempotent, set-based, refusing clashes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.models import Event
from verification.models import (
    Device,
    DeviceRename,
    EndpointReport,
    InstalledHotfix,
    ReviewItem,
)
from verification.services import enrollment_token_revoke
from verification.signing import Msg as SigMsg
from verification.tests.conftest import GUID_DOCTOR, GUID_RECEPTION, body_of, document, hotfix

pytestmark = pytest.mark.django_db


def stored() -> tuple[int, int, int, int]:
    return (
        Device.objects.count(),
        InstalledHotfix.objects.count(),
        EndpointReport.objects.count(),
        ReviewItem.objects.count(),
    )


def test_a_signed_report_enrolls_the_device_with_its_hotfixes_and_checks(post, token_a, client_a):
    _, raw = token_a
    doc = document(kbs=("KB5073724", "KB5072653", "File 1"))
    doc["hotfixes"][2]["installed_by"] = "ACME\\José.Núñez"

    response = post(raw, body_of(doc))

    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "accepted"
    device = Device.objects.get(machine_guid=GUID_RECEPTION)
    assert (device.client, device.computer_name, device.os_build) == (
        client_a,
        "ACME-RECEPTION",
        "10.0.26100.7623",
    )
    assert (device.bitlocker_on, device.smb1_enabled, device.defender_rtp_on) == (True, False, True)
    rows = {h.hotfix_id: h for h in device.hotfixes.all()}
    assert rows["KB5073724"].kb == 5073724 and not rows["KB5073724"].flagged
    assert rows["KB5073724"].installed_on == dt.date(2026, 1, 13)
    assert rows["File 1"].kb is None and rows["File 1"].flagged
    assert rows["File 1"].installed_by == "ACME\\José.Núñez"
    assert Event.objects.filter(kind="verification.device_enrolled").count() == 1


def test_the_same_report_twice_changes_nothing(post, token_a):
    _, raw = token_a
    body = body_of(document())
    post(raw, body)
    before = stored()
    events = Event.objects.count()

    again = post(raw, body)

    assert again.status_code == 200
    assert again.json()["outcome"] == "repeat"
    assert stored() == before
    assert Event.objects.count() == events


def test_the_same_inventory_again_within_the_hour_writes_nothing(post, token_a, now):
    _, raw = token_a
    post(raw, body_of(document()))
    later = document(collected_at="2026-03-02T09:01:40.0000001+01:00")

    with CaptureQueriesContext(connection) as queries:
        response = post(raw, body_of(later))

    assert response.json()["outcome"] == "unchanged"
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []


def test_an_unchanged_inventory_within_the_hour_costs_one_read_and_no_transaction(
    token_a, client_a, now
):
    from verification.services import inventory_from_document, inventory_record

    inventory = inventory_from_document(document())
    first = inventory_record(
        client=client_a, inventory=inventory, document_hash="a", source="collector", now=now
    )
    later = now + dt.timedelta(minutes=59, microseconds=417)

    with CaptureQueriesContext(connection) as queries:
        result = inventory_record(
            client=client_a, inventory=inventory, document_hash="b", source="collector", now=later
        )
        repeat = inventory_record(
            client=client_a, inventory=inventory, document_hash="a", source="collector", now=later
        )

    assert (result.outcome, repeat.outcome) == ("unchanged", "repeat")
    assert result.device_id == first.device.pk and result.device is None
    assert [q["sql"].split()[0] for q in queries] == ["SELECT", "SELECT"]
    assert Device.objects.get().last_seen == now


def test_a_stale_device_reporting_the_same_inventory_is_counted_again(token_a, client_a, now):
    from verification.services import inventory_from_document, inventory_record

    inventory = inventory_from_document(document())
    inventory_record(
        client=client_a, inventory=inventory, document_hash="a", source="collector", now=now
    )
    Device.objects.update(counted_stale=True, needs_evaluation=False)
    later = now + dt.timedelta(minutes=5)

    result = inventory_record(
        client=client_a, inventory=inventory, document_hash="b", source="collector", now=later
    )

    assert result.outcome == "unchanged"
    device = Device.objects.get()
    assert (device.counted_stale, device.needs_evaluation, device.last_seen) == (False, True, later)


def test_the_same_inventory_an_hour_later_only_moves_last_seen(token_a, client_a, now):
    from verification.services import inventory_from_document, inventory_record

    inventory = inventory_from_document(document())
    inventory_record(
        client=client_a, inventory=inventory, document_hash="a", source="collector", now=now
    )
    later = now + dt.timedelta(hours=1, microseconds=1)

    with CaptureQueriesContext(connection) as queries:
        result = inventory_record(
            client=client_a, inventory=inventory, document_hash="b", source="collector", now=later
        )

    assert result.outcome == "unchanged"
    assert not [q for q in queries if "verification_installedhotfix" in q["sql"]]
    assert Device.objects.get().last_seen == later
    assert EndpointReport.objects.filter(outcome="unchanged").count() == 1


def test_a_changed_report_replaces_the_hotfix_set_writing_only_what_changed(post, token_a):
    _, raw = token_a
    post(raw, body_of(document(kbs=("KB5073724", "KB5072653"))))
    kept = InstalledHotfix.objects.get(hotfix_id="KB5073724")

    changed = document(kbs=("KB5073724", "KB5077181"), collected_at="2026-03-03T08:00:00Z")
    changed["hotfixes"][1]["installed_on"] = "2/10/2026 12:00:00 AM"
    post(raw, body_of(changed))

    device = Device.objects.get()
    assert list(device.hotfixes.values_list("hotfix_id", flat=True)) == ["KB5073724", "KB5077181"]
    # The unchanged row was not rewritten; the new one went in with its date.
    assert InstalledHotfix.objects.get(hotfix_id="KB5073724").last_seen == kept.last_seen
    new = InstalledHotfix.objects.get(hotfix_id="KB5077181")
    assert new.installed_on == dt.date(2026, 2, 10) and new.kb == 5077181


def test_the_upload_costs_the_same_queries_for_3_or_400_hotfixes(post, token_a):
    _, raw = token_a
    counts = []
    for n, guid in ((3, GUID_RECEPTION), (400, GUID_DOCTOR)):
        doc = document(guid=guid, name=f"PC-{n}", kbs=tuple(f"KB50{i:05d}" for i in range(n)))
        with CaptureQueriesContext(connection) as queries:
            assert post(raw, body_of(doc)).json()["outcome"] == "accepted"
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert InstalledHotfix.objects.count() == 403


def test_a_rename_is_tracked(post, token_a):
    _, raw = token_a
    post(raw, body_of(document(name="ACME-RECEPTION")))

    response = post(
        raw, body_of(document(name="ACME-FRONTDESK", collected_at="2026-03-02T10:00:00Z"))
    )

    assert response.json()["outcome"] == "accepted"
    rename = DeviceRename.objects.get()
    assert (rename.old_name, rename.new_name) == ("ACME-RECEPTION", "ACME-FRONTDESK")


def test_a_machine_guid_claimed_again_by_a_name_it_was_renamed_away_from_is_kept_for_review(
    post, token_a
):
    _, raw = token_a
    post(raw, body_of(document(name="ACME-RECEPTION")))
    post(raw, body_of(document(name="ACME-FRONTDESK", collected_at="2026-03-02T10:00:00Z")))
    before = stored()[:3]

    response = post(
        raw, body_of(document(name="ACME-RECEPTION", collected_at="2026-03-02T11:00:00Z"))
    )

    assert response.status_code == 409
    (error,) = response.json()["errors"]
    assert error["field"] == "device.machine_guid"
    assert "two machines share one MachineGuid" in error["message"]
    assert stored()[:3] == before
    item = ReviewItem.objects.get()
    assert (item.reason, item.computer_name) == ("name_clash", "ACME-RECEPTION")
    assert Device.objects.get().computer_name == "ACME-FRONTDESK"


def test_another_clients_token_cannot_report_for_a_device_it_does_not_own(
    post, token_a, token_b, client_b
):
    post(token_a[1], body_of(document()))
    before = stored()[:3]

    response = post(token_b[1], body_of(document(name="STUDIO-BIANCHI", kbs=())))

    assert response.status_code == 409
    assert "already enrolled for another client" in response.json()["errors"][0]["message"]
    assert stored()[:3] == before
    item = ReviewItem.objects.get()
    assert (item.client, item.reason) == (client_b, "other_client")
    assert Device.objects.get().client_id == token_a[0].client_id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"HTTP_X_HEEDED_SIGNATURE": "0" * 64}, SigMsg.BAD_SIGNATURE),
        ({"HTTP_X_HEEDED_KEY": "ffffffffffff"}, SigMsg.BAD_SIGNATURE),
        ({"HTTP_X_HEEDED_TIMESTAMP": "yesterday"}, SigMsg.BAD_TIMESTAMP),
    ],
)
def test_a_bad_signature_is_refused_and_nothing_is_stored(post, token_a, change, message):
    response = post(token_a[1], body_of(document()), **change)

    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == message
    assert stored() == (0, 0, 0, 0)


def test_a_report_signed_six_minutes_ago_is_refused(post, token_a, now):
    stamp = int(now.timestamp()) - 361

    response = post(token_a[1], body_of(document()), timestamp=stamp)

    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == SigMsg.OUT_OF_WINDOW.format(delta=-361)
    assert stored() == (0, 0, 0, 0)


def test_a_report_signed_four_minutes_ago_is_accepted(post, token_a, now):
    response = post(token_a[1], body_of(document()), timestamp=int(now.timestamp()) - 240)
    assert response.json()["outcome"] == "accepted"


def test_a_revoked_token_is_refused(post, token_a, admin, now):
    enrollment_token_revoke(token=token_a[0], actor=admin, now=now)

    response = post(token_a[1], body_of(document()))

    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == SigMsg.REVOKED
    assert stored() == (0, 0, 0, 0)


def test_an_invalid_document_is_refused_with_located_messages(post, token_a):
    doc = document()
    doc["hotfixes"].append(hotfix(""))
    doc["hotfixes"].append({"hotfix_id": "KB5074109", "InstalledOn": "1/13/2026"})
    doc["device"]["machine_guid"] = "not-a-guid"

    response = post(token_a[1], body_of(doc))

    assert response.status_code == 400
    messages = [e["message"] for e in response.json()["errors"]]
    assert "$.device.machine_guid: 'not-a-guid' is not in the expected format" in messages
    assert "$.hotfixes[2].hotfix_id: must not be empty" in messages
    assert "$.hotfixes[3].InstalledOn: is not a field of this schema" in messages
    assert stored() == (0, 0, 0, 0)


def test_a_body_over_the_limit_is_refused_from_its_content_length(post, token_a, settings):
    settings.HEEDED_REPORT_MAX_BYTES = 10_000
    body = body_of(document(kbs=tuple(f"KB50{i:05d}" for i in range(200))))
    assert len(body) > 10_000

    response = post(token_a[1], body)

    assert response.status_code == 413
    assert response.json()["errors"][0]["message"] == "The report is larger than 10000 bytes."
    assert stored() == (0, 0, 0, 0)


def test_a_body_longer_than_its_content_length_claims_is_cut_at_the_limit(post, token_a, settings):
    settings.HEEDED_REPORT_MAX_BYTES = 10_000
    body = body_of(document(kbs=tuple(f"KB50{i:05d}" for i in range(200))))

    response = post(token_a[1], body, CONTENT_LENGTH="900")

    # Django reads at most Content-Length bytes: the truncated body fails the signature.
    assert response.status_code == 401
    assert stored() == (0, 0, 0, 0)


# --- the security log ---------------------------------------------------------------


def _refused(records):
    return [(r.actor, r.fields["status"], r.fields["code"]) for r in records]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"HTTP_X_HEEDED_SIGNATURE": "0" * 64}, 401, "not_authenticated"),
        ({"HTTP_X_HEEDED_KEY": "ffffffffffff"}, 401, "not_authenticated"),
        ({"timestamp": 1772442000 - 361}, 401, "not_authenticated"),
    ],
)
def test_a_refused_report_is_logged_with_its_key_and_request_id(
    post, token_a, security_events, change, status, code
):
    response = post(token_a[1], body_of(document()), **change)

    assert response.status_code == status
    [record] = security_events
    assert (record.event, record.actor) == ("report_refused", "anonymous")
    assert (record.fields["status"], record.fields["code"]) == (status, code)
    assert record.fields["key"] == change.get("HTTP_X_HEEDED_KEY", token_a[0].key_id)
    assert record.request_id == response["X-Request-ID"]
    assert token_a[1] not in record.getMessage()


def test_an_oversized_report_and_a_clash_are_logged(
    post, token_a, token_b, settings, security_events
):
    post(token_a[1], body_of(document()))
    clash = post(token_b[1], body_of(document(name="STUDIO-BIANCHI", kbs=())))
    settings.HEEDED_REPORT_MAX_BYTES = 100
    too_large = post(token_a[1], body_of(document()))

    assert (clash.status_code, too_large.status_code) == (409, 413)
    # The clash was signed: the token that signed it is the actor.
    assert _refused(security_events) == [
        (f"enrollment_token:{token_b[0].pk}", 409, "refused"),
        ("anonymous", 413, "too_large"),
    ]


def test_a_key_header_cannot_forge_a_log_line(post, token_a, security_events):
    forged = 'k"\r\n2026-03-02 INFO heeded.security: login_succeeded actor="user:1"'

    post(token_a[1], body_of(document()), HTTP_X_HEEDED_KEY=forged)

    [record] = security_events
    line = record.getMessage()
    assert "\r" not in line and "\n" not in line
    assert 'key="k\\"\\r\\n2026-03-02 INFO heeded.security: login_succeeded' in line


def _home_edition(doc):
    # BitLocker, SMB and Defender cmdlets missing or failing: each check is null.
    doc["checks"] = {
        "bitlocker_os_volume": None,
        "smb1_enabled": None,
        "defender_realtime": None,
        "firewall": None,
    }


def _no_ubr(doc):
    doc["device"]["os_build"] = "10.0.19045"


def _no_hotfixes(doc):
    doc["hotfixes"] = []


def _one_hotfix_without_a_date(doc):
    doc["hotfixes"] = [hotfix("KB5075912", None, description="Security Update")]


def _tags_and_a_public_firewall_off(doc):
    doc["device"]["tags"] = ["workstations", "Sala-D'Attesa"]
    doc["checks"]["firewall"]["Public"] = False


SHAPES = {
    "every check null (Home edition)": (
        _home_edition,
        {"bitlocker_on": None, "smb1_enabled": None, "defender_rtp_on": None, "firewall": {}},
    ),
    "a build without UBR": (_no_ubr, {"os_build": "10.0.19045"}),
    "no hotfixes at all": (_no_hotfixes, {"hotfix_ids": []}),
    "one hotfix with a blank InstalledOn": (
        _one_hotfix_without_a_date,
        {"hotfix_ids": ["KB5075912"], "installed_on": [None]},
    ),
    "tags and a firewall profile off": (
        _tags_and_a_public_firewall_off,
        {
            "tags": ["sala-d'attesa", "workstations"],
            "firewall": {"Domain": True, "Private": True, "Public": False},
        },
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("writer", ["PowerShell 7", "Windows PowerShell 5.1"])
def test_every_shape_the_collector_can_send_is_stored_as_sent(post, token_a, shape, writer):
    import json

    change, expected = SHAPES[shape]
    doc = document(kbs=("KB5073724", "KB5072653"))
    doc["hotfixes"][0]["installed_by"] = "STUDIO\\Nicolò.D'Amico"
    change(doc)
    if writer == "PowerShell 7":
        body = body_of(doc)
    else:
        # 5.1's ConvertTo-Json -Compress (JavaScriptSerializer) writes ' < > & as \u0027
        # \u003c \u003e \u0026; non-ASCII may come escaped too.
        body = (
            json.dumps(doc, ensure_ascii=True, separators=(",", ":"))
            .replace("'", "\\u0027")
            .encode("ascii")
        )

    response = post(token_a[1], body)

    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "accepted"
    device = Device.objects.get(machine_guid=GUID_RECEPTION)
    rows = list(device.hotfixes.order_by("hotfix_id"))
    found = {
        "bitlocker_on": device.bitlocker_on,
        "smb1_enabled": device.smb1_enabled,
        "defender_rtp_on": device.defender_rtp_on,
        "firewall": device.firewall,
        "os_build": device.os_build,
        "tags": device.tags,
        "hotfix_ids": [h.hotfix_id for h in rows],
        "installed_on": [h.installed_on for h in rows],
    }
    assert {key: found[key] for key in expected} == expected
    assert response.json()["hotfixes"] == len(doc["hotfixes"])
    by = {h.hotfix_id: h.installed_by for h in rows}
    if "KB5073724" in by:
        assert by["KB5073724"] == "STUDIO\\Nicolò.D'Amico"


def test_the_fingerprint_of_a_report_leaves_out_only_when_it_was_collected():
    import json

    from verification.services import report_body

    def report_fingerprint(body: bytes) -> str | None:
        return report_body(body).fingerprint

    monday = document(collected_at="2026-03-02T08:59:12.4817365+01:00")
    tuesday = document(collected_at="2026-03-03T08:58:01.0000001+01:00")
    patched = document(collected_at="2026-03-03T08:58:01.0000001+01:00", kbs=("KB5077181",))
    # Windows PowerShell 5.1 pretty-prints with two spaces after the colon.
    spaced = body_of(tuesday).replace(b'"collected_at": "', b'"collected_at":  "')

    assert report_fingerprint(body_of(monday)) == report_fingerprint(body_of(tuesday))
    assert report_fingerprint(body_of(monday)) != report_fingerprint(body_of(patched))
    assert report_fingerprint(spaced) is not None
    # A tag that reads like the member, placed before it, is a value: it counts.
    tagged = {"device": {**monday["device"], "tags": ["collected_at"]}}
    tagged.update({k: v for k, v in monday.items() if k != "device"})
    retagged = json.loads(json.dumps(tagged))
    retagged["device"]["tags"] = ["collected-at"]
    assert next(iter(tagged)) == "device"
    assert report_fingerprint(body_of(tagged)) != report_fingerprint(body_of(retagged))
    assert report_fingerprint(b'{"schema": "heeded.endpoint-report/1"}') is None


def test_a_report_collected_later_with_one_more_hotfix_is_stored(post, token_a, now):
    _, raw = token_a
    post(raw, body_of(document()))
    later = document(
        collected_at="2026-03-02T09:02:00.0000001+01:00",
        kbs=("KB5073724", "KB5072653", "KB5077181"),
    )

    response = post(raw, body_of(later))

    assert response.json()["outcome"] == "accepted"
    assert sorted(InstalledHotfix.objects.values_list("hotfix_id", flat=True)) == [
        "KB5072653",
        "KB5073724",
        "KB5077181",
    ]


def test_a_file_after_the_collector_is_compared_by_its_own_digest(post, token_a, client_a, now):
    from verification.services import Hotfix, Inventory, inventory_record

    post(token_a[1], body_of(document(kbs=("KB5073724",))))
    device = Device.objects.get()
    same_but_from_a_file = Inventory(
        machine_guid=device.machine_guid,
        computer_name="ACME-RECEPTION",
        hotfixes=[Hotfix("KB5073724", "Security Update", "NT AUTHORITY\\SYSTEM", "1/13/2026")],
    )

    result = inventory_record(
        client=client_a,
        inventory=same_but_from_a_file,
        document_hash="file-1",
        source="file",
        now=now,
    )

    # Another form of digest: written once (nothing to change in the rows), then equal.
    assert result.outcome == "accepted"
    assert list(InstalledHotfix.objects.values_list("hotfix_id", flat=True)) == ["KB5073724"]
    again = inventory_record(
        client=client_a,
        inventory=same_but_from_a_file,
        document_hash="file-2",
        source="file",
        now=now,
    )
    assert again.outcome == "unchanged"


def test_an_unchanged_report_within_the_hour_is_answered_from_one_read_without_parsing(
    post, token_a, monkeypatch
):
    import verification.services as services

    _, raw = token_a
    first = post(raw, body_of(document()))
    device_id = first.json()["device"]
    later = document(collected_at="2026-03-02T09:40:00Z")
    parsed: list[bytes] = []
    monkeypatch.setattr(services, "_report_document", lambda body: parsed.append(body))

    with CaptureQueriesContext(connection) as queries:
        response = post(raw, body_of(later))

    assert response.status_code == 200
    assert response.json() == {"outcome": "unchanged", "device": device_id, "hotfixes": 2}
    assert [q["sql"].split()[0] for q in queries] == ["SELECT"]
    assert parsed == []


def test_an_unchanged_report_with_a_malformed_collected_at_is_refused(post, token_a):
    _, raw = token_a
    post(raw, body_of(document()))
    before = stored()

    response = post(raw, body_of(document(collected_at="yesterday")))

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "$.collected_at"
    assert stored() == before


def test_an_unchanged_report_from_a_stale_device_is_read_and_counted_again(post, token_a):
    _, raw = token_a
    post(raw, body_of(document()))
    Device.objects.update(counted_stale=True, needs_evaluation=False)

    response = post(raw, body_of(document(collected_at="2026-03-02T09:10:00Z")))

    assert response.json()["outcome"] == "unchanged"
    device = Device.objects.get()
    assert (device.counted_stale, device.needs_evaluation) == (False, True)


def test_an_unchanged_report_signed_by_a_revoked_token_is_refused(post, token_a, admin, now):
    _, raw = token_a
    post(raw, body_of(document()))
    enrollment_token_revoke(token=token_a[0], actor=admin, now=now)

    response = post(raw, body_of(document(collected_at="2026-03-02T09:10:00Z")))

    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == SigMsg.REVOKED


def test_another_clients_token_never_gets_an_unchanged_answer_for_this_device(
    post, token_a, token_b
):
    post(token_a[1], body_of(document()))
    before = stored()

    response = post(token_b[1], body_of(document(collected_at="2026-03-02T09:10:00Z")))

    assert response.status_code == 409
    assert ReviewItem.objects.count() == before[3] + 1


def test_each_distinct_body_has_its_own_document_hash_and_a_repeat_the_same():
    from verification.services import report_body

    body = body_of(document())
    spaced = body.replace(b'"collected_at": ', b'"collected_at" :  ')
    later = body_of(document(collected_at="2026-03-02T09:10:00Z"))

    hashes = {report_body(b).document_hash for b in (body, spaced, later)}

    assert len(hashes) == 3
    assert report_body(body) == report_body(bytes(body))
    assert report_body(body).fingerprint == report_body(later).fingerprint
    assert report_body(b"{}").fingerprint is None


def test_the_receive_read_off_django_s_cursor_still_raises_django_s_errors(monkeypatch, now):
    """The unchanged path reads on the driver's connection; a failure there must reach
    the caller as Django's DatabaseError (the 503 page and the worker's reconnect catch
    that), not as the driver's own exception."""
    from django.db import DatabaseError

    from verification import services

    monkeypatch.setattr(services, "_RECEIVE_SQL", "SELECT * FROM no_such_table WHERE 1 = %s")
    monkeypatch.setattr(services, "_RECEIVE_SQL_QMARK", "SELECT * FROM no_such_table WHERE 1 = ?")
    assert not connection.queries_logged
    with pytest.raises(DatabaseError) as caught:
        services._receive_read(now, [])
    assert type(caught.value).__module__ == "django.db.utils"
