"""What a lifecycle transition announces, and who listens.

``recommendations.services._transition`` writes its row and its ledger event, then
hands one ``Transitioned`` to every subscriber registered for that action, inside the
same transaction and in a fixed order: a subscriber that fails rolls the whole change
back, so a decision never commits without its webhook, its ticket note or its
presentation e-mail queued in the outbox.

Capabilities subscribe in their ``AppConfig.ready()``; the core never imports them.
``subscriber_table()`` is what a reader (and ``docs/architecture.md``) sees of it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from recommendations.lifecycle import Action

if TYPE_CHECKING:
    from clients.models import Contact
    from ledger.actors import Actor
    from ledger.models import Event
    from recommendations.models import Recommendation, Response


@dataclasses.dataclass(frozen=True)
class Transitioned:
    """One transition, as it was written.

    ``inputs`` is the data of the ledger event (``from``, ``to`` and the action's
    inputs). ``response`` is set for the three decisions; ``recipients`` for a
    presentation. ``notify_client`` is False when the change is recorded without
    telling the client (imported history): no e-mail and no answer link is made.
    """

    action: Action
    recommendation: Recommendation
    source: str
    target: str
    inputs: Mapping[str, Any]
    actor: Actor
    now: dt.datetime
    ledger_event: Event
    response: Response | None = None
    recipients: tuple[Contact, ...] = ()
    notify_client: bool = True


Subscriber = Callable[[Transitioned], None]


@dataclasses.dataclass(frozen=True)
class _Registration:
    order: int
    name: str
    actions: frozenset[Action]
    handler: Subscriber
    many: Callable[[Sequence[Transitioned]], None] | None = None


_registry: list[_Registration] = []


def subscribe(
    handler: Subscriber,
    *,
    actions: Iterable[Action] | None = None,
    order: int,
    many: Callable[[Sequence[Transitioned]], None] | None = None,
) -> Subscriber:
    """Run ``handler`` after every transition of ``actions`` (all when None).

    ``order`` fixes when it runs among the others (lower first), whatever the order
    in which apps become ready. Subscribing the same handler twice is a no-op, so a
    ``ready()`` that runs again does not double every side effect. ``many``, when
    given, does what ``handler`` does for many transitions at once (a batch of the
    lifecycle, ``announce_many``), with set-based reads.
    """
    name = f"{handler.__module__}.{handler.__qualname__}"
    if any(r.name == name for r in _registry):
        return handler
    wanted = frozenset(actions) if actions is not None else frozenset(Action)
    _registry.append(_Registration(order, name, wanted, handler, many))
    _registry.sort(key=lambda r: (r.order, r.name))
    return handler


def announce(event: Transitioned) -> None:
    """Hand ``event`` to its subscribers, in order, in the caller's transaction."""
    for registration in _registry:
        if event.action in registration.actions:
            registration.handler(event)


def announce_many(events: Sequence[Transitioned]) -> None:
    """Hand each of ``events`` (a batch, in the order written) to its subscribers, in
    the caller's transaction: subscriber by subscriber, each getting all of its
    events at once (its ``many`` handler) or one by one, in order."""
    for registration in _registry:
        wanted = [event for event in events if event.action in registration.actions]
        if not wanted:
            continue
        if registration.many is not None:
            registration.many(wanted)
        else:
            for event in wanted:
                registration.handler(event)


def subscriber_table() -> dict[Action, list[str]]:
    """{action: subscriber names in the order they run}, for every action."""
    return {action: [r.name for r in _registry if action in r.actions] for action in Action}
