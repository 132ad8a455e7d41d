"""The one form helper: a service's refusal lands on the field it names."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError

from lib.errors import NotAllowed, ServiceError, add_service_error, page_status


class NoteForm(forms.Form):
    text = forms.CharField(required=False)
    shown = forms.CharField(required=False, widget=forms.HiddenInput)


def _bound() -> NoteForm:
    form = NoteForm({"text": "", "shown": ""})
    assert form.is_valid()
    return form


def test_it_puts_the_message_on_the_field_the_error_names() -> None:
    form = _bound()
    add_service_error(form, ServiceError("A note needs some text.", field="text"))
    assert form.errors == {"text": ["A note needs some text."]}


def test_a_field_the_form_lacks_or_hides_gets_a_non_field_error() -> None:
    form = _bound()
    add_service_error(form, ServiceError("Unknown channel 'fax'.", field="channel"))
    add_service_error(form, ServiceError("The text shown does not match.", field="shown"))
    assert form.non_field_errors() == ["Unknown channel 'fax'.", "The text shown does not match."]


def test_field_map_renames_service_fields_to_form_fields() -> None:
    form = _bound()
    add_service_error(form, ServiceError("Say what.", field="note"), field_map={"note": "text"})
    assert form.errors == {"text": ["Say what."]}


def test_a_validation_error_is_placed_field_by_field() -> None:
    form = _bound()
    add_service_error(form, ValidationError({"text": ["Too long."], "__all__": ["No."]}))
    assert form.errors == {"text": ["Too long."], "__all__": ["No."]}


def test_a_refused_role_is_not_a_form_error_but_a_403() -> None:
    form = _bound()
    with pytest.raises(PermissionDenied):
        add_service_error(form, NotAllowed("This account may read but not change anything."))
    assert not form.errors


def test_anything_else_is_not_swallowed() -> None:
    with pytest.raises(TypeError):
        add_service_error(_bound(), RuntimeError("boom"))


def test_pages_answer_403_for_a_refused_role_and_400_for_the_rest() -> None:
    assert page_status(NotAllowed("no")) == 403
    assert page_status(ServiceError("bad", http_status=409)) == 400
