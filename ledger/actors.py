"""How the ledger names who did something: ``staff:<username>``, ``contact:<email>``,
``system:<component>``."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, Union

from clients.models import Contact

if TYPE_CHECKING:
    from accounts.models import User

# A staff user, a client's contact, or the name of a system component ("sweep",
# "answers", or an already formed label such as "system:import").
Actor: TypeAlias = Union["User", Contact, str]  # Union: a quoted name cannot take "|"


def actor_label(actor: Actor | None) -> str:
    """The ledger's name for ``actor``; None is Heeded itself (``system:heeded``).

    Raises ValueError for an anonymous user: the ledger records who acted.
    """
    if actor is None:
        return "system:heeded"
    if isinstance(actor, str):
        return actor if ":" in actor else f"system:{actor}"
    if isinstance(actor, Contact):
        return f"contact:{actor.email.lower()}"
    if actor.is_anonymous:
        raise ValueError("an anonymous user cannot act on the ledger")
    return f"staff:{actor.get_username()}"
