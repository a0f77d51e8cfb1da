"""Demo steps. Each domain registers a step that adds its data to the shared scenario."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from interdict.auth.actor import Actor
from interdict.auth.models import Agency, User


@dataclass
class DemoContext:
    """What steps share: the agencies and users made so far, one seeded RNG, one clock."""

    session: Session
    rng: random.Random
    now: dt.datetime
    password: str
    #: The platform's secret key: steps that seal keys (the exchange's) seal with it.
    secret: str = ""
    agencies: dict[str, Agency] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    summary: dict[str, int] = field(default_factory=dict)


Step = Callable[[DemoContext], None]

_steps: list[tuple[int, str, Step]] = []


def register_step(name: str, step: Step, *, order: int = 100) -> None:
    """Add a step; lower ``order`` runs first (the platform's agencies and users are 0)."""
    if all(n != name for _, n, _ in _steps):
        _steps.append((order, name, step))
        _steps.sort(key=lambda s: (s[0], s[1]))


def steps() -> list[tuple[str, Step]]:
    return [(n, s) for _, n, s in _steps]
