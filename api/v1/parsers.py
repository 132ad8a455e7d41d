"""The API's one JSON parser: limits checked before and while reading the body.

A body larger than ``HEEDED_API_MAX_BODY_BYTES`` is refused from its Content-Length,
before a byte is read, or when a capped read finds more than it said; JSON nested
deeper than ``HEEDED_API_MAX_JSON_DEPTH`` is refused by a scan that does not recurse,
before ``json.loads`` (which would); ``NaN``, ``Infinity`` and numbers such as ``1e400``
are refused. Each refusal is the API's JSON error, naming the limit and where.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from lib.jsonlimits import JSONLimitError, loads_limited


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {limit} bytes.", code="too_large")


def _content_length(meta: dict[str, Any]) -> int:
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        return 0


class LimitedJSONParser(JSONParser):
    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        parser_context = parser_context or {}
        limit = settings.HEEDED_API_MAX_BODY_BYTES
        request = parser_context.get("request")
        if request is not None and _content_length(request.META) > limit:
            raise _too_large(limit)
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise _too_large(limit)
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
                raw = raw.decode(encoding).encode("utf-8")
            return loads_limited(raw, max_depth=settings.HEEDED_API_MAX_JSON_DEPTH)
        except JSONLimitError as exc:
            raise ParseError(exc.message, code=exc.code) from None
        except (ValueError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}", code="parse_error") from None
