"""One base for every refusal a service raises, and the one way to show it on a form.

A service refuses by raising a ``ServiceError`` (or a subclass of its own app) with a
stable message, a ``code`` for machines and the ``field`` at fault, if any. The API
turns every one of them into its JSON error shape (``api/v1/errors.py``) and pages put
the message on the form (``add_service_error``), so no view translates errors by hand.
``http_status`` is the HTTP status a refusal of that kind answers with (named so, as
``status`` means a recommendation's status in the lifecycle's errors).

This module sits in ``lib`` (the bottom layer) so that every app may raise and catch
these errors without importing a higher layer.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext


class ServiceError(Exception):
    """A refused change; nothing was stored. ``field`` names the input at fault.

    The message is translated when the refusal is raised, into the language active
    then: the staff member's, the client's on the client pages, the one an API client
    asks for with ``Accept-Language`` (English by default). Stable messages are marked
    with ``gettext_noop`` where they are defined (``Msg`` classes); a message with
    placeholders is translated by the raiser before it is filled in
    (``_(Msg.X).format(...)``).
    """

    code = "invalid"
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        http_status: int | None = None,
    ) -> None:
        message = gettext(message) if message else message
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status


class NotAllowed(ServiceError, PermissionDenied):
    """The actor's role does not allow the change.

    It is also Django's ``PermissionDenied``, so a page that lets it through answers
    403 like any other refused permission, and callers that caught PermissionDenied
    before (commands, tests) keep working.
    """

    code = "permission_denied"
    http_status = 403


def add_service_error(
    form: forms.Form, exc: Exception, *, field_map: dict[str, str] | None = None
) -> None:
    """Put a service's error on the form field it names, or on the form as a whole.

    A ``ServiceError`` names one field (or none); a ``ValidationError`` may carry a
    ``message_dict``. ``field_map`` renames service field names to form field names.
    ``NotAllowed`` is raised again (Django answers 403), and so is anything that is
    not a refusal.
    """
    if isinstance(exc, NotAllowed):
        # A refused role is not a mistake in the form: the page answers 403.
        raise exc
    field_map = field_map or {}

    def place(field: str | None, message: str) -> None:
        name = field_map.get(field, field) if field else None
        # A hidden input (the text hash shown) cannot carry a visible error.
        if name not in form.fields or form.fields[name].widget.is_hidden:
            name = None
        form.add_error(name, message)

    if isinstance(exc, ServiceError):
        place(exc.field, exc.message)
    elif isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            for message in messages:
                place(None if field == "__all__" else field, message)
    elif isinstance(exc, ValidationError):
        for message in exc.messages:
            place(None, message)
    else:
        raise TypeError(f"not a service error: {exc!r}")


def page_status(exc: ServiceError) -> int:
    """The status of a page that shows a refusal: 403 for a refused role, else 400 (the
    form is shown again with the message; the API alone says 409 for a conflict)."""
    return exc.http_status if isinstance(exc, NotAllowed) else 400
