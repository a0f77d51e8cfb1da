"""Identifier checks that need no chemistry toolkit: CAS numbers and name normalisation."""

from __future__ import annotations

import re
import unicodedata

CAS_PATTERN = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")


def cas_problem(cas: str) -> str | None:
    """Why ``cas`` is not a valid CAS Registry Number, or None when it is.

    The check digit is the sum of the other digits, each multiplied by its position counted
    from the right, modulo 10.
    """
    m = CAS_PATTERN.match(cas.strip())
    if not m:
        return "not in the form NNNNNNN-NN-N"
    digits = (m.group(1) + m.group(2))[::-1]
    expected = sum(int(d) * (i + 1) for i, d in enumerate(digits)) % 10
    if expected != int(m.group(3)):
        return f"check digit is {m.group(3)} but should be {expected}"
    return None


def normalise_name(name: str) -> str:
    """Case-, spacing-, punctuation- and diacritics-insensitive key for names and synonyms."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("α", "alpha").replace("β", "beta")
    return re.sub(r"[\s\-_,'()\[\]]+", "", text)
