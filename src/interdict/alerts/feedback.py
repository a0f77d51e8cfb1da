"""Outcome feedback: closing an alert tells the module that raised it how it turned out.

Platform code cannot import domains, so domains register a handler for their source name when
they are loaded (a targeting module, for instance, updates its rules' hit rates). The handler
runs in the same transaction as the close.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from interdict.alerts.schemas import AlertRead

OutcomeHandler = Callable[[Session, AlertRead, str], None]

_handlers: dict[str, list[OutcomeHandler]] = {}


def register_outcome_handler(source: str, handler: OutcomeHandler) -> None:
    handlers = _handlers.setdefault(source, [])
    if handler not in handlers:
        handlers.append(handler)


def unregister_outcome_handler(source: str, handler: OutcomeHandler) -> None:
    if handler in _handlers.get(source, []):
        _handlers[source].remove(handler)


def dispatch_outcome(session: Session, alert: AlertRead, outcome: str) -> int:
    """Call every handler for the alert's source; returns how many ran."""
    handlers = list(_handlers.get(alert.source, []))
    for handler in handlers:
        handler(session, alert, outcome)
    return len(handlers)
