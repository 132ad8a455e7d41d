"""An unchanged row of a sheet imported before is known by its mark, without its cells
being read again; a changed row, or a recommendation changed since, still takes the
full path, with the same outcome as without marks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from recommendations.choices import Channel, Decision
from recommendations.models import Recommendation, Response
from recommendations.services import response_record
from tracker.models import RowMark
from tracker.services import _Importer, tracker_import
from tracker.tests.conftest import csv_bytes

pytestmark = pytest.mark.django_db

HEADER = "Client;Recommendation;Date made;Response category;Justification;Planned date"
ROWS = [
    "Acme Dental;Enable MFA on the VPN;2025-01-15;Accepted;;2026-12-01",
    "Bravo Legal;Keep an offsite copy of the backups;2025-03-05;Deferred;Budget;2026-09-01",
    "Acme Dental;Replace the old PCs;2025-03-06;Rejected;Too costly;",
    "Bravo Legal;Security awareness training;2025-03-07;;;",
]


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The numbers of the rows whose cells the importer parses."""
    numbers: list[int] = []
    parse = _Importer.parse

    def counting(self: _Importer, number: int, *args: Any) -> Any:
        numbers.append(number)
        return parse(self, number, *args)

    monkeypatch.setattr(_Importer, "parse", counting)
    return numbers


def test_an_unchanged_row_is_known_by_its_mark_without_being_parsed(world, now, parsed):
    admin = world["admin"]
    first = tracker_import(source=csv_bytes(HEADER, *ROWS), actor=admin, now=now)
    assert first.created == 4
    assert RowMark.objects.count() == 4
    parsed.clear()
    again = tracker_import(source=csv_bytes(HEADER, *ROWS), actor=admin, now=now)
    assert parsed == []
    assert again.summary().endswith("created 0, unchanged 4, updated 0, refused 0")
    assert [outcome for _, outcome, _ in again.outcomes] == ["unchanged"] * 4
    assert again.outcomes == [(n, "unchanged", ext) for n, _, ext in first.outcomes]


def test_a_changed_cell_is_caught_and_its_mark_replaced(world, now, parsed):
    admin = world["admin"]
    tracker_import(source=csv_bytes(HEADER, *ROWS), actor=admin, now=now)
    before = dict(RowMark.objects.values_list("recommendation_id", "digest"))
    changed = [*ROWS[:3], "Bravo Legal;Security awareness training;2025-03-07;Accepted;;"]
    parsed.clear()
    report = tracker_import(source=csv_bytes(HEADER, *changed), actor=admin, now=now)
    assert parsed == [5]
    assert report.summary().endswith("created 0, unchanged 3, updated 1, refused 0")
    rec = Recommendation.objects.get(title="Security awareness training")
    assert rec.status == "accepted"
    after = dict(RowMark.objects.values_list("recommendation_id", "digest"))
    assert after[rec.pk] != before[rec.pk]
    assert {k: v for k, v in after.items() if k != rec.pk} == {
        k: v for k, v in before.items() if k != rec.pk
    }
    parsed.clear()
    tracker_import(source=csv_bytes(HEADER, *changed), actor=admin, now=now)
    assert parsed == []


def test_a_recommendation_changed_since_takes_the_full_path(world, now, parsed):
    """The client accepted through another channel after the import: the old sheet
    no longer says what is stored, and its row is an update, as without marks."""
    admin = world["admin"]
    tracker_import(source=csv_bytes(HEADER, *ROWS), actor=admin, now=now)
    rec = Recommendation.objects.get(title="Replace the old PCs")
    response_record(
        recommendation=rec,
        decision=Decision.ACCEPTED,
        channel=Channel.PHONE,
        now=now + dt.timedelta(hours=1),
        recorded_by=admin,
        responder_name="The owner",
        planned_for=now.date() + dt.timedelta(days=30),
    )
    parsed.clear()
    report = tracker_import(
        source=csv_bytes(HEADER, *ROWS), actor=admin, now=now + dt.timedelta(hours=2)
    )
    assert parsed == [4]
    assert report.summary().endswith("created 0, unchanged 3, updated 1, refused 0")
    assert Response.objects.filter(recommendation=rec).latest("recorded_at").decision == (
        Decision.REJECTED
    )


def test_a_known_row_repeated_in_the_sheet_is_refused_as_a_duplicate(world, now):
    admin = world["admin"]
    tracker_import(source=csv_bytes(HEADER, *ROWS), actor=admin, now=now)
    report = tracker_import(source=csv_bytes(HEADER, *ROWS, ROWS[0]), actor=admin, now=now)
    assert [str(e) for e in report.errors] == [
        "row 6, column Recommendation: duplicate of row 2; each recommendation may appear once."
    ]


def test_a_dry_run_and_a_refused_sheet_leave_no_mark(world, now):
    admin = world["admin"]
    tracker_import(source=csv_bytes(HEADER, *ROWS), actor=admin, now=now, dry_run=True)
    bad = "Acme Dental;Filter e-mail;2025-05-02;Rejected;;"  # no justification
    tracker_import(source=csv_bytes(HEADER, *ROWS, bad), actor=admin, now=now)
    assert not RowMark.objects.exists()
