"""How the ledger names who did something: ``staff:<username>``, ``contact:<email>``,
``system:<component>``."""

from __future__ import annotations

from typing import Any

Actor = Any  # a staff User, a clients.Contact, or a system component name (str)


def actor_label(actor: Actor) -> str:
    if actor is None:
        return "system:heeded"
    if isinstance(actor, str):
        return actor if ":" in actor else f"system:{actor}"
    model = getattr(actor, "_meta", None)
    if model is not None and model.label == "clients.Contact":
        return f"contact:{actor.email.lower()}"
    if getattr(actor, "is_anonymous", False):
        raise ValueError("an anonymous user cannot act on the ledger")
    return f"staff:{actor.get_username()}"
