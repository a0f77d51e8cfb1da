"""The navigation bar, as a registry that each domain adds its pages to."""

from __future__ import annotations

from dataclasses import dataclass

from interdict.auth.actor import Actor
from interdict.auth.roles import Permission


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    permission: Permission | None = None
    order: int = 100


_items: list[NavItem] = []


def register_nav(item: NavItem) -> None:
    if all(i.path != item.path for i in _items):
        _items.append(item)
        _items.sort(key=lambda i: (i.order, i.label))


def nav_for(actor: Actor | None) -> list[NavItem]:
    if actor is None:
        return []
    return [i for i in _items if i.permission is None or actor.can(i.permission)]


register_nav(NavItem("Dashboard", "/", Permission.alerts_read, order=0))
register_nav(NavItem("Alert queue", "/alerts", Permission.alerts_read, order=10))
register_nav(NavItem("Audit log", "/audit", Permission.audit_read, order=900))
