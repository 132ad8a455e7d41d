"""Timeline reads: scoped to the clients a user may see, newest first, paged by seq."""

from __future__ import annotations

import pytest
from django.http import Http404

from ledger.models import GENESIS_HASH, Event, Head
from ledger.selectors import MAX_PAGE_SIZE, event_get_for, event_list_for, event_page_for, head_for
from ledger.tests.helpers import append


@pytest.fixture
def chain(client_a, now):
    append(client_a, 6, now=now)  # seq 1..7
    return client_a


def seqs(events) -> list[int]:
    return [e.seq for e in events]


def test_staff_who_see_every_client_read_its_events_newest_first(chain, manager, auditor):
    for user in (manager, auditor):
        assert seqs(event_list_for(user, chain)) == [7, 6, 5, 4, 3, 2, 1]
    assert seqs(event_list_for(manager, chain, newest_first=False))[:2] == [1, 2]


def test_a_technician_reads_only_the_assigned_clients_events(chain, client_b, technician):
    assert seqs(event_list_for(technician, chain))[:1] == [7]
    assert list(event_list_for(technician, client_b)) == []
    with pytest.raises(Http404):
        event_get_for(technician, client_b, 1)


def test_inactive_and_anonymous_users_read_nothing(chain, manager):
    from django.contrib.auth.models import AnonymousUser

    manager.is_active = False
    assert list(event_list_for(manager, chain)) == []
    assert list(event_list_for(AnonymousUser(), chain)) == []


def test_events_filter_by_kind_recommendation_and_seq_bounds(chain, presented, manager):
    assert seqs(event_list_for(manager, chain, kind="note")) == [7, 6, 5, 4, 3, 2]
    for_rec = event_list_for(manager, chain, recommendation_id=presented.pk)
    assert [e.kind for e in for_rec] == ["recommendation.present", "recommendation.created"]
    assert seqs(event_list_for(manager, chain, before_seq=4, after_seq=1)) == [3, 2]


def test_pages_follow_each_other_without_overlap(chain, manager):
    first = event_page_for(manager, chain, limit=3)
    second = event_page_for(manager, chain, limit=3, before_seq=first.next_before)
    last = event_page_for(manager, chain, limit=3, before_seq=second.next_before)

    assert (seqs(first.events), first.next_before) == ([7, 6, 5], 5)
    assert (seqs(second.events), second.next_before) == ([4, 3, 2], 2)
    assert (seqs(last.events), last.next_before) == ([1], None)


def test_a_page_never_exceeds_the_maximum_size(chain, manager, now):
    assert len(event_page_for(manager, chain, limit=0).events) == 1
    assert MAX_PAGE_SIZE == 500
    page = event_page_for(manager, chain, limit=10_000)
    assert len(page.events) == 7 and page.next_before is None


def test_a_page_costs_one_query_however_deep(chain, manager, django_assert_num_queries, now):
    append(chain, 30, now=now)

    with django_assert_num_queries(1):
        event_page_for(manager, chain, limit=5)
    with django_assert_num_queries(1):
        event_page_for(manager, chain, limit=5, before_seq=10)


def test_one_event_by_seq(chain, manager):
    assert event_get_for(manager, chain, 3) == Event.objects.get(client=chain, seq=3)
    with pytest.raises(Http404):
        event_get_for(manager, chain, 99)


def test_head_for_gives_the_head_row_or_the_genesis(chain):
    head = head_for(chain)
    assert (head.seq, head.hash) == (7, Event.objects.get(client=chain, seq=7).hash)

    Head.objects.filter(client=chain).delete()
    assert (head_for(chain).seq, head_for(chain).hash) == (0, GENESIS_HASH)
