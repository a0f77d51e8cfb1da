"""Who is acting: the identity every service call is made on behalf of."""

from __future__ import annotations

from dataclasses import dataclass, field

from interdict.auth.roles import Permission, Role, permissions_for
from interdict.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    """A user (through a browser session or an API token) or the system itself.

    ``roles`` are the roles in force for this request: a token scoped to one role gives only
    that role even if its user holds more.
    """

    user_id: int | None
    username: str
    agency_id: int
    agency_code: str
    roles: frozenset[Role]
    via: str = "session"  # session, token or cli
    client: str = ""
    permissions: frozenset[Permission] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "permissions", permissions_for(self.roles))

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise Forbidden(
                f"role(s) {', '.join(sorted(r.value for r in self.roles)) or 'none'} "
                f"may not {permission.value}"
            )
