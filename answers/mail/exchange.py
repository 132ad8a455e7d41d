"""Find the Authentication-Results header that Exchange Online itself stamped.

Pure: reads the header fields of a parsed message, no network. ``verify_inbound`` calls
``exchange_stamp`` in the ``exchange-online`` mode and judges the header it returns with
the same rules as any trusted server's (docs/inbound-mail.md, section 5, "Exchange
Online's Authentication-Results").

Exchange Online writes its Authentication-Results without an authserv-id, so the header
cannot be told from one the sender wrote by its name. It can be told by its place:
Exchange Online Protection adds a Received header when the message enters the service at
its front door (a host under ``mail.protection.outlook.com``) and prepends its own
Authentication-Results above that Received header. Everything below the topmost such
Received header was written before the message reached Microsoft, by anyone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Hosts of Exchange Online Protection's front door in Microsoft's worldwide cloud. The
#: government and China clouds use other names and are not supported (docs say so).
FRONT_DOOR_SUFFIXES = (".mail.protection.outlook.com",)
#: The header in which Exchange Online names the tenant a message was delivered to.
TENANT_HEADER = "x-ms-exchange-crosstenant-id"

_BY_HOST = re.compile(r"\bby\s+([^\s;()]+)", re.IGNORECASE)
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Headers kept as evidence only: where Exchange documents them, an outside copy is removed
# on entry (header firewall), but Heeded does not rely on that (see the docs).
_EVIDENCE_HEADERS = (
    "x-ms-exchange-organization-authas",
    "x-ms-exchange-organization-authsource",
    "x-ms-exchange-crosstenant-authas",
    "x-ms-exchange-crosstenant-authsource",
    "x-ms-exchange-crosstenant-id",
    "arc-authentication-results",
)


def is_tenant_id(value: str) -> bool:
    """True for a Microsoft Entra tenant id: a GUID in its usual 8-4-4-4-12 hex form."""
    return bool(_GUID.match(value.strip().lower()))


def authserv_id_of(value: str) -> str | None:
    """The authserv-id an Authentication-Results value starts with, or None without one.

    RFC 8601 puts an authserv-id (a token or quoted string, never containing ``=``) before
    the first ``;``. Exchange Online starts directly with ``spf=…``, so a first part that
    holds ``=`` means there is no authserv-id.
    """
    first = re.sub(r"\([^()]*\)", " ", value.split(";", 1)[0]).split()
    if not first or "=" in first[0]:
        return None
    return first[0]


@dataclass(frozen=True)
class ExchangeStamp:
    """The header Exchange Online stamped (unfolded), or why none can be trusted.

    ``problem`` is a clause for the refusal sentence; it is None exactly when ``header``
    is set.
    """

    header: str | None
    problem: str | None


def exchange_stamp(
    fields: Sequence[tuple[str, str]],
    *,
    tenant_id: str,
    authserv_id: str | None,
    info: dict[str, Any],
) -> ExchangeStamp:
    """Choose the one Authentication-Results header Exchange Online wrote for ``tenant_id``.

    ``fields`` are the message's header fields, top first (``EmailMessage.raw_items()``).
    ``authserv_id``, when set, is also accepted as Exchange's own id (for a tenant whose
    header carries one). ``info`` receives the evidence.
    """
    unfolded = [(name.lower(), re.sub(r"\r?\n", "", str(value)).strip()) for name, value in fields]
    for name in _EVIDENCE_HEADERS:
        values = [value for field, value in unfolded if field == name]
        if values:
            info.setdefault("exchange_headers", {})[name] = values

    tenants = [value.lower() for name, value in unfolded if name == TENANT_HEADER]
    if not tenants:
        return ExchangeStamp(
            None,
            "the message has no X-MS-Exchange-CrossTenant-Id header, so it was not "
            f"delivered by Exchange Online tenant {tenant_id}",
        )
    if len(tenants) > 1:
        return ExchangeStamp(
            None,
            f"the message has {len(tenants)} X-MS-Exchange-CrossTenant-Id headers, so it "
            "is unclear which tenant delivered it",
        )
    if tenants[0] != tenant_id.lower():
        return ExchangeStamp(
            None,
            f"the message was delivered by Exchange Online tenant {tenants[0]}, not {tenant_id}",
        )

    # Exchange prepends, so the topmost front-door Received header is the one Exchange
    # wrote on arrival; a lower one (even naming the front door) was written before.
    boundary = None
    for index, (name, value) in enumerate(unfolded):
        if name != "received":
            continue
        match = _BY_HOST.search(value)
        if match and match.group(1).lower().rstrip(".").endswith(FRONT_DOOR_SUFFIXES):
            boundary = index
            info["front_door_received"] = value
            info["front_door_index"] = index
            break
    if boundary is None:
        return ExchangeStamp(
            None,
            "no Received header shows the message entering Exchange Online "
            "(by a host under mail.protection.outlook.com)",
        )

    above = [value for name, value in unfolded[:boundary] if name == "authentication-results"]
    info["above_front_door"] = len(above)
    info["below_front_door"] = sum(
        1 for name, _ in unfolded[boundary:] if name == "authentication-results"
    )
    if not above:
        return ExchangeStamp(
            None,
            "Exchange Online wrote no Authentication-Results header above the Received "
            "header where the message entered it",
        )
    if len(above) > 1:
        return ExchangeStamp(
            None,
            f"there are {len(above)} Authentication-Results headers above the Received "
            "header where the message entered Exchange Online, so it is unclear which one "
            "Exchange wrote",
        )
    header = above[0]
    named = authserv_id_of(header)
    info["authserv_id"] = named
    if named is not None and (authserv_id is None or named.lower() != authserv_id.lower()):
        return ExchangeStamp(
            None,
            f"the Authentication-Results header where Exchange Online writes its own names "
            f"{named}, which is not Exchange Online",
        )
    return ExchangeStamp(header, None)
