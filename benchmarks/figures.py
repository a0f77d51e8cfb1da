"""One measured figure and its JSON line: the only thing a benchmark hands back.

Every figure carries its baseline, its target and the machine it was measured on, so that a
line read on its own (in a CI log, a spreadsheet, an issue) can be judged without context.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from dataclasses import dataclass, field
from typing import Any, Literal

#: Which way a figure improves; decides how ``meets_target`` compares value and target.
Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class Baseline:
    """What the figure is compared against, measured in the same run on the same machine."""

    name: str
    value: float


def machine() -> dict[str, Any]:
    """The cores this process may use (not the host's total) and the Python version."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 0
    return {"cores": cores, "python": platform.python_version()}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Figure:
    """A single number a benchmark measured.

    ``generator`` and ``params`` say how it was measured (which load generator, how many
    requests over how long) so a surprising number can be checked without rerunning.
    """

    benchmark: str
    figure: str
    value: float
    unit: str
    better: Better
    baseline: Baseline | None = None
    target: float | None = None
    generator: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=_now)

    @property
    def meets_target(self) -> bool | None:
        if self.target is None:
            return None
        if self.better == "higher":
            return self.value >= self.target
        return self.value <= self.target

    def to_json(self) -> str:
        """The line printed on stdout; keys in a fixed order so lines diff cleanly."""
        return json.dumps({
            "benchmark": self.benchmark,
            "figure": self.figure,
            "value": self.value,
            "unit": self.unit,
            "baseline": (None if self.baseline is None
                         else {"name": self.baseline.name, "value": self.baseline.value}),
            "target": self.target,
            "meets_target": self.meets_target,
            "better": self.better,
            "generator": self.generator,
            "params": self.params,
            "machine": machine(),
            "at": self.at,
        })
