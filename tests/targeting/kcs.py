"""Slices of the shared KCS synthetic declarations for targeting tests."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "customs"


def path(split: str) -> Path:
    p = DATA / f"df_syn_{split}_eng.csv"
    assert p.exists(), f"{p} missing: the shared data must sit beside the checkout"
    return p


def head(split: str, rows: int, *, skip: int = 0, unlabelled: bool = False) -> bytes:
    """The header and ``rows`` data lines after ``skip``; optionally without outcomes."""
    lines = path(split).read_text().splitlines()
    out = [lines[0], *lines[1 + skip:1 + skip + rows]]
    if unlabelled:
        out = [",".join(line.split(",")[:-2]) for line in out]
    return ("\n".join(out) + "\n").encode()
