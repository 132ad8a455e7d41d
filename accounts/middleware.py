"""Speak a signed-in staff member's chosen language.

Django's ``LocaleMiddleware`` picks the language from the cookie or the browser's
``Accept-Language``; this one runs after authentication and, when the user chose a
language (``User.language``), activates that one instead, on every device they use.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = preferred_language(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language:
            response.headers.setdefault("Content-Language", language)
        return response


def preferred_language(request: HttpRequest) -> str:
    """The signed-in user's chosen language, or "" (anonymous, or no choice made)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return getattr(user, "language", "") or ""
