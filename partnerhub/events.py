"""Domain events: how the core tells feature apps that something happened, without importing them.

Services call ``publish`` explicitly (no Django signals), inside their transaction; subscribers run in the
same transaction, so a failing subscriber rolls the change back rather than leaving half a state behind.
Feature apps subscribe from ``AppConfig.ready()``::

    from partnerhub import events

    events.subscribe("invitation.sent", complete_invite_team_item)

Known events (payload keyword arguments):

* ``partner.created`` (partner), ``partner.status_changed`` (partner, before, after)
* ``brand.updated`` (partner, brand), ``invitation.sent`` (partner, invitation),
  ``member.added`` (partner, membership)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

Handler = Callable[..., None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(event: str, handler: Handler) -> Handler:
    if handler not in _subscribers[event]:
        _subscribers[event].append(handler)
    return handler


def unsubscribe(event: str, handler: Handler) -> None:
    if handler in _subscribers[event]:
        _subscribers[event].remove(handler)


def publish(event: str, **payload) -> None:
    """Call every subscriber of ``event`` with the payload, in subscription order."""
    for handler in list(_subscribers[event]):
        handler(**payload)
