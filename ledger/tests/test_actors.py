"""The ledger names each kind of actor one way: staff, contact or system."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from ledger.actors import actor_label


def test_a_staff_user_is_named_by_username(admin):
    assert actor_label(admin) == f"staff:{admin.get_username()}"


def test_a_contact_is_named_by_lower_case_email(contact_a):
    contact_a.email = "Alice@Acme.Example"
    assert actor_label(contact_a) == "contact:alice@acme.example"


def test_a_component_name_becomes_a_system_label_and_a_label_is_kept():
    assert actor_label("sweep") == "system:sweep"
    assert actor_label("system:import") == "system:import"
    assert actor_label(None) == "system:heeded"


def test_an_anonymous_user_cannot_act_on_the_ledger():
    with pytest.raises(ValueError, match="an anonymous user cannot act on the ledger"):
        actor_label(AnonymousUser())
