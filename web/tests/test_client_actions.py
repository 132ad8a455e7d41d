"""The client page leads staff to presenting, meetings and authority rules."""

from __future__ import annotations

from django.urls import reverse


def test_a_writer_sees_the_client_actions(client, manager, client_a):
    client.force_login(manager)
    page = client.get(reverse("web:client_detail", args=[client_a.pk])).content.decode()
    for name in ("present_batch", "meeting_create", "authority_edit"):
        assert reverse(f"answers:{name}", args=[client_a.pk]) in page


def test_an_auditor_sees_no_client_actions(client, auditor, client_a):
    client.force_login(auditor)
    page = client.get(reverse("web:client_detail", args=[client_a.pk])).content.decode()
    assert reverse("answers:meeting_create", args=[client_a.pk]) not in page
