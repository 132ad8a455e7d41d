"""An anonymous visitor reads nothing through the selectors: no client, no contact,
no recommendation (the views pass ``request.user`` as it is)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from clients.selectors import client_get_for, client_list_for, contact_list_for
from recommendations.selectors import recommendation_get_for, recommendation_list_for


def test_an_anonymous_user_sees_no_client_contact_or_recommendation(client_a, contact_a, draft):
    anonymous = AnonymousUser()
    assert list(client_list_for(anonymous)) == []
    assert list(contact_list_for(anonymous)) == []
    assert list(recommendation_list_for(anonymous)) == []
    with pytest.raises(Http404):
        client_get_for(anonymous, client_a.pk)
    with pytest.raises(Http404):
        recommendation_get_for(anonymous, draft.pk)
