"""``insert_rows`` stores exactly what ``bulk_create`` stores, for every field type used."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clients.models import Client
from lib.bulk import insert_rows
from recommendations.choices import Status
from recommendations.models import Recommendation
from verification.models import Device

pytestmark = pytest.mark.django_db

MOMENT = dt.datetime(2026, 11, 30, 23, 59, 59, 999_999, tzinfo=dt.UTC)


@pytest.fixture
def client_row() -> Client:
    return Client.objects.create(
        name="Rossi & Figli Sant'Ambrogio", slug="rossi", created_at=MOMENT
    )


def _rec(client: Client, title: str, **extra: Any) -> Recommendation:
    fields: dict[str, Any] = {
        "client": client,
        "title": title,
        "body": "Perché serve: l'accesso remoto è esposto.\nSecond line — «quoted».",
        "text_sha256": "a" * 64,
        "severity": "high",
        "status": Status.DEFERRED,  # an enum member, as services pass it
        "tags": ["mfa", "remote-access"],
        "field_values": {"site": "Milano", "count": 3, "nested": {"ok": True}},
        "created_at": MOMENT,
        "updated_at": MOMENT - dt.timedelta(microseconds=1),
        "presented_at": dt.datetime(
            2026, 3, 29, 1, 30, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))
        ),
        "deferred_until": dt.date(2027, 1, 31),
        "deferral_count": 2,
    }
    fields.update(extra)
    return Recommendation(**fields)


def _stored(model: type[Any], pks: list[int]) -> list[dict[str, Any]]:
    rows = list(model.objects.filter(pk__in=pks).order_by("pk").values())
    for row in rows:
        row.pop("id")
    return rows


def test_rows_come_back_the_same_as_bulk_creates_and_get_their_ids(client_row: Client) -> None:
    ours = insert_rows([_rec(client_row, "Ours"), _rec(client_row, "Ours 2")], returning_ids=True)
    django = Recommendation.objects.bulk_create(
        [_rec(client_row, "Ours"), _rec(client_row, "Ours 2")]
    )
    assert all(r.pk for r in ours)
    assert _stored(Recommendation, [r.pk for r in ours]) == _stored(
        Recommendation, [r.pk for r in django]
    )
    # The ids are the rows' own, in order.
    assert [Recommendation.objects.get(pk=r.pk).title for r in ours] == ["Ours", "Ours 2"]
    assert not ours[0]._state.adding


def test_nulls_empty_json_and_nullable_booleans_match_too(client_row: Client) -> None:
    def devices() -> list[Device]:
        return [
            Device(
                client=client_row,
                machine_guid=f"{prefix}-{n}",
                computer_name="PC-D'ANGELO",
                first_seen=MOMENT,
                last_seen=MOMENT,
                bitlocker_on=None if n == 0 else bool(n % 2),
                tags=[],
                firewall={} if n else {"domain": True, "public": False},
            )
            for n in range(3)
            for prefix in ("x",)
        ]

    ours = insert_rows(devices(), returning_ids=True)
    mine = _stored(Device, [d.pk for d in ours])
    Device.objects.filter(pk__in=[d.pk for d in ours]).delete()
    theirs = Device.objects.bulk_create(devices())
    assert mine == _stored(Device, [d.pk for d in theirs])


def test_without_ids_it_inserts_in_batches_bigger_than_one_statement(client_row: Client) -> None:
    many = [_rec(client_row, f"Item {i}") for i in range(2_500)]
    insert_rows(many)
    assert Recommendation.objects.filter(client=client_row).count() == 2_500
    assert many[0].pk is None  # not asked for


def test_an_empty_list_does_nothing() -> None:
    assert insert_rows([]) == []


# PostgreSQL refuses NUL in text and in JSON, with bulk_create as with this.
TEXT = st.characters(blacklist_categories=("Cs", "Cc"))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=st.text(TEXT, min_size=1, max_size=200),
    moment=st.datetimes(
        min_value=dt.datetime(1990, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=dt.datetime(2090, 1, 1),  # noqa: DTZ001
        timezones=st.just(dt.UTC),
    ),
    values=st.dictionaries(
        st.text(TEXT, max_size=8),
        st.one_of(st.integers(-(2**40), 2**40), st.text(TEXT, max_size=20), st.booleans()),
    ),
)
def test_any_text_time_and_json_round_trips_like_bulk_create(
    client_row: Client, title: str, moment: dt.datetime, values: dict[str, Any]
) -> None:
    ours = insert_rows(
        [_rec(client_row, title, created_at=moment, field_values=values)], returning_ids=True
    )
    theirs = Recommendation.objects.bulk_create(
        [_rec(client_row, title, created_at=moment, field_values=values)]
    )
    assert _stored(Recommendation, [ours[0].pk]) == _stored(Recommendation, [theirs[0].pk])
    stored = Recommendation.objects.get(pk=ours[0].pk)
    assert (stored.title, stored.created_at, stored.field_values) == (title, moment, values)
    assert connection.vendor in ("sqlite", "postgresql")
