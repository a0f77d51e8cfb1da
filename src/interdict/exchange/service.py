"""The exchange's library API: keys, messages, forwarding under handling codes, permission
requests, importing attached entities, and envelopes from other instances.

Adapters (API, CLI, web) call these functions and nothing deeper. Each works inside the
caller's unit of work and as the actor's agency: an agency sends as itself only, and reads
only the threads it is party to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from interdict.auth import service as auth
from interdict.auth.actor import Actor
from interdict.auth.roles import Permission
from interdict.exchange import keys
from interdict.exchange.attachments import import_entity as import_entity
from interdict.exchange.messages import (
    acknowledge as acknowledge,
)
from interdict.exchange.messages import (
    decide_permission as decide_permission,
)
from interdict.exchange.messages import (
    forward as forward,
)
from interdict.exchange.messages import (
    mailbox as mailbox,
)
from interdict.exchange.messages import (
    permission_requests as permission_requests,
)
from interdict.exchange.messages import (
    read as read,
)
from interdict.exchange.messages import (
    receive as receive,
)
from interdict.exchange.messages import (
    reply as reply,
)
from interdict.exchange.messages import (
    request_permission as request_permission,
)
from interdict.exchange.messages import (
    send as send,
)
from interdict.exchange.messages import (
    thread as thread,
)


def agency_keys(session: Session, *, actor: Actor, agency: str | None = None
                ) -> list[dict[str, object]]:
    """The keys of the actor's agency (or of a partner), with fingerprints to compare."""
    actor.require(Permission.exchange_read)
    return keys.listing(session, auth.get_agency(session, code=agency or actor.agency_code).id)


def rotate_key(session: Session, *, actor: Actor, secret: str) -> dict[str, object]:
    """A new signing key for the actor's agency (earlier ones still verify what they signed)."""
    actor.require(Permission.users_manage)
    kid, _ = keys.rotate(session, auth.get_agency(session, code=actor.agency_code), secret)
    return {"key_id": kid}


def import_partner_key(session: Session, *, actor: Actor, agency: str, public_key: str
                       ) -> dict[str, Any]:
    """Register a partner agency's public key (compare its fingerprint out of band first)."""
    actor.require(Permission.users_manage)
    return {"key_id": keys.import_public(session, auth.get_agency(session, code=agency),
                                         public_key)}
